import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

/**
 * The dashboard is served by the server at `/_/` (see src/http/admin/admin-routes.ts), so every
 * asset URL starts there. `npm run dev -w admin` proxies the API to a server on :8090.
 */
export default defineConfig({
  base: '/_/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 400 },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8090' },
  },
})
