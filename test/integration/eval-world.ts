// The small synthetic world the evaluator's tests share: 2 scenes × 14 keyframes (6 SAD samples per scene at S = 3,
// F = 6), cheap stand-in camera images. Generated once into the temp folder and reused by every test file and run
// (ensureDemoDataset writes it atomically, so concurrent test files never see half a world).
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDemoDataset } from '../../data-loaders/synthetic/index.ts';

export const EVAL_WORLD_ARGUMENTS = {
  version: 'v1.0-mini',
  scenes: 2,
  seed: 2030,
  samplesPerScene: 14,
  imageScale: 0.05,
} as const;

export interface EvalWorld {
  dataroot: string;
  version: 'v1.0-mini';
  sceneNames: string[];
}

export async function evalWorld(): Promise<EvalWorld> {
  const demo = await ensureDemoDataset({
    folder: join(tmpdir(), 'spikedrive-test-eval-world-v1'),
    arguments: { ...EVAL_WORLD_ARGUMENTS },
    rendererModule: new URL('../unit/synthetic/fake-renderer.ts', import.meta.url).href,
    workers: 1,
  });
  const scenes = JSON.parse(readFileSync(join(demo.dataroot, 'v1.0-mini', 'scene.json'), 'utf8')) as {
    name: string;
  }[];
  return { dataroot: demo.dataroot, version: demo.version, sceneNames: scenes.map((s) => s.name) };
}
