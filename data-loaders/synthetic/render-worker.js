// Render worker bootstrap: workers do not inherit the parent's TypeScript loader, so register tsx here and
// then load the TypeScript side (render-worker-main.ts).
import { register } from 'tsx/esm/api';

register();
await import('./render-worker-main.ts');
