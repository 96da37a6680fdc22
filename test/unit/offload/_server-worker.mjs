// Runs an accelerator server (or a faulty stand-in) in its own thread, so the blocking client in the test thread
// has someone to talk to.
import { register } from 'tsx/esm/api';

register();
await import('./_server-worker.ts');
