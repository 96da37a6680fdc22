// Vite build of the viewer's renderer (src/viewer/renderer). `spikedrive app` runs this build itself on first start
// (into .cache/viewer-build/<source hash>), so users never run a separate build step.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export const rendererRoot = fileURLToPath(new URL('./src/viewer/renderer', import.meta.url));

export default defineConfig({
  root: rendererRoot,
  base: './',
  logLevel: 'warn',
  build: {
    target: 'es2022',
    emptyOutDir: true,
    // The CSP forbids inline scripts; the module-preload polyfill would be one.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 2000,
    sourcemap: false,
  },
});
