// Scene names from the official split lists, so split-based loaders (the devkit's splits, SAD's
// get_scenes) select the generated scenes: v1.0-mini takes mini_train/mini_val names, v1.0-trainval takes
// train/val names (without scene-0419 and the CAN bus blacklist, which SAD drops).

import { SpikedriveError } from '../../src/util/index.ts';
import { createSplitsScenes, removeSadExcludedScenes } from '../nuscenes/index.ts';

export type SynthVersion = 'v1.0-mini' | 'v1.0-trainval';
export const SYNTH_VERSIONS: readonly SynthVersion[] = ['v1.0-mini', 'v1.0-trainval'];

/** The split a generated scene belongs to. */
export interface NamedScene {
  name: string;
  split: 'train' | 'val';
}

/**
 * Names for `count` scenes. Train and val are interleaved so any count ≥ 2 has both (mini: 8 train, 2 val;
 * trainval: about one scene in six is val, as in the release).
 */
export function sceneNames(version: SynthVersion, count: number): NamedScene[] {
  const splits = createSplitsScenes();
  const train = removeSadExcludedScenes(version === 'v1.0-mini' ? splits.mini_train : splits.train);
  const val = removeSadExcludedScenes(version === 'v1.0-mini' ? splits.mini_val : splits.val);
  const max = train.length + val.length;
  if (!Number.isInteger(count) || count < 1 || count > max) {
    throw new SpikedriveError(`${version} can hold 1 to ${max} synthetic scenes, not ${count}`, {
      subject: '--scenes',
      fix:
        version === 'v1.0-mini'
          ? `use --scenes 1..${max}, or --version v1.0-trainval for more scenes`
          : `use --scenes 1..${max}`,
    });
  }
  // Val positions: the 2nd scene, then every `period`-th, while val names last.
  const period = version === 'v1.0-mini' ? 5 : 6;
  const out: NamedScene[] = [];
  let t = 0;
  let v = 0;
  for (let i = 0; i < count; i++) {
    const wantVal = i % period === 1;
    if ((wantVal && v < val.length) || t >= train.length) out.push({ name: val[v++], split: 'val' });
    else out.push({ name: train[t++], split: 'train' });
  }
  return out;
}
