import { describe, expect, it } from 'vitest';
import { inferNirTypes } from '../../../src/offload/nir/infer.ts';
import { filled, type NirGraph, type NirNode, tensor32 } from '../../../src/offload/nir/types.ts';

function graph(nodes: [string, NirNode][], edges: [string, string][]): NirGraph {
  return { type: 'NIRGraph', nodes: new Map(nodes), edges };
}

const lif = (shape: number[]): NirNode => ({
  type: 'LIF',
  tau: filled(shape, 2e-4),
  r: filled(shape, 1),
  vLeak: filled(shape, 0),
  vThreshold: filled(shape, 1),
  vReset: filled(shape, 0),
});

describe('NIR type inference mirror (NIRGraph.infer_types / check_types)', () => {
  it('infers conv output sizes with PyTorch’s formula (stride, padding, dilation)', () => {
    const g = graph(
      [
        ['input', { type: 'Input', shape: [3, 17, 32] }],
        [
          'conv',
          {
            type: 'Conv2d',
            inputShape: null,
            weight: filled([5, 3, 3, 3], 0),
            stride: [2, 2],
            padding: [2, 2],
            dilation: [2, 2],
            groups: 1,
            bias: filled([5], 0),
          },
        ],
        ['output', { type: 'Output', shape: [5, 8, 15] }],
      ],
      [
        ['input', 'conv'],
        ['conv', 'output'],
      ],
    );
    // floor((17 + 4 − 2·2 − 1)/2 + 1) = 9 rows, floor((32 + 4 − 4 − 1)/2 + 1) = 16 columns.
    const r = inferNirTypes(g);
    expect(r.types.nodes.get('conv')?.output).toEqual([5, 9, 16]);
    expect(r.issues[0]?.message).toBe(
      'Type inference error: type mismatch: conv.output: [[5 9 16]] -> output.input: [[5 8 15]]',
    );
  });

  it('reproduces NIR’s square-kernel assumption for conv output sizes (weight.shape[2] for both axes)', () => {
    const g = graph(
      [
        ['input', { type: 'Input', shape: [1, 8, 8] }],
        [
          'conv',
          {
            type: 'Conv2d',
            inputShape: [8, 8],
            weight: filled([1, 1, 3, 1], 0),
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1,
            bias: filled([1], 0),
          },
        ],
      ],
      [['input', 'conv']],
    );
    // A 3×1 kernel gives [1, 6, 8] in PyTorch; NIR computes [1, 6, 6].
    expect(inferNirTypes(g).types.nodes.get('conv')?.output).toEqual([1, 6, 6]);
  });

  it('infers pooling per axis and flatten, and adds the Output a leaf lacks', () => {
    const g = graph(
      [
        ['in', { type: 'Input', shape: [2, 9, 6] }],
        ['pool', { type: 'SumPool2d', kernelSize: [3, 2], stride: [3, 2], padding: [0, 0] }],
        ['flat', { type: 'Flatten', inputType: null, startDim: 0, endDim: -1 }],
      ],
      [
        ['in', 'pool'],
        ['pool', 'flat'],
      ],
    );
    const r = inferNirTypes(g);
    expect(r.issues).toEqual([]);
    expect(r.types.nodes.get('pool')?.output).toEqual([2, 3, 3]);
    expect(r.types.nodes.get('flat')?.output).toEqual([18]);
    expect(r.types.addedNodes).toEqual(['output_flat']);
  });

  it('rejects a root that is not an Input and has no input type', () => {
    const g = graph(
      [['pool', { type: 'SumPool2d', kernelSize: [2, 2], stride: [2, 2], padding: [0, 0] }]],
      [],
    );
    expect(inferNirTypes(g).issues[0]?.message).toMatch(
      /Root node 'pool' of type SumPool2d is not an Input node/,
    );
  });

  it('adds an Input in front of a neuron root (its own shape defines it)', () => {
    const g = graph([['lif', lif([4])]], []);
    const r = inferNirTypes(g);
    expect(r.issues).toEqual([]);
    expect(r.types.addedNodes.sort()).toEqual(['input_lif', 'output_lif']);
  });

  it('checks every edge, including those into a node with several inputs (a residual sum)', () => {
    const g = graph(
      [
        ['input', { type: 'Input', shape: [4] }],
        ['a', lif([4])],
        ['b', { type: 'Affine', weight: tensor32([3, 4], new Array(12).fill(0)), bias: filled([3], 0) }],
        ['sum', lif([4])],
      ],
      [
        ['input', 'a'],
        ['input', 'b'],
        ['a', 'sum'],
        ['b', 'sum'],
      ],
    );
    expect(inferNirTypes(g).issues[0]?.message).toMatch(/b\.output: \[\[3\]\] -> sum\.input: \[\[4\]\]/);
  });

  it('accepts recurrent edges (the Braille graph’s lif ↔ w_rec)', () => {
    const g = graph(
      [
        ['input', { type: 'Input', shape: [2] }],
        ['w', { type: 'Linear', weight: filled([3, 2], 0.5) }],
        ['lif', lif([3])],
        ['rec', { type: 'Linear', weight: filled([3, 3], 0.1) }],
        ['output', { type: 'Output', shape: [3] }],
      ],
      [
        ['input', 'w'],
        ['w', 'lif'],
        ['lif', 'rec'],
        ['rec', 'lif'],
        ['lif', 'output'],
      ],
    );
    expect(inferNirTypes(g).issues).toEqual([]);
  });

  it('cannot follow an edge into a nested graph member (nir.read needs type_check=False there)', () => {
    const inner = graph(
      [
        ['in', { type: 'Input', shape: [2] }],
        ['n', lif([2])],
        ['out', { type: 'Output', shape: [2] }],
      ],
      [
        ['in', 'n'],
        ['n', 'out'],
      ],
    );
    const g = graph(
      [
        ['input', { type: 'Input', shape: [2] }],
        ['G', inner],
        ['output', { type: 'Output', shape: [2] }],
      ],
      [
        ['input', 'G'],
        ['G.n', 'output'],
      ],
    );
    expect(inferNirTypes(g).issues[0]?.message).toMatch(/G\.n.*nested graph/);
  });
});
