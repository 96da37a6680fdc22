import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyOverride, loadSadConfig, sadConfigFromYaml, sadGeometry } from '../../../src/pipeline/index.ts';
import { SpikedriveError } from '../../../src/util/index.ts';

// The reference's sad/configs/nuscenes/Perception.yml, verbatim apart from the encoder checkpoint path.
const REFERENCE_PERCEPTION_YML = `
TAG: 'Perception'
GPUS: [0]
BATCHSIZE: 3
PRECISION: 16
EPOCHS: 20
N_WORKERS: 3
DATASET:
  VERSION: 'trainval'
TIME_RECEPTIVE_FIELD: 3
N_FUTURE_FRAMES: 0
LIFT:
  GT_DEPTH: False
MODEL:
  ENCODER:
    NAME: "encoder.pth.tar"
  TEMPORAL_MODEL:
    NAME: 'identity'
    INPUT_EGOPOSE: True
  BN_MOMENTUM: 0.05
SEMANTIC_SEG:
  PEDESTRIAN:
    ENABLED: True
  HDMAP:
    ENABLED: True
INSTANCE_SEG:
  ENABLED: False
INSTANCE_FLOW:
  ENABLED: False
PROBABILISTIC:
  ENABLED: False
PLANNING:
  ENABLED: False
OPTIMIZER:
  LR: 1e-3
`;

describe('SadConfig', () => {
  it('reads a reference YAML file unchanged, on top of the reference defaults', () => {
    const config = sadConfigFromYaml(REFERENCE_PERCEPTION_YML, 'Perception.yml');
    expect(config.N_FUTURE_FRAMES).toBe(0);
    expect(config.OPTIMIZER.LR).toBe(1e-3);
    expect(config.MODEL.BN_MOMENTUM).toBe(0.05);
    // untouched defaults stay the reference's
    expect(config.LIFT.X_BOUND).toEqual([-50, 50, 0.5]);
    expect(config.COST_FUNCTION.SAFETY).toBe(0.1);
    expect(config.IMAGE.NAMES[1]).toBe('CAM_FRONT');
  });

  it('gives the paper preset the reference shapes', () => {
    const config = loadSadConfig('paper');
    const g = sadGeometry(config);
    expect([g.bevRows, g.bevCols, g.depthBins, g.featureHeight, g.featureWidth, g.bevChannels]).toEqual([
      200, 200, 48, 28, 60, 70,
    ]);
    expect(g.bevStartM).toEqual([-49.75, -49.75, 0]);
    expect(config.PLANNING.SAMPLE_NUM).toBe(1800);
    expect(config.COST_FUNCTION.SAFETY).toBe(1);
  });

  it('rejects an unknown key, naming it and the likely intended key', () => {
    expect(() => sadConfigFromYaml('OPTIMIZER:\n  LR_RATE: 0.1\n')).toThrowError(/OPTIMIZER\.LR_RATE/);
    try {
      sadConfigFromYaml('OPTIMIZER:\n  lr: 0.1\n');
    } catch (error) {
      expect(error).toBeInstanceOf(SpikedriveError);
      expect((error as SpikedriveError).fix).toContain('OPTIMIZER.LR');
    }
  });

  it('rejects a value of the wrong type or range, naming the key', () => {
    expect(() => sadConfigFromYaml("BATCHSIZE: 'three'\n")).toThrowError(
      /BATCHSIZE in inline YAML must be a number/,
    );
    expect(() => sadConfigFromYaml('PLANNING:\n  SAMPLE_NUM: 100\n')).toThrowError(/PLANNING\.SAMPLE_NUM/);
    expect(() => sadConfigFromYaml('IMAGE:\n  FINAL_DIM: [100, 200]\n')).toThrowError(/IMAGE\.FINAL_DIM/);
    expect(() => sadConfigFromYaml('PLANNING:\n  REDUCER_DOWNSAMPLE: [true, false]\n')).toThrowError(
      /PLANNING\.REDUCER_DOWNSAMPLE.*one true\/false per reducer block/,
    );
  });

  it('keeps the reference reducer in paper and a 256-wide SGRU state in cpu-small', () => {
    expect(loadSadConfig('paper').PLANNING.REDUCER_DOWNSAMPLE).toEqual([true, true, true, false]);
    const small = loadSadConfig('cpu-small');
    expect(small.PLANNING.REDUCER_DOWNSAMPLE).toEqual([false, false, false, false]);
    expect(small.PLANNING.GRU_STATE_SIZE).toBe(256);
  });

  it('applies KEY=VALUE overrides and _BASE_ presets', () => {
    expect(applyOverride(loadSadConfig('paper'), 'OPTIMIZER.LR=2e-4').OPTIMIZER.LR).toBe(2e-4);
    const dir = mkdtempSync(join(tmpdir(), 'sadcfg-'));
    const file = join(dir, 'mine.yml');
    writeFileSync(file, '_BASE_: paper\nEPOCHS: 2\n');
    const config = loadSadConfig(file);
    expect(config.EPOCHS).toBe(2);
    expect(config.PLANNING.SAMPLE_NUM).toBe(1800);
    expect(() => loadSadConfig('no-such-preset')).toThrowError(/unknown config preset/);
  });

  it('takes TRAIN.FREEZE as a list of name prefixes (none by default) and refuses anything else', () => {
    expect(loadSadConfig('cpu-small').TRAIN.FREEZE).toEqual([]);
    expect(applyOverride(loadSadConfig('cpu-small'), 'TRAIN.FREEZE=[encoder.]').TRAIN.FREEZE).toEqual([
      'encoder.',
    ]);
    expect(() => applyOverride(loadSadConfig('cpu-small'), 'TRAIN.FREEZE=[""]')).toThrowError(
      /TRAIN\.FREEZE/,
    );
  });

  it('says where a YAML syntax error is', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sadcfg-'));
    const file = join(dir, 'bad.yml');
    writeFileSync(file, 'EPOCHS: 2\n  LR: [1,\n');
    expect(() => loadSadConfig(file)).toThrowError(/not valid YAML at line/);
  });
});
