import { describe, expect, it } from 'vitest';
import { rollUpActivity, validateActivityRecord } from '../../../src/energy/index.ts';
import type { ActivityRecord } from '../../../src/snn/activity.ts';
import { SpikedriveError } from '../../../src/util/errors.ts';
import { layer, toyRecord } from './_records.ts';

describe('rollUpActivity', () => {
  it('rolls layers up per module with firing rates over spiking layers only', () => {
    const r = rollUpActivity(toyRecord());
    expect(r.modules.map((m) => m.module)).toEqual(['perception', 'prediction', 'planning']);
    const [perception, prediction, planning] = r.modules;
    // Spiking input: only conv2 (256 of 1 024); the image conv and the LIF see real values.
    expect(perception.inputFiringRate).toBe(0.25);
    // Spiking output: only the LIF (256 of 1 024).
    expect(perception.outputFiringRate).toBe(0.25);
    expect(perception.spikingLayerCount).toBe(1);
    expect(perception.synapticOps).toBe(9216);
    expect(perception.denseMacs).toBe(27648);
    expect(perception.equivalentMacs).toBe(27648 + 36864);
    expect(perception.workRatio).toBeCloseTo((9216 + 27648) / (27648 + 36864), 12);
    expect(perception.stateBytesRead + perception.stateBytesWritten).toBe(8192);
    expect(perception.boundaryBitsOut).toBe(1024);
    expect(prediction.inputFiringRate).toBeNull();
    expect(prediction.outputFiringRate).toBeNull();
    expect(prediction.boundaryBitsIn).toBe(1024);
    expect(prediction.boundaryBitsOut).toBe(64);
    expect(planning.inputFiringRate).toBeCloseTo(0.3, 12);
    expect(planning.boundaryBitsIn).toBe(64);
    expect(r.total.inputFiringRate).toBeCloseTo((256 + 30) / (1024 + 100), 12);
    expect(r.total.layerCount).toBe(6);
    expect(r.total.boundaryBitsOut).toBe(1088);
  });

  it('gives per-layer rates, null where they do not apply', () => {
    const { layers } = rollUpActivity(toyRecord());
    expect(layers[0]).toMatchObject({
      name: 'encoder.conv1',
      inputFiringRate: null,
      outputFiringRate: null,
      workRatio: 1,
    });
    expect(layers[1]).toMatchObject({
      kind: 'lif',
      spiking: true,
      inputFiringRate: null,
      outputFiringRate: 0.25,
    });
    expect(layers[2]).toMatchObject({ inputFiringRate: 0.25, workRatio: 0.25 });
    expect(layers[5].workRatio).toBeCloseTo(0.3, 12);
    expect(layers[0]).toMatchObject({ calls: 1, inputRepeatedOverTime: false });
  });

  it('counts a silent LIF as a spiking layer at rate 0', () => {
    const record: ActivityRecord = {
      layers: [layer({ name: 'lif', module: 'm', kind: 'lif', outputElements: 50, neuronUpdates: 50 })],
      boundaryBits: {},
    };
    expect(rollUpActivity(record).modules[0].outputFiringRate).toBe(0);
  });

  it('divides counts, not rates, by frames', () => {
    const r = rollUpActivity(toyRecord(), { frames: 4 });
    expect(r.modules[0].synapticOps).toBe(9216 / 4);
    expect(r.modules[0].inputFiringRate).toBe(0.25);
    expect(r.boundaries[0].bits).toBe(256);
    expect(() => rollUpActivity(toyRecord(), { frames: 0 })).toThrow(SpikedriveError);
  });
});

describe('validateActivityRecord', () => {
  function broken(edit: (r: ActivityRecord) => void): ActivityRecord {
    const r = toyRecord();
    edit(r);
    return r;
  }

  it('accepts the hand-built record', () => {
    expect(() => validateActivityRecord(toyRecord())).not.toThrow();
  });

  it('names the layer and field of a bad count', () => {
    const cases: [(r: ActivityRecord) => void, RegExp][] = [
      [(r) => (r.layers[2].synapticOps = -5), /layer 2 \(encoder\.conv2\): synapticOps is -5/],
      [(r) => (r.layers[0].denseMacs = Number.NaN), /layer 0 \(encoder\.conv1\): denseMacs is NaN/],
      [(r) => (r.layers[1].timeSteps = 0), /layer 1 \(encoder\.lif1\): timeSteps is 0/],
      [(r) => (r.layers[2].inputSpikes = 2000), /inputSpikes 2000 exceeds inputElements 1024/],
      [(r) => Object.assign(r.layers[4], { calls: 0 }), /layer 4 \(decoder\.head\): calls is 0/],
      [(r) => (r.layers[3].module = ''), /layer 3 \(decoder\.bn\): module is missing/],
      [
        (r) => (r.boundaryBits = { perception: 3 }),
        /boundaryBits key "perception" is not of the form "from->to"/,
      ],
      [(r) => (r.boundaryBits['a->b'] = -1), /boundaryBits\["a->b"\] is -1/],
    ];
    for (const [edit, message] of cases) {
      const record = broken(edit);
      expect(() => validateActivityRecord(record)).toThrow(message);
      try {
        validateActivityRecord(record);
      } catch (error) {
        expect((error as SpikedriveError).fix).toContain('instrumentation');
      }
    }
  });
});
