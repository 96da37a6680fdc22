import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { NuScenes } from '../../../data-loaders/nuscenes/nuscenes.ts';
import {
  checkSplitsComplete,
  createSplitsLogs,
  createSplitsScenes,
  getSadScenes,
  getScenesOfSplit,
  isPredefinedSplit,
  removeSadExcludedScenes,
  SAD_EXCLUDED_SCENES,
  SPLIT_NAMES,
} from '../../../data-loaders/nuscenes/splits.ts';
import { SpikedriveError } from '../../../src/util/index.ts';

const fixtureRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'nuscenes');
const tmp = mkdtempSync(join(tmpdir(), 'splits-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function dataroot(splitsJson?: string): { dataroot: string; version: string } {
  const root = mkdtempSync(join(tmp, 'root-'));
  mkdirSync(join(root, 'v1.0-mini'));
  if (splitsJson !== undefined) writeFileSync(join(root, 'v1.0-mini', 'splits.json'), splitsJson);
  return { dataroot: root, version: 'v1.0-mini' };
}

describe('official splits (devkit utils/splits.py)', () => {
  it('has the devkit sizes: 700/150/150, mini 8/2, detect/track 350/350', () => {
    const splits = createSplitsScenes();
    expect(Object.keys(splits)).toEqual([...SPLIT_NAMES]);
    expect(Object.fromEntries(Object.entries(splits).map(([k, v]) => [k, v.length]))).toEqual({
      train: 700,
      val: 150,
      test: 150,
      mini_train: 8,
      mini_val: 2,
      train_detect: 350,
      train_track: 350,
    });
  });

  it('matches the devkit lists exactly (hash of the devkit output, order included)', () => {
    // sha256 of json.dumps(create_splits_scenes(), sort_keys=True, separators=(',', ':')) from the devkit d9de17a.
    const splits = createSplitsScenes();
    const sorted = Object.fromEntries(
      Object.keys(splits)
        .sort()
        .map((k) => [k, splits[k as keyof typeof splits]]),
    );
    expect(createHash('sha256').update(JSON.stringify(sorted)).digest('hex')).toBe(
      '591c84e6a28df82ce59e31ade012ce2a825377ae6c8e0accb9e1189b0f4d6d60',
    );
  });

  it('lists the mini scenes by name, and train is sorted detect ∪ track', () => {
    const splits = createSplitsScenes();
    expect(splits.mini_train).toEqual([
      'scene-0061',
      'scene-0553',
      'scene-0655',
      'scene-0757',
      'scene-0796',
      'scene-1077',
      'scene-1094',
      'scene-1100',
    ]);
    expect(splits.mini_val).toEqual(['scene-0103', 'scene-0916']);
    expect(splits.train).toEqual([...splits.train_detect, ...splits.train_track].sort());
    expect(splits.train.slice(0, 3)).toEqual(['scene-0001', 'scene-0002', 'scene-0004']);
    expect(splits.test[0]).toBe('scene-0077');
    expect(new Set([...splits.train, ...splits.val, ...splits.test]).size).toBe(1000);
  });

  it('hands out fresh lists, so a caller editing one does not change the next', () => {
    const first = createSplitsScenes();
    first.val.length = 0;
    first.mini_val.push('scene-9999');
    const second = createSplitsScenes();
    expect(second.val).toHaveLength(150);
    expect(second.mini_val).toEqual(['scene-0103', 'scene-0916']);
  });

  it('asserts 1000 unique names, as the devkit does', () => {
    const { train, val, test } = createSplitsScenes();
    expect(() => checkSplitsComplete(train, val, test)).not.toThrow();
    const repeated = [...val.slice(0, 149), train[0]];
    expect(() => checkSplitsComplete(train, repeated, test)).toThrow(
      /999 of them unique.*repeated: scene-0001/,
    );
    expect(() => checkSplitsComplete(train.slice(1), val, test)).toThrow(SpikedriveError);
  });

  it('knows the predefined names', () => {
    expect(isPredefinedSplit('mini_val')).toBe(true);
    expect(isPredefinedSplit('night')).toBe(false);
  });
});

describe('getScenesOfSplit and splits.json', () => {
  it('returns a predefined split without reading splits.json', () => {
    expect(getScenesOfSplit('mini_val', { dataroot: '/nonexistent', version: 'v1.0-mini' })).toEqual([
      'scene-0103',
      'scene-0916',
    ]);
  });

  it('reads a custom split from <dataroot>/<version>/splits.json', () => {
    const nusc = dataroot(JSON.stringify({ night: ['scene-1077', 'scene-1094'], rain: [] }));
    expect(getScenesOfSplit('night', nusc)).toEqual(['scene-1077', 'scene-1094']);
    expect(getScenesOfSplit('rain', nusc)).toEqual([]);
  });

  it('says which file is missing and how to write it', () => {
    const nusc = dataroot();
    const error = (() => {
      try {
        getScenesOfSplit('night', nusc);
      } catch (e) {
        return e as SpikedriveError;
      }
    })();
    expect(error).toBeInstanceOf(SpikedriveError);
    expect(error?.message).toContain(join(nusc.dataroot, 'v1.0-mini', 'splits.json'));
    expect(error?.fix).toContain('"night"');
  });

  it('names the known splits when the custom one is absent', () => {
    const nusc = dataroot(JSON.stringify({ rain: ['scene-0061'] }));
    expect(() => getScenesOfSplit('night', nusc)).toThrow(/Custom split 'night' requested, but not found/);
    try {
      getScenesOfSplit('night', nusc);
    } catch (e) {
      expect((e as SpikedriveError).fix).toContain('rain');
    }
  });

  it('rejects malformed JSON and lists that are not scene names', () => {
    expect(() => getScenesOfSplit('night', dataroot('{"night": ['))).toThrow(/not valid JSON/);
    expect(() => getScenesOfSplit('night', dataroot('["scene-0061"]'))).toThrow(/JSON object/);
    expect(() => getScenesOfSplit('night', dataroot('{"night": "scene-0061"}'))).toThrow(
      /list of scene names/,
    );
    expect(() => getScenesOfSplit('night', dataroot('{"night": [61]}'))).toThrow(/list of scene names/);
  });
});

describe('createSplitsLogs', () => {
  const logs: Record<string, { logfile: string }> = {
    l1: { logfile: 'n008-2018-08-01-15-16-36-0400' },
    l2: { logfile: 'n015-2018-11-21-19-38-26+0800' },
  };
  const nusc = {
    version: 'v1.0-mini',
    scenes: [
      { name: 'scene-0103', log_token: 'l1' },
      { name: 'scene-0916', log_token: 'l2' },
      { name: 'scene-0061', log_token: 'l2' },
    ],
    get: (_table: 'log', token: string) => logs[token],
  };

  it("gives the logs of a split's scenes", () => {
    expect(createSplitsLogs('mini_val', nusc).sort()).toEqual([
      'n008-2018-08-01-15-16-36-0400',
      'n015-2018-11-21-19-38-26+0800',
    ]);
  });

  it('checks the split against the release and the scenes present', () => {
    expect(() => createSplitsLogs('val', nusc)).toThrow(/not compatible with nuScenes version v1.0-mini/);
    expect(() => createSplitsLogs('mini_train', nusc)).toThrow(/scene-0553 .* not in this v1.0-mini dataset/);
    expect(() => createSplitsLogs('night', nusc)).toThrow(/not a known nuScenes split/);
  });
});

describe("SAD's scene filter", () => {
  it('drops scene-0419 and the 21 CAN-blacklisted scenes', () => {
    expect(SAD_EXCLUDED_SCENES).toHaveLength(22);
    expect(SAD_EXCLUDED_SCENES).toContain('scene-0419');
    expect(SAD_EXCLUDED_SCENES).toContain('scene-0161');
    expect(SAD_EXCLUDED_SCENES).toContain('scene-0314');
    expect(SAD_EXCLUDED_SCENES).not.toContain('scene-0169');
    expect(removeSadExcludedScenes(['scene-0168', 'scene-0169', 'scene-0419', 'scene-0061'])).toEqual([
      'scene-0169',
      'scene-0061',
    ]);
  });

  it("gives SAD's split sizes (counted with the devkit lists: train 684, val 150, test 144)", () => {
    expect(getSadScenes('v1.0-trainval', 'train')).toHaveLength(684);
    expect(getSadScenes('v1.0-trainval', 'val')).toHaveLength(150);
    expect(getSadScenes('v1.0-trainval', 'test')).toHaveLength(144);
    expect(getSadScenes('v1.0-mini', 'train')).toHaveLength(8);
    expect(getSadScenes('v1.0-mini', 'val')).toEqual(['scene-0103', 'scene-0916']);
    expect(() => getSadScenes('v1.0-mini', 'test')).toThrow(
      /no 'test' split for nuScenes version 'v1.0-mini'/,
    );
  });
});

describe('splits with the NuScenes class on the fixture dataroot', () => {
  const nusc = new NuScenes({ version: 'v1.0-mini', dataroot: fixtureRoot, verbose: false });

  it('finds the fixture scenes in the mini splits, as split-based loaders do', () => {
    const names = nusc.scenes.map((s) => s.name);
    const mini = [...getScenesOfSplit('mini_train', nusc), ...getScenesOfSplit('mini_val', nusc)];
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(mini).toContain(name);
    expect(removeSadExcludedScenes(names)).toEqual(names);
  });

  it('maps split scenes to logs, and says which split scene the dataroot lacks', () => {
    // The fixture holds only some mini scenes; the devkit fails with a KeyError here, we name the scene.
    const missing = createSplitsScenes().mini_val.find((name) => !nusc.scenes.some((s) => s.name === name));
    if (missing === undefined) {
      expect(createSplitsLogs('mini_val', nusc).length).toBeGreaterThan(0);
    } else {
      expect(() => createSplitsLogs('mini_val', nusc)).toThrow(`Scene ${missing} of split 'mini_val'`);
    }
    expect(() => createSplitsLogs('train', nusc)).toThrow(/not compatible/);
  });
});
