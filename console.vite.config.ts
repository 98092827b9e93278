/**
 * Builds the console (src/console/index.html) and the Excel add-in's task pane
 * (src/console/excel/index.html) into dist/console/, which the service serves at `/` and `/excel/`.
 * Run by `npm run build` (and so by `npm start`).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('./src/console/', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  publicDir: 'public',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./dist/console/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // The console's first paint is one small bundle; nothing here needs splitting.
    chunkSizeWarningLimit: 300,
    rollupOptions: {
      input: { console: `${root}index.html`, excel: `${root}excel/index.html` },
    },
  },
});
