import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

// The dashboard is built ahead of time into dist/ui and served by coordinated under /ui/.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: true,
  },
  logLevel: 'warn',
})
