import { describe, expect, it } from 'vitest';
import {
  computeEnergy,
  computeEnergyMethods,
  ENERGY_COMPONENTS,
  getHardwareProfile,
  recorded,
  sumActivityRecords,
} from '../../../src/energy/index.ts';
import { SpikedriveError } from '../../../src/util/errors.ts';
import { expectPj, layer, toyRecord } from './_records.ts';

const cmos = getHardwareProfile('cmos-45nm');
const loihi = getHardwareProfile('loihi2');
const gpu = getHardwareProfile('gpu-ann');
const a100MacPj = (400 / 156e12) * 1e12;

function mod(report: ReturnType<typeof computeEnergy>, name: string) {
  const m = report.modules.find((x) => x.module === name);
  if (m === undefined) throw new Error(`no module ${name}`);
  return m;
}

describe('sad-paper method (E_MAC·MACs(first layer) + E_AC·SOPs(rest))', () => {
  it('charges the first layer once (÷T) at 4.6 pJ and the other conv/fc layers at 0.9 pJ per SOP', () => {
    const r = computeEnergy(toyRecord(), { method: 'sad-paper', profile: cmos });
    // first layer 27 648 / 4 = 6 912 MACs; SOPs 9 216 (conv2) + 5 000 (head, real input, fr = 1) + 300 (fc)
    expectPj(r.totalJ, 6912 * 4.6 + (9216 + 5000 + 300) * 0.9);
    expectPj(mod(r, 'perception').energyJ, 6912 * 4.6 + 9216 * 0.9);
    expectPj(mod(r, 'prediction').energyJ, 5000 * 0.9);
    expectPj(mod(r, 'planning').energyJ, 300 * 0.9);
    expectPj(r.components.mac, 6912 * 4.6);
    expectPj(r.components.ac, 14516 * 0.9);
    expect(r.groups.memory + r.groups.neuron + r.groups.transfer).toBe(0);
    expect(r.settings.firstLayer).toBe('encoder.conv1');
    expect(r.layers[0].treatment).toBe('first layer: MACs ÷T (T=4)');
    // LIF and batch-norm layers are not conv/fc: nothing charged, but the skipped BN ops are reported.
    expect(r.layers[1].energyJ).toBe(0);
    expect(r.layers[3].energyJ).toBe(0);
    expect(r.notes.some((n) => n.includes('batchnorm') && n.includes('100 ops'))).toBe(true);
    expect(r.notes.some((n) => n.includes('flatters the SNN'))).toBe(true);
  });

  it('counts the first layer at every step when firstLayerTimesT is set, and says so', () => {
    const r = computeEnergy(toyRecord(), { method: 'sad-paper', profile: cmos, firstLayerTimesT: true });
    expectPj(r.totalJ, 27648 * 4.6 + 14516 * 0.9);
    expect(r.layers[0].treatment).toBe('first layer: MACs ×T (T=4)');
    expect(r.notes.some((n) => n.includes('×T (every step)'))).toBe(true);
  });

  it("charges later real-input layers E_MAC with realInputLayers: 'as-macs' (syops-counter's rule)", () => {
    const r = computeEnergy(toyRecord(), { method: 'sad-paper', profile: cmos, realInputLayers: 'as-macs' });
    expectPj(r.totalJ, (6912 + 5000) * 4.6 + (9216 + 300) * 0.9);
    // The default report states how much the convention saves: 5 000 × (4.6 − 0.9) pJ = 18.5 nJ.
    const paper = computeEnergy(toyRecord(), { method: 'sad-paper', profile: cmos });
    expectPj(r.totalJ - paper.totalJ, 5000 * 3.7);
    expect(paper.notes.some((n) => n.includes('adds 18.5 nJ'))).toBe(true);
  });

  it('uses a named first layer, and rejects a name the record lacks', () => {
    const r = computeEnergy(toyRecord(), { method: 'sad-paper', profile: cmos, firstLayer: 'decoder.head' });
    // Now conv1 is a later real-input layer (27 648 SOPs at fr = 1) and the head is counted once (T = 3).
    expectPj(r.totalJ, (5000 / 3) * 4.6 + (27648 + 9216 + 300) * 0.9);
    expect(() =>
      computeEnergy(toyRecord(), { method: 'sad-paper', profile: cmos, firstLayer: 'encoder.nope' }),
    ).toThrow(/firstLayer "encoder.nope" is not a layer/);
  });

  it('has no MAC term, with a note, when no layer sees real-valued input', () => {
    const record = {
      layers: [
        layer({
          name: 'a',
          module: 'm',
          kind: 'linear',
          inputIsSpiking: true,
          inputElements: 10,
          inputSpikes: 2,
          synapticOps: 20,
          equivalentMacs: 100,
        }),
      ],
      boundaryBits: {},
    };
    const r = computeEnergy(record, { method: 'sad-paper', profile: cmos });
    expectPj(r.totalJ, 20 * 0.9);
    expect(r.settings.firstLayer).toBeNull();
    expect(r.notes.some((n) => n.startsWith('no first layer'))).toBe(true);
  });

  it('takes the per-op costs from the profile (Loihi: 23.6 pJ for both terms)', () => {
    const r = computeEnergy(toyRecord(), { method: 'sad-paper', profile: loihi });
    expectPj(r.totalJ, (6912 + 14516) * 23.6);
  });
});

describe('ann-equivalent method (E_MAC · equivalent MACs)', () => {
  it('charges every layer its dense MACs at E_MAC', () => {
    const r = computeEnergy(toyRecord(), { method: 'ann-equivalent', profile: cmos });
    expectPj(r.totalJ, (27648 + 36864 + 100 + 5000 + 1000) * 4.6);
    expect(r.annEquivalentJ).toBe(r.totalJ);
    expect(r.annToSnnRatio).toBeCloseTo(1, 12);
  });

  it('runs repeated-input layers once (÷T)', () => {
    const r = computeEnergy(toyRecord(), {
      method: 'ann-equivalent',
      profile: cmos,
      repeatedInputPrefixes: ['encoder.'],
    });
    expectPj(r.totalJ, (27648 / 4 + 36864 / 4 + 100 + 5000 + 1000) * 4.6);
    expectPj(mod(r, 'perception').energyJ, (6912 + 9216) * 4.6);
  });

  it('runs a layer recorded with inputRepeatedOverTime once, whatever its name', () => {
    const record = toyRecord();
    recorded(record.layers[0]).inputRepeatedOverTime = true;
    const r = computeEnergy(record, { method: 'ann-equivalent', profile: cmos });
    expectPj(r.layers[0].energyJ, (27648 / 4) * 4.6);
    expectPj(r.layers[2].energyJ, 36864 * 4.6);
  });

  it('sits beside every SNN report as annEquivalentJ with the ANN/SNN ratio', () => {
    const r = computeEnergy(toyRecord(), {
      method: 'sad-paper',
      profile: cmos,
      repeatedInputPrefixes: ['encoder.'],
    });
    const snnPj = 6912 * 4.6 + 14516 * 0.9;
    const annPj = (6912 + 9216 + 100 + 5000 + 1000) * 4.6;
    expectPj(r.annEquivalentJ, annPj);
    expect(r.annToSnnRatio).toBeCloseTo(annPj / snnPj, 10);
  });

  it('can put the ANN on another profile (SNN on Loihi vs ANN on a GPU)', () => {
    const r = computeEnergy(toyRecord(), { method: 'sad-paper', profile: loihi, annProfile: gpu });
    expect(r.annProfileId).toBe('gpu-ann');
    expectPj(r.annEquivalentJ, 70612 * a100MacPj);
  });
});

describe('memory-aware method', () => {
  it('adds neuron updates, parameter/state/activation traffic and boundary bits on 45 nm', () => {
    const r = computeEnergy(toyRecord(), { method: 'memory-aware', profile: cmos });
    // params in DRAM (20 pJ/bit), state and activations in 32 KB SRAM (20 pJ per 64 bits, read = write).
    const sram = 20 / 64;
    const conv1 = 27648 * 4.6 + 448 * 8 * 20 + 32768 * 2 * sram;
    const lif1 = 1024 * 6.4 + (4096 + 4096) * 8 * sram + 1024 * 2 * sram;
    const conv2 = 9216 * 0.9 + 576 * 8 * 20 + 32768 * 2 * sram;
    expectPj(r.layers[0].energyJ, conv1);
    expectPj(r.layers[1].energyJ, lif1);
    expectPj(r.layers[2].energyJ, conv2);
    expectPj(r.layers[3].energyJ, 100 * 4.6);
    expectPj(r.layers[4].energyJ, 5000 * 4.6);
    expectPj(r.layers[5].energyJ, 300 * 0.9);
    // Boundary bits are charged to the sending module at 20 pJ/bit.
    expectPj(r.boundaries[0].energyJ, 1024 * 20);
    expectPj(mod(r, 'perception').energyJ, conv1 + lif1 + conv2 + 1024 * 20);
    expectPj(mod(r, 'prediction').energyJ, 100 * 4.6 + 5000 * 4.6 + 64 * 20);
    expectPj(r.totalJ, conv1 + lif1 + conv2 + 5100 * 4.6 + 300 * 0.9 + 1088 * 20);
    expectPj(r.components.neuron, 1024 * 6.4);
    expectPj(r.components.paramMemory, (448 + 576) * 8 * 20);
    expectPj(r.components.stateMemory, 8192 * 8 * sram);
    expectPj(r.components.activationMemory, (32768 + 1024 + 32768) * 2 * sram);
    expect(r.groups.memory).toBe(
      r.components.paramMemory + r.components.stateMemory + r.components.activationMemory,
    );
    expectPj(r.groups.compute, 27648 * 4.6 + 9216 * 0.9 + 5100 * 4.6 + 300 * 0.9);
    expect(ENERGY_COMPONENTS.reduce((s, c) => s + r.components[c], 0)).toBeCloseTo(r.totalJ, 20);
  });

  it('charges nothing for memory placed in-op (Loihi: weights and membranes are core-local)', () => {
    const r = computeEnergy(toyRecord(), { method: 'memory-aware', profile: loihi });
    expect(r.groups.memory).toBe(0);
    expectPj(r.totalJ, (9216 + 300) * 23.6 + (27648 + 100 + 5000) * 23.6 + 1024 * 81 + 1088 * 3.5);
  });

  it('runs spiking layers densely on a target without an event-driven path (GPU)', () => {
    const r = computeEnergy(toyRecord(), { method: 'memory-aware', profile: gpu });
    const lifPj = 4 * (400 / 19.5e12) * 1e12;
    expectPj(r.components.mac, 70612 * a100MacPj);
    expect(r.components.ac).toBe(0);
    expectPj(r.components.neuron, 1024 * lifPj);
    expectPj(r.components.paramMemory, 1024 * 8 * 3.9);
    expectPj(r.components.stateMemory, 8192 * 8 * 3.9);
    expectPj(r.components.activationMemory, 66560 * 2 * 3.9);
    expectPj(r.components.transfer, 1088 * 3.9);
    expect(r.notes.some((n) => n.includes('no event-driven path'))).toBe(true);
  });

  it('takes placement and per-link overrides', () => {
    const r = computeEnergy(toyRecord(), {
      method: 'memory-aware',
      profile: cmos,
      placement: { params: 'sram:8KiB', state: 'in-op' },
      boundaryPjPerBit: { 'perception->prediction': 1 },
    });
    expectPj(r.components.paramMemory, 1024 * 8 * (10 / 64));
    expect(r.components.stateMemory).toBe(0);
    expectPj(r.components.transfer, 1024 * 1 + 64 * 20);
    expect(r.settings.placement).toEqual({ params: 'sram:8KiB', state: 'in-op', activations: 'sram:32KiB' });
  });

  it('rejects placements the profile cannot hold and links the record lacks', () => {
    expect(() =>
      computeEnergy(toyRecord(), { method: 'memory-aware', profile: loihi, placement: { params: 'dram' } }),
    ).toThrow(SpikedriveError);
    expect(() =>
      computeEnergy(toyRecord(), {
        method: 'memory-aware',
        profile: cmos,
        placement: { state: 'sram:64KiB' },
      }),
    ).toThrow(/no SRAM bank/);
    expect(() =>
      computeEnergy(toyRecord(), { method: 'memory-aware', profile: cmos, boundaryPjPerBit: { 'a->b': 1 } }),
    ).toThrow(/link "a->b"/);
    expect(() =>
      computeEnergy(toyRecord(), {
        method: 'memory-aware',
        profile: cmos,
        boundaryPjPerBit: { 'perception->prediction': -1 },
      }),
    ).toThrow(/boundaryPjPerBit/);
  });
});

describe('frames, options and records', () => {
  it('reports per frame: a record covering 2 frames gives half of everything', () => {
    const one = computeEnergy(toyRecord(), { method: 'memory-aware', profile: cmos });
    const two = computeEnergy(toyRecord(), { method: 'memory-aware', profile: cmos, frames: 2 });
    expect(two.totalJ).toBeCloseTo(one.totalJ / 2, 20);
    expect(two.layers[0].counted.macs).toBe(27648 / 2);
    expect(two.boundaries[0].bits).toBe(512);
  });

  it('gives the same per-frame energy from a sum of records divided by their number', () => {
    const summed = sumActivityRecords([toyRecord(), toyRecord(), toyRecord()]);
    expect(summed.layers).toHaveLength(6);
    expect(summed.layers[0].denseMacs).toBe(3 * 27648);
    expect(summed.layers[0].timeSteps).toBe(4);
    expect(summed.boundaryBits['perception->prediction']).toBe(3 * 1024);
    for (const method of ['sad-paper', 'memory-aware', 'ann-equivalent'] as const) {
      const single = computeEnergy(toyRecord(), { method, profile: cmos });
      const mean = computeEnergy(summed, { method, profile: cmos, frames: 3 });
      expect(mean.totalJ).toBeCloseTo(single.totalJ, 18);
    }
  });

  it('keeps a layer called twice in one forward as two entries (SAD reuses up1_lif)', () => {
    const lif = layer({ name: 'decoder.up1_lif', module: 'prediction', kind: 'lif', neuronUpdates: 10 });
    const record = { layers: [lif, { ...lif, neuronUpdates: 20 }], boundaryBits: {} };
    const summed = sumActivityRecords([record, record]);
    expect(summed.layers.map((l) => l.neuronUpdates)).toEqual([20, 40]);
    const r = computeEnergy(record, { method: 'memory-aware', profile: cmos });
    expect(r.layers).toHaveLength(2);
    expectPj(r.totalJ, 30 * 6.4);
  });

  it('adds merged-call counts and keeps inputRepeatedOverTime only where every record has it', () => {
    const a = toyRecord();
    const b = toyRecord();
    Object.assign(a.layers[0], { calls: 2, inputRepeatedOverTime: true });
    Object.assign(b.layers[0], { inputRepeatedOverTime: true });
    Object.assign(a.layers[2], { inputRepeatedOverTime: true });
    const summed = sumActivityRecords([a, b]).layers.map(recorded);
    expect(summed[0].calls).toBe(3);
    expect(summed[0].inputRepeatedOverTime).toBe(true);
    expect(summed[2].inputRepeatedOverTime).toBe(false);
    expect(summed[1].calls).toBeUndefined();
  });

  it('refuses to add records whose layers disagree', () => {
    const a = toyRecord();
    const b = toyRecord();
    b.layers[0].kind = 'linear';
    expect(() => sumActivityRecords([a, b])).toThrow(/encoder.conv1 is linear/);
    expect(() => sumActivityRecords([])).toThrow(SpikedriveError);
  });

  it('adds a layer whose input was spiking in one frame and real-valued in another (SOPs and MACs both kept)', () => {
    // An all-zero input reads as spiking (the planner's GRU input on an empty frame): 0 SOPs there, 100 MACs next.
    const gru = (spiking: boolean, sops: number, macs: number) =>
      layer({
        name: 'planning.decoder.0',
        module: 'planning',
        kind: 'linear',
        inputIsSpiking: spiking,
        synapticOps: sops,
        denseMacs: macs,
      });
    const summed = sumActivityRecords([
      { layers: [gru(true, 0, 0)], boundaryBits: {} },
      { layers: [gru(false, 0, 100)], boundaryBits: {} },
    ]);
    expect(summed.layers[0]).toMatchObject({ inputIsSpiking: false, synapticOps: 0, denseMacs: 100 });
  });

  it('rejects bad options with a SpikedriveError naming the option', () => {
    for (const frames of [0, -1, Number.NaN]) {
      try {
        computeEnergy(toyRecord(), { method: 'sad-paper', profile: cmos, frames });
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(SpikedriveError);
        expect((error as SpikedriveError).subject).toBe('frames');
      }
    }
    expect(() =>
      computeEnergy(toyRecord(), { method: 'joules-by-vibes' as 'sad-paper', profile: cmos }),
    ).toThrow(/unknown energy method/);
  });

  it('computes all three methods side by side', () => {
    const all = computeEnergyMethods(toyRecord(), { profile: cmos });
    expect(Object.keys(all)).toEqual(['sad-paper', 'memory-aware', 'ann-equivalent']);
    expect(all['memory-aware'].totalJ).toBeGreaterThan(all['sad-paper'].totalJ);
    expect(all['sad-paper'].annEquivalentJ).toBe(all['ann-equivalent'].totalJ);
  });
});
