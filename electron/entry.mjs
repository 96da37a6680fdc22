// Electron's entry: register tsx so the TypeScript main process runs without a build step, then start it.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
