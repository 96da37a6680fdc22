import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type RawDataset,
  type RawGroup,
  rawGroup,
  rawInt,
  rawInts,
  rawString,
  readRawHdf5,
} from '../../../src/offload/nir/hdf5.ts';
import {
  diffNirGraphs,
  readNir,
  validateNirFile,
  validateNirGraph,
  writeNir,
} from '../../../src/offload/nir/io.ts';
import { NIR_LAYOUT_RULES, nirToRaw, parseNirRaw } from '../../../src/offload/nir/serialize.ts';
import { filled, type NirGraph, tensor32 } from '../../../src/offload/nir/types.ts';
import { expectSpikedriveError, NIR_EXAMPLES } from './_helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'spikedrive-nir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Input [2, 8, 8] → Conv2d → LIF → SumPool2d → Flatten → Affine → CubaLIF → Output, as offload.md's g1. */
function g1(): NirGraph {
  const g: NirGraph = {
    type: 'NIRGraph',
    nodes: new Map(),
    edges: [],
    metadata: { dt: 1e-4, source: 'test' },
  };
  g.nodes.set('input', { type: 'Input', shape: [2, 8, 8] });
  g.nodes.set('conv', {
    type: 'Conv2d',
    inputShape: [8, 8],
    weight: tensor32(
      [4, 2, 3, 3],
      Array.from({ length: 72 }, (_, i) => Math.sin(i)),
    ),
    stride: [1, 1],
    padding: [1, 1],
    dilation: [1, 1],
    groups: 1,
    bias: filled([4], 0.1),
    metadata: { spikedrive: { layer: 'enc.conv' } },
  });
  g.nodes.set('lif', {
    type: 'LIF',
    tau: filled([4, 8, 8], 2e-4),
    r: filled([4, 8, 8], 1),
    vLeak: filled([4, 8, 8], 0),
    vThreshold: filled([4, 8, 8], 1),
    vReset: filled([4, 8, 8], 0),
  });
  g.nodes.set('pool', { type: 'SumPool2d', kernelSize: [2, 2], stride: [2, 2], padding: [0, 0] });
  g.nodes.set('flat', { type: 'Flatten', inputType: [4, 4, 4], startDim: 0, endDim: -1 });
  g.nodes.set('fc', { type: 'Affine', weight: filled([3, 64], 0.01), bias: filled([3], 0) });
  g.nodes.set('cuba', {
    type: 'CubaLIF',
    tauSyn: filled([3], 1e-3),
    tauMem: filled([3], 2e-3),
    r: filled([3], 1),
    vLeak: filled([3], 0),
    vThreshold: filled([3], 1),
    vReset: filled([3], 0),
    wIn: filled([3], 1),
  });
  g.nodes.set('output', { type: 'Output', shape: [3] });
  g.edges = [
    ['input', 'conv'],
    ['conv', 'lif'],
    ['lif', 'pool'],
    ['pool', 'flat'],
    ['flat', 'fc'],
    ['fc', 'cuba'],
    ['cuba', 'output'],
  ];
  return g;
}

function nodeOf(raw: RawGroup, name: string): RawGroup {
  const node = raw.children.get('node') as RawGroup;
  return (node.children.get('nodes') as RawGroup).children.get(name) as RawGroup;
}

function rulesOf(raw: RawGroup): string[] {
  return parseNirRaw(raw)
    .issues.filter((i) => i.severity === 'error')
    .map((i) => i.rule);
}

describe('the layout nir.read accepts (written by us)', () => {
  const raw = nirToRaw(g1());

  it('puts the version at /version and the graph at /node, type as a string dataset', () => {
    const version = raw.children.get('version') as RawDataset;
    expect(version).toMatchObject({ kind: 'dataset', dtype: 'string', shape: [] });
    const node = raw.children.get('node') as RawGroup;
    expect(node.children.get('type')).toMatchObject({ dtype: 'string', shape: [], value: 'NIRGraph' });
    expect(nodeOf(raw, 'lif').children.get('type')).toMatchObject({
      dtype: 'string',
      shape: [],
      value: 'LIF',
    });
    expect(nodeOf(raw, 'lif').attrs).toBeUndefined();
  });

  it('writes edges as an (E, 2) string dataset and each node field as a dataset of NIR’s dtype', () => {
    const node = raw.children.get('node') as RawGroup;
    expect(node.children.get('edges')).toMatchObject({ dtype: 'string', shape: [7, 2] });
    const conv = nodeOf(raw, 'conv');
    expect([...conv.children.keys()].sort()).toEqual(
      ['bias', 'dilation', 'groups', 'input_shape', 'metadata', 'padding', 'stride', 'type', 'weight'].sort(),
    );
    expect(conv.children.get('stride')).toMatchObject({ dtype: 'int64', shape: [2] });
    expect(conv.children.get('groups')).toMatchObject({ dtype: 'int64', shape: [] });
    expect(conv.children.get('weight')).toMatchObject({
      dtype: 'float32',
      shape: [4, 2, 3, 3],
      compression: 'gzip',
    });
    // Extras only under metadata.
    expect(conv.children.get('metadata')?.kind).toBe('group');
    expect([...nodeOf(raw, 'lif').children.keys()].sort()).toEqual([
      'r',
      'tau',
      'type',
      'v_leak',
      'v_reset',
      'v_threshold',
    ]);
    expect(nodeOf(raw, 'output').children.has('output_type')).toBe(false);
  });

  it('leaves out empty metadata, as nir.write does', () => {
    expect(nodeOf(raw, 'lif').children.has('metadata')).toBe(false);
  });

  it('passes every rule and NIR’s type inference with the shapes NIR infers', () => {
    const v = validateNirGraph(g1());
    expect(v.issues).toEqual([]);
    expect(v.loads).toBe(true);
    const t = v.types?.nodes;
    expect(t?.get('conv')?.output).toEqual([4, 8, 8]);
    expect(t?.get('pool')?.output).toEqual([4, 4, 4]);
    expect(t?.get('flat')?.output).toEqual([64]);
  });
});

describe('layout rules, one at a time', () => {
  const fresh = () => nirToRaw(g1());

  it('root-node: a file without /node', () => {
    const raw = fresh();
    raw.children.delete('node');
    expect(rulesOf(raw)).toEqual(['root-node']);
  });

  it('version: missing is a warning only (nir.read ignores it)', () => {
    const raw = fresh();
    raw.children.delete('version');
    const issues = parseNirRaw(raw).issues;
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ rule: 'version', severity: 'warning' });
  });

  it('type-dataset: a type stored as an HDF5 attribute is rejected', () => {
    const raw = fresh();
    const lif = nodeOf(raw, 'lif');
    lif.children.delete('type');
    lif.attrs = new Map([['type', 'LIF']]);
    const issues = parseNirRaw(raw).issues;
    expect(issues.map((i) => i.rule)).toContain('type-dataset');
    expect(issues.find((i) => i.rule === 'type-dataset')?.message).toMatch(/attribute/);
  });

  it('known-type: an unknown primitive is named', () => {
    const raw = fresh();
    nodeOf(raw, 'lif').children.set('type', rawString('MaxPool2d'));
    const issues = parseNirRaw(raw).issues.filter((i) => i.severity === 'error');
    expect(issues.map((i) => i.rule)).toEqual(['known-type']);
    expect(issues[0].message).toMatch(/"MaxPool2d"/);
  });

  it('unknown-field: an extra dataset outside metadata is fatal (as Linear(input_type=…) is in nir.read)', () => {
    const raw = fresh();
    nodeOf(raw, 'lif').children.set('dt', rawInt(1));
    expect(rulesOf(raw)).toEqual(['unknown-field']);
    // Conv2d declares no input_type, unlike Affine, which accepts and ignores one.
    const raw2 = fresh();
    nodeOf(raw2, 'conv').children.set('input_type', rawInts([2, 8, 8]));
    expect(rulesOf(raw2)).toEqual(['unknown-field']);
    const raw3 = fresh();
    nodeOf(raw3, 'fc').children.set('input_type', rawInts([64]));
    expect(rulesOf(raw3)).toEqual([]);
  });

  it('required-field: a conv without input_shape, a LIF without tau', () => {
    const raw = fresh();
    nodeOf(raw, 'conv').children.delete('input_shape');
    expect(rulesOf(raw)).toEqual(['required-field']);
    const raw2 = fresh();
    nodeOf(raw2, 'lif').children.delete('tau');
    expect(rulesOf(raw2)).toContain('required-field');
  });

  it('optional fields: v_reset and w_in may be absent (zeros, ones)', () => {
    const raw = fresh();
    nodeOf(raw, 'lif').children.delete('v_reset');
    nodeOf(raw, 'cuba').children.delete('w_in');
    const parsed = parseNirRaw(raw);
    expect(parsed.issues).toEqual([]);
    const lif = parsed.graph.nodes.get('lif');
    const cuba = parsed.graph.nodes.get('cuba');
    expect(lif?.type === 'LIF' && Array.from(lif.vReset.data).every((v) => v === 0)).toBe(true);
    expect(cuba?.type === 'CubaLIF' && Array.from(cuba.wIn.data)).toEqual([1, 1, 1]);
  });

  it('field-form: a string where integers belong, a bad padding string', () => {
    const raw = fresh();
    nodeOf(raw, 'conv').children.set('stride', rawString('2'));
    expect(rulesOf(raw)).toEqual(['field-form']);
    const raw2 = fresh();
    nodeOf(raw2, 'conv').children.set('padding', rawString('full'));
    expect(rulesOf(raw2)).toEqual(['field-form']);
  });

  it('param-shapes: neuron parameters of different shapes', () => {
    const raw = fresh();
    nodeOf(raw, 'lif').children.set('tau', {
      kind: 'dataset',
      dtype: 'float32',
      shape: [4],
      value: new Float32Array(4),
    });
    expect(rulesOf(raw)).toEqual(['param-shapes']);
  });

  it('edges: an edge to a node that does not exist; a dotted name into a nested graph warns', () => {
    const raw = fresh();
    const node = raw.children.get('node') as RawGroup;
    node.children.set('edges', {
      kind: 'dataset',
      dtype: 'string',
      shape: [1, 2],
      value: ['input', 'nowhere'],
    });
    expect(rulesOf(raw)).toEqual(['edges']);
  });

  it('metadata: must be a group', () => {
    const raw = fresh();
    nodeOf(raw, 'lif').children.set('metadata', rawString('x'));
    expect(rulesOf(raw)).toEqual(['metadata']);
  });

  it('flatten: a Flatten that changes the element count', () => {
    const raw = fresh();
    nodeOf(raw, 'flat').children.set('end_dim', rawInt(0));
    nodeOf(raw, 'flat').children.set('start_dim', rawInt(1));
    const parsed = parseNirRaw(raw);
    // [4,4,4] flattened over dims 1..0 is [4, 1, 4, 4]: same count, so NIR accepts the node but not the edge.
    expect(parsed.issues.filter((i) => i.severity === 'error')).toEqual([]);
  });

  it('node-group: a node that is a dataset', () => {
    const raw = fresh();
    (
      ((raw.children.get('node') as RawGroup).children.get('nodes') as RawGroup).children as Map<
        string,
        unknown
      >
    ).set('odd', rawInt(3));
    expect(rulesOf(raw)).toEqual(['node-group']);
  });

  it('documents every rule id it checks', () => {
    expect(Object.keys(NIR_LAYOUT_RULES).sort()).toEqual(
      [
        'edges',
        'field-form',
        'flatten',
        'known-type',
        'metadata',
        'node-group',
        'param-shapes',
        'required-field',
        'root-node',
        'type-dataset',
        'unknown-field',
        'version',
      ].sort(),
    );
  });
});

describe('files', () => {
  it('round-trips through HDF5 bit for bit (arrays, ints, strings, metadata, edges)', async () => {
    const path = join(dir, 'g1.nir');
    await writeNir(path, g1());
    const back = await readNir(path);
    expect(diffNirGraphs(g1(), back.graph)).toEqual([]);
    expect(back.version).toMatch(/^1\.0\./);
    const raw = await readRawHdf5(path);
    expect(nodeOf(raw, 'conv').children.get('weight')).toMatchObject({
      compression: 'gzip',
      dtype: 'float32',
    });
    expect(nodeOf(raw, 'conv').children.get('groups')).toMatchObject({ dtype: 'int64', shape: [] });
  });

  it('refuses to write a graph nir.read would reject, naming the rule; nothing is written', async () => {
    const g = g1();
    g.edges.push(['flat', 'cuba']);
    const path = join(dir, 'bad.nir');
    await expectSpikedriveError(
      () => writeNir(path, g),
      /type-inference.*flat\.output: \[\[64\]\] -> cuba\.input: \[\[3\]\]/,
    );
    await expectSpikedriveError(() => readNir(path), /Cannot read NIR file/);
  });

  it('reads the graphs Norse, Sinabs and snnTorch wrote, and Rockpool’s only without the type check', async () => {
    for (const name of ['lif_norse', 'cnn_sinabs', 'braille_noDelay_noBias_subtract']) {
      const r = await readNir(join(NIR_EXAMPLES, `${name}.nir`));
      expect(r.graph.nodes.size).toBeGreaterThan(2);
    }
    const sinabs = await readNir(join(NIR_EXAMPLES, 'cnn_sinabs.nir'));
    expect(sinabs.version).toBe('0.2.0');
    expect(sinabs.types?.nodes.get('4')?.output).toEqual([16, 8, 8]);
    expect(sinabs.types?.nodes.get('8')?.output).toEqual([128]);
    const braille = await readNir(join(NIR_EXAMPLES, 'braille_noDelay_noBias_subtract.nir'));
    const lif = braille.graph.nodes.get('lif1.lif');
    expect(lif?.type === 'CubaLIF' && lif.tauMem.data instanceof Float64Array).toBe(true);
    await expectSpikedriveError(
      () => readNir(join(NIR_EXAMPLES, 'lif_rockpool.nir')),
      /type check.*1_LIFNeuronTorch\.output: \[\[1\]\] -> output\.input: \[\[1 1 1\]\]/,
      /type_check=False/,
    );
    const rockpool = await readNir(join(NIR_EXAMPLES, 'lif_rockpool.nir'), { typeCheck: false });
    expect([...rockpool.graph.nodes.keys()].sort()).toEqual([
      '0_LinearTorch',
      '1_LIFNeuronTorch',
      'input',
      'output',
    ]);
  });

  it('re-writes a foreign graph so that it reads back the same', async () => {
    const sinabs = await readNir(join(NIR_EXAMPLES, 'cnn_sinabs.nir'));
    const path = join(dir, 'sinabs-again.nir');
    await writeNir(path, sinabs.graph);
    expect(diffNirGraphs(sinabs.graph, (await readNir(path)).graph)).toEqual([]);
  });

  it('names an unsupported primitive in a file', async () => {
    const raw = nirToRaw(g1());
    nodeOf(raw, 'pool').children.set('type', rawString('MaxPool2d'));
    const path = join(dir, 'maxpool.nir');
    const { writeRawHdf5 } = await import('../../../src/offload/nir/hdf5.ts');
    await writeRawHdf5(path, raw);
    await expectSpikedriveError(() => readNir(path), /unsupported NIR primitive "MaxPool2d"/, /primitives/);
    const v = await validateNirFile(path);
    expect(v.loads).toBe(false);
  });

  it('says a file is not HDF5', async () => {
    const path = join(dir, 'text.nir');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, 'not hdf5');
    await expectSpikedriveError(() => readNir(path), /not an HDF5 file/);
  });

  it('keeps the tree helpers consistent', () => {
    const g = rawGroup([['a', rawInts([1, 2])]]);
    expect(g.children.get('a')).toMatchObject({ dtype: 'int64', shape: [2] });
  });
});
