import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportToNir } from '../../../src/offload/export/export.ts';
import { filled, type NirGraph, type NirNode } from '../../../src/offload/nir/types.ts';
import { NirSimulator } from '../../../src/offload/sim/simulator.ts';
import { checkTarget, formatTargetCheck, speckKernelEntries } from '../../../src/offload/targets/check.ts';
import { graphPopulations } from '../../../src/offload/targets/populations.ts';
import {
  getTargetProfile,
  listTargetProfiles,
  type TargetProfile,
} from '../../../src/offload/targets/profiles.ts';
import { MsConvBlock, MsDownSampling, Sequential } from '../../../src/snn/index.ts';
import { createRng } from '../../../src/util/rng.ts';
import { expectSpikedriveError, useCpu } from './_helpers.ts';

beforeAll(useCpu);

/** Exports a module, runs nir-sim on a seeded input for activity, returns what checkTarget needs. */
function prepared(
  module: Sequential<MsDownSampling | MsConvBlock>,
  shape: [number, number, number],
  steps = 2,
) {
  const { graph } = exportToNir(module, { inputShapes: [shape] });
  const sim = new NirSimulator(graph, { countActivity: true });
  const x = tf.randomNormal([steps, 1, shape[1], shape[2], shape[0]], 0, 1, 'float32', 3);
  for (const y of sim.run(x).outputs.values()) y.dispose();
  x.dispose();
  const out = { graph: sim.flatGraph(), shapes: sim.nodeShapes(), activity: sim.nodeActivity(), steps };
  sim.dispose();
  return out;
}

function encoderStack(width: number) {
  const rng = createRng(5);
  const s = new Sequential<MsDownSampling | MsConvBlock>([
    new MsDownSampling({ inChannels: 3, embedDims: width, kernelSize: 7, padding: 3, rng }),
    new MsConvBlock({ dim: width, mlpRatio: 2, rng }),
  ]);
  s.setPath('encoder');
  return s;
}

describe('target profiles', () => {
  it('lists the five targets with cited limits and src/energy constants', () => {
    expect(listTargetProfiles().map((t) => t.id)).toEqual(['loihi2', 'spinnaker2', 'speck', 'xylo', 'fpga']);
    const loihi = getTargetProfile('loihi2');
    expect(loihi.limits.neuronsPerChip.value).toBe(1_000_000);
    expect(loihi.energy.id).toBe('loihi2');
    expect(getTargetProfile('speck').limits.perCore?.neuronEntries.reduce((a, b) => a + b, 0)).toBe(
      320 * 1024,
    );
    for (const t of listTargetProfiles()) expect(t.sources.length).toBeGreaterThan(0);
  });

  it('names an unknown target and lists the known ones', async () => {
    await expectSpikedriveError(
      () => getTargetProfile('truenorth'),
      /unknown offload target "truenorth"/,
      /loihi2, spinnaker2, speck, xylo, fpga/,
    );
  });

  it('computes Speck kernel memory as Sinabs documents (16 in, 32 out, 3×3 → 8 Ki entries)', () => {
    expect(speckKernelEntries(16, 32, [3, 3])).toBe(8 * 1024);
  });
});

describe('populations', () => {
  it('folds the membrane shortcut into projections: a neuron fed by a conv and by the block input', () => {
    const p = prepared(encoderStack(4), [3, 8, 8]);
    const pops = graphPopulations(p.graph, p.shapes);
    const n2 = pops.populations.find((x) => x.name === 'encoder.1.neuron2');
    // neuron2 sees conv1(neuron1) + the block input (the first conv's output, from the image).
    expect(n2?.projections.map((q) => [q.source, q.via])).toEqual([
      ['encoder.1.neuron1', 'encoder.1.conv1.0.0'],
      ['input', 'encoder.0.encode_conv'],
    ]);
    // The block's real-valued output becomes a graded readout.
    expect(pops.populations.some((x) => x.type === 'Readout' && x.name === 'output')).toBe(true);
  });
});

describe('fit checks', () => {
  it('Loihi 2: fits on one chip; cores, weights and host traffic by hand', () => {
    const p = prepared(encoderStack(8), [3, 16, 16]);
    const r = checkTarget(p.graph, getTargetProfile('loihi2'), p);
    expect(r.fits).toBe(true);
    expect(r.fitsOneChip).toBe(true);
    // Host → chip: the image, 3·16·16 float32 values per step; chip → host: the 8·8·8 readout at 32 bits.
    const up = r.traffic.find((t) => t.from === 'host');
    expect(up?.bitsPerStep).toBe(3 * 16 * 16 * 32);
    expect(r.traffic.find((t) => t.to === 'host')?.bitsPerStep).toBe(8 * 8 * 8 * 32);
    // neuron1 (8×8×8 neurons) needs one core: 512 ≤ 8192 neurons and its 7·7·3·8 + 3·3·8·8 8-bit weights fit.
    const n1 = r.populations.find((x) => x.name === 'encoder.1.neuron1');
    expect(n1?.cores).toBe(1);
    expect(n1?.weightBits).toBe(7 * 7 * 3 * 8 * 8);
    expect(r.energy.perSampleJ).toBeGreaterThan(0);
    expect(r.latency.perSampleS).toBeGreaterThan(0);
  });

  it('splits across chips when a chip is full, and counts the spikes that cross', () => {
    const p = prepared(encoderStack(8), [3, 16, 16]);
    const base = getTargetProfile('loihi2');
    const tiny: TargetProfile = { ...base, limits: { ...base.limits, coresPerChip: 2 } };
    const r = checkTarget(p.graph, tiny, p);
    expect(r.fits).toBe(true);
    expect(r.chips).toBeGreaterThan(1);
    const cross = r.traffic.filter((t) => t.from.startsWith('chip') && t.to.startsWith('chip'));
    expect(cross.length).toBeGreaterThan(0);
    // A spiking source costs at most its bitmap: 8·8·16 neurons of neuron2 → at most 1024 bits per step.
    for (const t of cross) expect(t.bitsPerStep).toBeLessThanOrEqual(8 * 8 * 16);
    expect(r.totals.interChipBitsPerSample).toBe(cross.reduce((s, t) => s + t.bitsPerSample, 0));
  });

  it('Speck: real-valued input and membrane-shortcut sums do not map, with reasons', () => {
    const p = prepared(encoderStack(4), [3, 8, 8]);
    const r = checkTarget(p.graph, getTargetProfile('speck'), p);
    expect(r.fits).toBe(false);
    expect(r.blockers.join('\n')).toMatch(
      /real-valued; SynSense Speck \(DYNAP-CNN\) takes binary events only/,
    );
    // Every population here reads the image (the membrane shortcut carries it), including the graded readout.
    expect(r.blockers.map((b) => b.split(':')[0])).toEqual([
      'encoder.1.neuron1',
      'encoder.1.neuron2',
      'output',
    ]);
    expect(formatTargetCheck(r)).toMatch(/Does not fit/);
  });

  it('Speck: a pure spiking conv chain maps one layer per core within the per-core memories', () => {
    // input spikes → conv (16→32, 3×3) → IF → conv (32→32, 3×3) → IF, 32×32 maps.
    const conv = (cin: number, cout: number): NirNode => ({
      type: 'Conv2d',
      inputShape: [32, 32],
      weight: filled([cout, cin, 3, 3], 0.01),
      stride: [1, 1],
      padding: [1, 1],
      dilation: [1, 1],
      groups: 1,
      bias: filled([cout], 0),
    });
    const iff = (c: number): NirNode => ({
      type: 'IF',
      r: filled([c, 32, 32], 1),
      vThreshold: filled([c, 32, 32], 1),
      vReset: filled([c, 32, 32], 0),
    });
    const g: NirGraph = {
      type: 'NIRGraph',
      nodes: new Map<string, NirNode>([
        ['input', { type: 'Input', shape: [16, 32, 32] }],
        ['c1', conv(16, 32)],
        ['n1', iff(32)],
        ['c2', conv(32, 32)],
        ['n2', iff(32)],
        ['output', { type: 'Output', shape: [32, 32, 32] }],
      ]),
      edges: [
        ['input', 'c1'],
        ['c1', 'n1'],
        ['n1', 'c2'],
        ['c2', 'n2'],
        ['n2', 'output'],
      ],
    };
    const sim = new NirSimulator(g);
    const r = checkTarget(sim.flatGraph(), getTargetProfile('speck'), { steps: 1, shapes: sim.nodeShapes() });
    sim.dispose();
    // n1: 32·32·32 = 32 Ki neurons, 16·2^(4+5) = 8 Ki kernel entries → the smallest layer holding 32 Ki neurons.
    const n1 = r.populations.find((x) => x.name === 'n1');
    expect(n1?.blocker).toMatch(/real-valued/); // the graph input is not declared as events here
    const n2 = r.populations.find((x) => x.name === 'n2');
    expect(n2?.blocker).toBeNull();
    expect([0, 1, 2, 3, 4]).toContain(n2?.core);
    expect(r.caveats.some((c) => /assumed to fire at 0.1/.test(c))).toBe(true);
  });

  it('Xylo: no convolutions, and a map this size exceeds its 16 inputs', () => {
    const p = prepared(encoderStack(4), [3, 8, 8]);
    const r = checkTarget(p.graph, getTargetProfile('xylo'), p);
    expect(r.fits).toBe(false);
    expect(r.blockers[0]).toMatch(/Rockpool reads no Conv2d/);
    expect(r.blockers.join('\n')).toMatch(/192 input channels per step exceed the chip's 16/);
  });
});
