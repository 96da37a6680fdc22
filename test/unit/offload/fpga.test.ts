import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportToNir } from '../../../src/offload/export/export.ts';
import {
  blobArray,
  packTernary,
  readFpgaBundle,
  unpackTernary,
  writeFpgaBundle,
} from '../../../src/offload/fpga/bundle.ts';
import { DEFAULT_FPGA, fpgaCost } from '../../../src/offload/fpga/cycles.ts';
import { buildFixedModel } from '../../../src/offload/fpga/model.ts';
import { runFixedModel } from '../../../src/offload/fpga/runner.ts';
import { emitSpikingConvVerilog } from '../../../src/offload/fpga/verilog.ts';
import { LifNode, MsConvBlock, MsDownSampling, Sequential } from '../../../src/snn/index.ts';
import { createRng } from '../../../src/util/rng.ts';
import { expectSpikedriveError, randomiseBatchNorms, useCpu } from './_helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'spikedrive-fpga-'));
beforeAll(useCpu);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A small encoder-like stack ending in spikes: image → conv (repeated input) → MS block → LIF. */
function stack(seed: number): Sequential<MsDownSampling | MsConvBlock | LifNode> {
  const rng = createRng(seed);
  const s = new Sequential<MsDownSampling | MsConvBlock | LifNode>([
    new MsDownSampling({ inChannels: 3, embedDims: 8, kernelSize: 7, padding: 3, rng }),
    new MsConvBlock({ dim: 8, mlpRatio: 2, rng }),
    new LifNode({}),
  ]);
  s.setPath('encoder');
  randomiseBatchNorms(s, seed);
  return s;
}

describe('fixed-point model against the float tfjs path', () => {
  it('int8 weights and 16-bit membranes keep ≥ 99% of the spikes; 4-bit and ternary less (stated tolerance)', () => {
    const s = stack(41);
    const x = tf.randomNormal([4, 2, 16, 16, 3], 0, 1, 'float32', 5);
    const y = s.forward(x);
    s.reset();
    const { graph } = exportToNir(s, { inputShapes: [[3, 16, 16]] });
    const agreement: Record<string, number> = {};
    for (const [label, weights] of [
      ['int8', { kind: 'symmetric', bits: 8 }],
      ['int4', { kind: 'symmetric', bits: 4 }],
      ['ternary', { kind: 'ternary' }],
    ] as const) {
      const model = buildFixedModel(graph, {
        weights,
        calibration: new Map([['input', x.dataSync() as Float32Array]]),
      });
      const r = runFixedModel(model, new Map([['input', x]]));
      const out = r.outputs.get('output') as tf.Tensor;
      const a = y.dataSync();
      const b = out.dataSync();
      let same = 0;
      for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
      agreement[label] = same / a.length;
      tf.dispose([...r.outputs.values()]);
    }
    // Post-training quantisation of random weights: the tolerances docs/offload.md states.
    expect(agreement.int8).toBeGreaterThanOrEqual(0.99);
    expect(agreement.int4).toBeGreaterThanOrEqual(0.95);
    expect(agreement.ternary).toBeGreaterThanOrEqual(0.8);
    tf.dispose([x, y]);
    s.dispose();
  });

  it('computes the integer LIF exactly as stated: H = V + ((X − V) ≫ 1), fire at H ≥ θ, reset 0', () => {
    // One LIF fed one-to-one from a real input: X = round(x/s_x)·s_x/s in membrane units.
    const lif = new LifNode({});
    lif.setPath('n');
    const { graph } = exportToNir(lif, { inputShapes: [[1]] });
    const model = buildFixedModel(graph, {
      weights: { kind: 'symmetric', bits: 8 },
      inputScales: { input: 1 / 64 },
    });
    const pop = model.populations[0];
    // No weights in front: the membrane unit is θ/2^14, so θ = 16384 units and one input unit (1/64) is 256.
    expect(pop.threshold[0]).toBe(16384);
    const x = tf.tensor3d([1.5, 1.5, 0.25, 1.9], [4, 1, 1]);
    const r = runFixedModel(model, new Map([['input', x]]));
    // x = 1.5 → 96 input units → 24576: H = 12288; then 12288 + ((24576 − 12288) ≫ 1) = 18432 ≥ 16384 → spike,
    // reset; 0.25 → 4096: H = 2048; 1.9 → round(121.6) = 122 → 31232: 2048 + 14592 = 16640 → spike.
    expect(Array.from(r.outputs.get('output')?.dataSync() ?? [])).toEqual([0, 1, 0, 1]);
    expect(Array.from(r.rawOutputs.get('output') ?? [])).toEqual([12288, 18432, 2048, 16640]);
    tf.dispose([x, ...r.outputs.values()]);
  });

  it('refuses what it cannot express, naming it', async () => {
    const lif = new LifNode({ decayInput: false });
    lif.setPath('nd');
    const { graph } = exportToNir(lif, { inputShapes: [[2]] });
    await expectSpikedriveError(
      () => buildFixedModel(graph, { weights: { kind: 'symmetric', bits: 8 } }),
      /without decay_input/,
      /host/,
    );
    await expectSpikedriveError(
      () => buildFixedModel(graph, { weights: { kind: 'symmetric', bits: 9 } }),
      /2–8 bits/,
    );
  });
});

describe('weight bundle', () => {
  it('packs ternary weights four to a byte and int8 one to a byte; the manifest locates every array', async () => {
    const codes = Int8Array.from([1, 0, -1, 1, -1, -1, 0]);
    const packed = packTernary(codes);
    expect(Array.from(packed)).toEqual([0b01_11_00_01, 0b00_11_11]);
    expect(Array.from(unpackTernary(packed, 7))).toEqual(Array.from(codes));

    const s = stack(42);
    const { graph } = exportToNir(s, { inputShapes: [[3, 16, 16]] });
    for (const weights of [{ kind: 'symmetric', bits: 8 } as const, { kind: 'ternary' } as const]) {
      const model = buildFixedModel(graph, { weights });
      const base = join(dir, `enc-${weights.kind}`);
      const manifest = await writeFpgaBundle(base, model);
      const back = await readFpgaBundle(`${base}.json`);
      expect(back.manifest.sha256).toBe(manifest.sha256);
      const pop = model.populations.find((p) => p.projections.some((q) => q.weights !== null));
      const entry = back.manifest.populations.find((p) => p.name === pop?.name);
      const proj = entry?.projections.find((q) => q.weights !== undefined);
      const ints = blobArray(back.blob, proj?.weights as NonNullable<typeof proj>['weights'] & object);
      const original = pop?.projections.find((q) => q.weights !== null)?.weights;
      expect(Array.from(ints)).toEqual(Array.from(original ?? []));
      expect(
        Array.from(blobArray(back.blob, entry?.threshold as NonNullable<typeof entry>['threshold'])),
      ).toEqual(Array.from(pop?.threshold ?? []));
      if (weights.kind === 'ternary') expect(proj?.weights?.dtype).toBe('ternary2');
      expect(manifest.totals.weightBytes).toBe(
        weights.kind === 'ternary' ? Math.ceil(manifest.totals.weights / 4) + 0 * 1 : manifest.totals.weights,
      );
    }
    s.dispose();
  });

  it('detects a changed blob', async () => {
    const lif = new LifNode({});
    lif.setPath('n');
    const model = buildFixedModel(exportToNir(lif, { inputShapes: [[4]] }).graph, {
      weights: { kind: 'symmetric', bits: 8 },
    });
    const base = join(dir, 'tampered');
    await writeFpgaBundle(base, model);
    const blob = readFileSync(`${base}.bin`);
    blob[0] ^= 0xff;
    writeFileSync(`${base}.bin`, blob);
    await expectSpikedriveError(
      () => readFpgaBundle(`${base}.json`),
      /does not match its manifest/,
      /re-export/,
    );
  });
});

describe('cycle and energy model', () => {
  it('counts cycles from synaptic events, dense MACs and neuron updates per PE', () => {
    const s = stack(43);
    const x = tf.randomNormal([4, 1, 16, 16, 3], 0, 1, 'float32', 6);
    const { graph } = exportToNir(s, { inputShapes: [[3, 16, 16]] });
    const model = buildFixedModel(graph, { weights: { kind: 'symmetric', bits: 8 } });
    const run = runFixedModel(model, new Map([['input', x]]));
    const arch = { ...DEFAULT_FPGA, processingElements: 16, macUnits: 8, clockHz: 100e6 };
    const cost = fpgaCost(model, run, { module: 'encoder', steps: 4, samples: 1, architecture: arch });
    for (const l of cost.layers) {
      expect(l.computeCycles).toBe(
        Math.ceil(l.synapticOps / 16) + Math.ceil(l.denseMacs / 8) + Math.ceil(l.neuronUpdates / 16),
      );
    }
    // The first population sees the image (dense): 7·7·3 MACs per output, 8·8·8 outputs, 4 steps.
    expect(cost.layers[0].denseMacs).toBe(7 * 7 * 3 * 8 * 8 * 8 * 4);
    expect(cost.fitsOnChip).toBe(true);
    expect(cost.latencyS).toBeCloseTo(cost.cycles / 100e6, 12);
    expect(cost.energyJ).toBeGreaterThan(0);
    // With one byte of on-chip RAM everything streams from DDR every step and the model becomes memory-bound.
    const tiny = fpgaCost(model, run, {
      module: 'encoder',
      steps: 4,
      samples: 1,
      architecture: { ...arch, onChipBytes: 1, memoryBytesPerS: 1e6 },
    });
    expect(tiny.fitsOnChip).toBe(false);
    expect(tiny.bound).toBe('memory');
    expect(tiny.energyJ).toBeGreaterThan(cost.energyJ);
    tf.dispose([x, ...run.outputs.values()]);
    s.dispose();
  });
});

const iverilog = spawnSync('iverilog', ['-V'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!iverilog)('Verilog for one spiking conv layer (Icarus Verilog)', () => {
  it('matches the integer reference bit for bit: spikes and membranes, every step', () => {
    const rng = createRng(44);
    // Spikes in → conv 3×3 (stride 1, padding 1) + BN → LIF, as an MS block's inner layer.
    const down = new MsDownSampling({
      inChannels: 3,
      embedDims: 4,
      kernelSize: 3,
      stride: 1,
      padding: 1,
      rng,
    });
    const s = new Sequential<MsDownSampling | LifNode>([down, new LifNode({})]);
    s.setPath('blk');
    randomiseBatchNorms(s, 44);
    // A large BN gain so that a good share of the neurons fire (and some saturate nothing).
    tf.tidy(() => down.encodeBn.weight.assign(tf.randomUniform([4], 4, 8, 'float32', 45)));
    down.encodeBn.version++;
    const { graph } = exportToNir(s, { inputShapes: [[3, 6, 6]], inputSpiking: [true] });
    const model = buildFixedModel(graph, {
      weights: { kind: 'symmetric', bits: 8 },
      spikingInputs: ['input'],
    });
    expect(model.populations).toHaveLength(1);
    const pop = model.populations[0];
    const steps = 3;
    const spikes = tf.tidy(() =>
      tf.cast(tf.greater(tf.randomUniform([steps, 1, 6, 6, 3], 0, 1, 'float32', 7), 0.6), 'float32'),
    );
    const ref = runFixedModel(model, new Map([['input', spikes]]));
    const v = emitSpikingConvVerilog(pop, 'blk_layer');
    const work = mkdtempSync(join(dir, 'v-'));
    writeFileSync(join(work, 'layer.v'), v.verilog);
    writeFileSync(join(work, 'tb.v'), v.testbench);
    for (const [name, text] of Object.entries(v.memories)) writeFileSync(join(work, name), text);
    // Input spikes in C·H·W order per step, one bit per line.
    const x = spikes.dataSync();
    const lines: string[] = [];
    for (let t = 0; t < steps; t++)
      for (let c = 0; c < 3; c++)
        for (let h = 0; h < 6; h++)
          for (let w = 0; w < 6; w++) lines.push(String(x[((t * 6 + h) * 6 + w) * 3 + c]));
    writeFileSync(join(work, 'input.bin.txt'), `${lines.join('\n')}\n`);
    execFileSync('iverilog', ['-g2005', `-Ptb.STEPS=${steps}`, '-o', 'sim.vvp', 'layer.v', 'tb.v'], {
      cwd: work,
    });
    execFileSync('vvp', ['-n', 'sim.vvp'], { cwd: work, stdio: 'ignore', timeout: 120_000 });
    const got = readFileSync(join(work, 'output.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ').map(Number));
    const raw = ref.rawOutputs.get('output') as Int32Array;
    const outSpikes = ref.outputs.get('output')?.dataSync() as Float32Array;
    let mismatches = 0;
    let fired = 0;
    for (let t = 0; t < steps; t++)
      for (let c = 0; c < 4; c++)
        for (let h = 0; h < 6; h++)
          for (let w = 0; w < 6; w++) {
            const [spike, membrane] = got[((t * 4 + c) * 6 + h) * 6 + w];
            const i = ((t * 6 + h) * 6 + w) * 4 + c;
            if (spike !== outSpikes[i] || membrane !== raw[i]) mismatches++;
            fired += spike;
          }
    expect(got).toHaveLength(steps * 4 * 36);
    expect(fired).toBeGreaterThan(0);
    expect(mismatches).toBe(0);
    tf.dispose([spikes, ...ref.outputs.values()]);
    s.dispose();
  });
});
