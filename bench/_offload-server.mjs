// The accelerator server for `npm run bench -- offload`, in its own thread (the blocking client waits in the main
// one). Plain JS entry that registers the TypeScript loader first, as src/snn/backend/parallel/worker-entry.mjs.
import { register } from 'tsx/esm/api';

register();
await import('./_offload-server.ts');
