// Plain-JS entry of a planner plugin worker: a new thread has no TypeScript loader, so register tsx here (it also
// compiles TypeScript plugins on the fly), then load the worker proper.
import { register } from 'tsx/esm/api';

register();
await import('./worker-main.ts');
