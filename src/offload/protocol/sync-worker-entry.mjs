// Plain-JS entry of the accelerator client thread: a new thread has no TypeScript loader, so register tsx here,
// then load the worker proper (the same pattern as src/snn/backend/parallel/worker-entry.mjs).
import { register } from 'tsx/esm/api';

register();
await import('./sync-worker.ts');
