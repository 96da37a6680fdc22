// Builds the renderer with Vite on first start (or after its sources change) into .cache/viewer-build/<hash>, written
// into a temporary sibling and renamed into place, so a half-finished build is never served.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Source folders/files whose content decides the build (the renderer imports from these). */
const INPUTS = [
  'src/viewer/renderer',
  'src/viewer/api',
  'src/eval/run-format.ts',
  'src/util/errors.ts',
  'vite.config.ts',
];

function listFiles(path: string): string[] {
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => listFiles(join(path, name)));
}

/** A hash of the renderer's sources and the versions of the packages it bundles. */
export function rendererSourceHash(root = REPO_ROOT): string {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap((p) => listFiles(join(root, p)))) {
    hash.update(file.slice(root.length));
    hash.update(readFileSync(file));
  }
  for (const pkg of ['three', 'zustand', 'zod', 'vite']) {
    const manifest = join(root, 'node_modules', pkg, 'package.json');
    if (existsSync(manifest)) hash.update(`${pkg}@${JSON.parse(readFileSync(manifest, 'utf8')).version}`);
  }
  return hash.digest('hex').slice(0, 16);
}

export interface RendererBuild {
  dir: string;
  built: boolean;
  ms: number;
}

/** The built renderer folder, building it first when no build of the current sources exists. */
export async function ensureRendererBuild(
  options: { cacheDir?: string; onBuild?: () => void } = {},
): Promise<RendererBuild> {
  const started = performance.now();
  const cacheDir = options.cacheDir ?? join(REPO_ROOT, '.cache', 'viewer-build');
  const dir = join(cacheDir, rendererSourceHash());
  if (existsSync(join(dir, 'index.html'))) return { dir, built: false, ms: performance.now() - started };
  options.onBuild?.();
  const temp = `${dir}.tmp-${process.pid}`;
  rmSync(temp, { recursive: true, force: true });
  const { build } = await import('vite');
  await build({
    configFile: join(REPO_ROOT, 'vite.config.ts'),
    build: { outDir: temp },
  });
  if (!existsSync(join(dir, 'index.html'))) {
    rmSync(dir, { recursive: true, force: true });
    renameSync(temp, dir);
  } else rmSync(temp, { recursive: true, force: true });
  return { dir, built: true, ms: performance.now() - started };
}

/** The Electron preload as one CommonJS file (a sandboxed preload cannot load modules), built once per source. */
export async function ensurePreloadBuild(options: { cacheDir?: string } = {}): Promise<string> {
  const source = join(REPO_ROOT, 'electron', 'preload.ts');
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 16);
  const outDir = join(options.cacheDir ?? join(REPO_ROOT, '.cache', 'viewer-build'), `preload-${hash}`);
  const file = join(outDir, 'preload.cjs');
  if (existsSync(file)) return file;
  const { build } = await import('vite');
  await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: true,
      minify: false,
      lib: { entry: source, formats: ['cjs'], fileName: () => 'preload.cjs' },
      rollupOptions: { external: ['electron'] },
    },
  });
  return file;
}
