// Plain-JS entry of a training worker: a new thread has no TypeScript loader, so register tsx here, then load the
// worker proper. (Node 20 cannot strip types itself, and loader hooks are not inherited by worker threads.)
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
