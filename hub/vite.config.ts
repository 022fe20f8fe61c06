import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

/**
 * The career hub's page is served by the server at `/hub/` (src/http/hub/hub-routes.ts), so every
 * asset URL starts there. The SDK comes from its sources in packages/client, bundled in (it has
 * no dependencies). `npm run dev -w hub` proxies the API to `npm run demo` on :8090.
 */
export default defineConfig({
  base: '/hub/',
  resolve: {
    alias: {
      '@engineroom/client': fileURLToPath(
        new URL('../packages/client/src/index.ts', import.meta.url),
      ),
    },
  },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 60 },
  server: { proxy: { '/api': 'http://127.0.0.1:8090' } },
})
