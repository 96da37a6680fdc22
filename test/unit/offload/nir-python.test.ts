// Loads spikedrive's .nir files in the NIR reference library itself (nir.read with type_check=True). Runs only
// where Debian's python3 has h5py and numpy and a checkout of neuromorphs/NIR is on hand (docs/offload.md).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportToNir } from '../../../src/offload/export/export.ts';
import { validateNirGraph, writeNir } from '../../../src/offload/nir/io.ts';
import { filled, type NirGraph, type NirNode } from '../../../src/offload/nir/types.ts';
import {
  MsConvBlock,
  MsDownSampling,
  SpikingBottleneck,
  SpikingDeepLabHead,
} from '../../../src/snn/index.ts';
import { createRng } from '../../../src/util/rng.ts';
import { NIR_EXAMPLES, randomiseBatchNorms, useCpu } from './_helpers.ts';

const python = '/usr/bin/python3';
const nirSource = process.env.SPIKEDRIVE_NIR_PYTHONPATH ?? '/work/scratch/offload/nir-py';
const script = join(dirname(fileURLToPath(import.meta.url)), '../../../scripts/nir-read-check.py');

function available(): boolean {
  if (!existsSync(python) || !existsSync(join(nirSource, 'nir', 'serialization.py'))) return false;
  const r = spawnSync(python, ['-c', 'import h5py, numpy'], { encoding: 'utf8' });
  return r.status === 0;
}

interface CheckResult {
  file: string;
  ok: boolean;
  error?: string;
  version?: string | null;
  graph?: {
    nodes: Record<string, { type: string; output_type?: Record<string, number[] | null> }>;
    metadata?: string[];
  };
}

function check(files: string[], extra: string[] = []): CheckResult[] {
  const out = execFileSync(python, [script, ...extra, ...files], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: nirSource },
  });
  return out
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as CheckResult);
}

const dir = mkdtempSync(join(tmpdir(), 'spikedrive-nirpy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(useCpu);

describe.skipIf(!available())('nir.read (the NIR reference library) loads our files', () => {
  it('every primitive, nested graphs, recurrence and metadata', async () => {
    const lif = (shape: number[]) => ({
      type: 'LIF' as const,
      tau: filled(shape, 2e-4),
      r: filled(shape, 1),
      vLeak: filled(shape, 0),
      vThreshold: filled(shape, 1),
      vReset: filled(shape, 0),
    });
    const inner: NirGraph = {
      type: 'NIRGraph',
      nodes: new Map<string, NirNode>([
        ['in', { type: 'Input', shape: [3] }],
        ['li', { type: 'LI', tau: filled([3], 1e-3), r: filled([3], 1), vLeak: filled([3], 0) }],
        ['out', { type: 'Output', shape: [3] }],
      ]),
      edges: [
        ['in', 'li'],
        ['li', 'out'],
      ],
    };
    const g: NirGraph = {
      type: 'NIRGraph',
      nodes: new Map<string, NirNode>([
        ['input', { type: 'Input', shape: [2] }],
        ['lin', { type: 'Linear', weight: filled([3, 2], 0.5) }],
        ['sub', inner],
        ['scale', { type: 'Scale', scale: filled([3], 2) }],
        ['delay', { type: 'Delay', delay: filled([3], 2e-4) }],
        [
          'if',
          {
            type: 'IF',
            r: filled([3], 1e4),
            vThreshold: filled([3], 1),
            vReset: filled([3], 0),
            metadata: { spikedrive: { neuron: 'spikingjelly-if', tau_steps: 2 } },
          },
        ],
        ['i', { type: 'I', r: filled([3], 1) }],
        ['th', { type: 'Threshold', threshold: filled([3], 0.5) }],
        [
          'cubali',
          {
            type: 'CubaLI',
            tauSyn: filled([3], 1e-3),
            tauMem: filled([3], 2e-3),
            r: filled([3], 1),
            vLeak: filled([3], 0),
            wIn: filled([3], 1),
          },
        ],
        ['rec', { type: 'Linear', weight: filled([3, 3], 0.1) }],
        ['lif', lif([3])],
        ['output', { type: 'Output', shape: [3] }],
      ]),
      edges: [
        ['input', 'lin'],
        ['lin', 'sub'],
        ['sub', 'scale'],
        ['scale', 'delay'],
        ['delay', 'if'],
        ['if', 'i'],
        ['i', 'th'],
        ['th', 'cubali'],
        ['cubali', 'lif'],
        ['lif', 'rec'],
        ['rec', 'lif'],
        ['lif', 'output'],
      ],
      metadata: { dt: 1e-4, note: 'all primitives' },
    };
    const conv1d: NirGraph = {
      type: 'NIRGraph',
      nodes: new Map<string, NirNode>([
        ['input', { type: 'Input', shape: [2, 16] }],
        [
          'c',
          {
            type: 'Conv1d',
            inputShape: 16,
            weight: filled([3, 2, 3], 0.1),
            stride: 1,
            padding: 'same',
            dilation: 1,
            groups: 1,
            bias: filled([3], 0),
          },
        ],
        ['pool', { type: 'AvgPool2d', kernelSize: [2, 2], stride: [2, 2], padding: [0, 0] }],
        ['output', { type: 'Output', shape: [3, 16] }],
      ]),
      edges: [
        ['input', 'c'],
        ['c', 'output'],
      ],
    };
    conv1d.nodes.delete('pool');
    expect(validateNirGraph(g).issues).toEqual([]);
    await writeNir(join(dir, 'all.nir'), g);
    await writeNir(join(dir, 'conv1d.nir'), conv1d);
    const [all, c1] = check([join(dir, 'all.nir'), join(dir, 'conv1d.nir')]);
    expect(all.ok, all.error).toBe(true);
    expect(all.graph?.metadata).toEqual(['dt', 'note']);
    expect(c1.ok, c1.error).toBe(true);
    expect(c1.graph?.nodes.c.output_type?.output).toEqual([3, 16]);
  });

  it('exported SAD blocks (folded BN, LIF with metadata, residual sums, Threshold, ASPP split convs)', async () => {
    const rng = createRng(3);
    const down = new MsDownSampling({ inChannels: 3, embedDims: 8, kernelSize: 7, padding: 3, rng });
    down.setPath('enc.down');
    const block = new MsConvBlock({ dim: 8, mlpRatio: 2, rng });
    block.setPath('enc.block');
    const bottleneck = new SpikingBottleneck({ inChannels: 8, outChannels: 6, downsample: false, rng });
    bottleneck.setPath('dist.bottleneck');
    const head = new SpikingDeepLabHead({ inChannels: 8, numClasses: 4, hiddenChannels: 6, rng });
    head.setPath('enc.head');
    const files: string[] = [];
    for (const [name, m, shape] of [
      ['down', down, [3, 16, 16]],
      ['block', block, [8, 8, 8]],
      ['bottleneck', bottleneck, [8, 8, 8]],
      ['head', head, [8, 8, 8]],
    ] as const) {
      randomiseBatchNorms(m);
      const ex = exportToNir(m, { inputShapes: [[...shape]] });
      const path = join(dir, `${name}.nir`);
      await writeNir(path, ex.graph);
      files.push(path);
    }
    const results = check(files);
    for (const r of results) expect(r.ok, `${r.file}: ${r.error}`).toBe(true);
    const blockNodes = results[1].graph?.nodes ?? {};
    expect(blockNodes['enc.block.neuron1'].type).toBe('LIF');
    expect(blockNodes['enc.block.conv2.0.0'].output_type?.output).toEqual([16, 8, 8]);
    const headNodes = results[3].graph?.nodes ?? {};
    expect(Object.values(headNodes).filter((n) => n.type === 'Output').length).toBeGreaterThan(1);
    for (const m of [down, block, bottleneck, head]) m.dispose();
  });

  it('agrees with our reading of the foreign graphs (Rockpool’s fails the type check in both)', () => {
    const results = check(
      ['lif_norse', 'cnn_sinabs', 'braille_noDelay_noBias_subtract', 'lif_rockpool'].map((f) =>
        join(NIR_EXAMPLES, `${f}.nir`),
      ),
    );
    expect(results.map((r) => r.ok)).toEqual([true, true, true, false]);
    expect(results[3].error).toMatch(/1_LIFNeuronTorch\.output: \[\[1\]\] -> output\.input: \[\[1 1 1\]\]/);
    expect(results[1].graph?.nodes['4'].output_type?.output).toEqual([16, 8, 8]);
  });

  it('nir.write of our graph gives back the same graph (Python round trip)', async () => {
    const { readNir, diffNirGraphs } = await import('../../../src/offload/index.ts');
    const path = join(dir, 'block.nir');
    const ours = await readNir(path);
    const rewritten = join(dir, 'py');
    execFileSync('mkdir', ['-p', rewritten]);
    const [r] = check([path], ['--rewrite', rewritten]);
    expect(r.ok, r.error).toBe(true);
    const back = await readNir(join(rewritten, 'block.nir'));
    expect(diffNirGraphs(ours.graph, back.graph)).toEqual([]);
  });
});
