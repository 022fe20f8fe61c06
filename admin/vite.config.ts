import react from '@vitejs/plugin-react'
import { defineConfig, type Plugin } from 'vite'

/**
 * GraphiQL's stylesheet embeds its fonts (Roboto and Fira Code, 34 faces) as base64: 360 of its
 * 418 KB, which gzip hardly shrinks. The explorer uses the dashboard's system fonts instead
 * (see `.graphql-explorer` in src/styles.css), so the faces are dropped from the build.
 */
function withoutGraphiqlFonts(): Plugin {
  return {
    name: 'engineroom:without-graphiql-fonts',
    transform(code, id) {
      if (!/[\\/]graphiql[\\/]dist[\\/]style\.css$/.test(id)) return null
      return { code: code.replace(/@font-face\s*\{[^}]*\}/g, ''), map: null }
    },
  }
}

/**
 * The dashboard is served by the server at `/_/` (see src/http/admin/admin-routes.ts), so every
 * asset URL starts there. `npm run dev -w admin` proxies the API to a server on :8090.
 */
export default defineConfig({
  base: '/_/',
  plugins: [react(), withoutGraphiqlFonts()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 400 },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8090' },
  },
})
