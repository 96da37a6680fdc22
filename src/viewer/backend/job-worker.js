// Viewer job worker bootstrap: worker threads do not inherit the parent's TypeScript loader, so register tsx here
// and then load the TypeScript side (job-worker-main.ts).
import { register } from 'tsx/esm/api';

register();
await import('./job-worker-main.ts');
