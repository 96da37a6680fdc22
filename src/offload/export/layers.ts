import * as tf from '@tensorflow/tfjs';
import {
  BatchNorm2d,
  Conv2d,
  fakeQuantWeight,
  foldBatchNorm,
  GlobalAvgPool,
  HeavisideActivation,
  hwioToOihw,
  LifNode,
  type Linear,
  MaxPool2d,
  type SewBasicBlock,
  type SnnModule,
} from '../../snn/index.ts';
import { SpikedriveError } from '../../util/errors.ts';
import type { NirConv2d, NirMetadata } from '../nir/types.ts';
import type { NirTracer, Sym, SymNir } from './tracer.ts';

/**
 * How each `src/snn` layer kind maps to NIR. A handler receives the block and its input values and returns its
 * output value, adding NIR nodes (or host crossings) to the tracer. Handlers follow each block's `forward` exactly;
 * they find the block's layers by their checkpoint keys (`conv1.0.0`, `neuron2`, …).
 */
export type LayerHandler = (tr: NirTracer, module: SnnModule, inputs: Sym[]) => Sym;

const handlers = new Map<string, LayerHandler>();

/** Registers (or replaces) the NIR mapping of a layer kind; stage modules add theirs the same way. */
export function registerNirHandler(kind: string, handler: LayerHandler): void {
  handlers.set(kind, handler);
}

export function nirHandlerFor(kind: string): LayerHandler | undefined {
  return handlers.get(kind);
}

/** A child layer by its checkpoint key, typed. */
export function child<T extends SnnModule>(
  module: SnnModule,
  key: string,
  type?: abstract new (...args: never[]) => T,
): T {
  const found = module.children().find(([k]) => k === key)?.[1];
  if (found === undefined || (type !== undefined && !(found instanceof type))) {
    throw new SpikedriveError(
      `${module.name || module.kind} has no ${type?.name ?? 'layer'} "${key}" the NIR exporter expects`,
      {
        subject: `${module.name}.${key}`,
        fix: 'The block no longer matches its exporter; update src/offload/export for this block kind.',
      },
    );
  }
  return found as T;
}

export function hasChild(module: SnnModule, key: string): boolean {
  return module.children().some(([k]) => k === key);
}

function paramCount(...modules: (SnnModule | null)[]): number {
  return modules.reduce((s, m) => s + (m === null ? 0 : m.parameterCount()), 0);
}

/** Traces any layer: its registered handler, or a host placement naming the missing mapping. */
export function trace(tr: NirTracer, module: SnnModule, inputs: Sym[]): Sym {
  if (module.training) {
    throw new SpikedriveError(`${module.name || module.kind} is in training mode`, {
      subject: module.name || module.kind,
      fix: 'Export a model in eval mode (running BN statistics, no dropout): call .eval() first.',
    });
  }
  const handler = handlers.get(module.kind);
  if (handler !== undefined) return handler(tr, module, inputs);
  const out = inputs[0];
  if (out === undefined) {
    throw new SpikedriveError(`No input reaches ${module.name || module.kind}`, {
      subject: module.name,
      fix: 'Report this exporter bug.',
    });
  }
  return tr.host(
    module.name,
    module.kind,
    `no NIR mapping for layer kind "${module.kind}" (its output shape is assumed equal to its input's)`,
    inputs,
    out.shape,
    false,
    module.parameterCount(),
  );
}

function convOutShape(conv: Conv2d, input: number[]): number[] {
  const [, h, w] = input;
  const out = (n: number, i: 0 | 1) =>
    Math.floor(
      (n + 2 * conv.padding[i] - conv.dilation[i] * (conv.kernelSize[i] - 1) - 1) / conv.stride[i] + 1,
    );
  return [conv.outChannels, out(h, 0), out(w, 1)];
}

/**
 * A conv (with its BN folded in, as the tfjs path runs it in eval) as a NIR Conv2d. The folded weights are the
 * very values `ConvBn` uses (`foldBatchNorm`), so nir-sim reproduces the tfjs convolution bit for bit. A
 * fake-quantised conv exports its quantised weight times the BN scale (the tfjs path runs conv → BN there, so
 * float rounding differs slightly; see docs/offload.md for the tolerance).
 */
export function convBn(
  tr: NirTracer,
  conv: Conv2d,
  bn: BatchNorm2d | null,
  input: Sym,
  channelRange?: [number, number],
  withBias = true,
  nameSuffix = '',
): SymNir {
  const x = tr.toNir(input, conv.name);
  const inChannels = channelRange === undefined ? conv.inChannels : channelRange[1] - channelRange[0];
  if (x.shape.length !== 3 || x.shape[0] !== inChannels) {
    throw new SpikedriveError(
      `${conv.name} expects [${inChannels}, H, W] input, got [${x.shape.join(', ')}]`,
      {
        subject: conv.name,
        fix: 'The traced input shape does not match the conv; check the export input shape.',
      },
    );
  }
  const { weight, bias } = tf.tidy(() => {
    let w: tf.Tensor4D;
    let b: tf.Tensor1D;
    if (bn !== null && conv.weightQuant === null) {
      const folded = foldBatchNorm(conv, bn);
      w = folded.weight;
      b = folded.bias;
    } else {
      const base = (
        conv.weightQuant === null ? conv.weight : fakeQuantWeight(conv.weight, conv.weightQuant)
      ) as tf.Tensor4D;
      if (bn === null) {
        w = base;
        b = (conv.bias ?? tf.zeros([conv.outChannels])) as tf.Tensor1D;
      } else {
        const { scale, shift } = bn.affine();
        w = tf.mul(base, scale) as tf.Tensor4D;
        b = (conv.bias === null ? shift : tf.add(tf.mul(conv.bias, scale), shift)) as tf.Tensor1D;
      }
    }
    if (channelRange !== undefined) w = tf.slice(w, [0, 0, channelRange[0], 0], [-1, -1, inChannels, -1]);
    const oihw = hwioToOihw(w);
    return {
      weight: { shape: [...oihw.shape], data: Float32Array.from(oihw.dataSync()) },
      bias: withBias ? Float32Array.from(b.dataSync()) : new Float32Array(conv.outChannels),
    };
  });
  const meta: NirMetadata = { layer: conv.name };
  if (bn !== null) meta.folded_batchnorm = bn.name;
  if (channelRange !== undefined) meta.input_channels = channelRange;
  if (conv.weightQuant !== null) {
    meta.weight_quant = conv.weightQuant.scheme === 'ternary' ? 'ternary' : `int${conv.weightQuant.bits}`;
  }
  const node: NirConv2d = {
    type: 'Conv2d',
    inputShape: [x.shape[1], x.shape[2]],
    weight,
    stride: [...conv.stride],
    padding: [...conv.padding],
    dilation: [...conv.dilation],
    groups: 1,
    bias: { shape: [conv.outChannels], data: bias },
    metadata: { spikedrive: meta },
  };
  const name = tr.addNode(`${conv.name}${nameSuffix}`, node, x);
  const outShape = convOutShape(conv, [conv.inChannels, x.shape[1], x.shape[2]]);
  if (channelRange === undefined || channelRange[0] === 0) {
    tr.nir(
      conv.name,
      'conv2d',
      bn === null ? 'Conv2d' : `Conv2d with ${bn.name} folded in`,
      [name],
      paramCount(conv),
    );
    if (bn !== null) tr.nir(bn.name, 'batchnorm', `folded into ${conv.name}`, [name], paramCount(bn));
  } else {
    const entry = tr.entries.find((e) => e.layer === conv.name);
    entry?.nirNodes.push(name);
  }
  return { side: 'nir', shape: outShape, terms: [name], spiking: false };
}

/** A LIF/IF layer: NIR LIF/IF, or the host for a single-step neuron the host loop drives. */
function lifHandler(tr: NirTracer, module: SnnModule, [x]: Sym[]): Sym {
  const lif = module as LifNode;
  if (lif.stepMode === 'single-step') {
    return tr.host(
      lif.name,
      lif.kind,
      'single-step neuron driven step by step by a host loop (its membrane may be set by the host, e.g. the dual pathway’s softmax initialisation)',
      [x],
      x.shape,
      true,
    );
  }
  return tr.neuron(lif.name, lif.params, x);
}

handlers.set('lif', lifHandler);
handlers.set('if', lifHandler);
handlers.set('heaviside', (tr, m, [x]) => tr.heaviside(m.name, (m as HeavisideActivation).firing, x));
handlers.set('dropout', (tr, m, [x]) => {
  // Identity in eval mode; nothing to export.
  tr.nir(m.name, 'dropout', 'identity in eval mode (no node)', [], 0);
  return x;
});
handlers.set('conv2d', (tr, m, [x]) => convBn(tr, m as Conv2d, null, x));
handlers.set('batchnorm', (tr, m, [x]) => {
  // A BN on its own (not after a conv): a depthwise 1×1 conv, weight γ/√(σ²+ε), bias β − μ·weight (x·s + t exactly).
  const bn = m as BatchNorm2d;
  const v = tr.toNir(x, bn.name);
  const { scale, shift } = bn.affine();
  const s = Float32Array.from(scale.dataSync());
  const t = Float32Array.from(shift.dataSync());
  tf.dispose([scale, shift]);
  const c = bn.numFeatures;
  const name = tr.addNode(
    bn.name,
    {
      type: 'Conv2d',
      inputShape: [v.shape[1], v.shape[2]],
      weight: { shape: [c, 1, 1, 1], data: s },
      stride: [1, 1],
      padding: [0, 0],
      dilation: [1, 1],
      groups: c,
      bias: { shape: [c], data: t },
      metadata: { spikedrive: { layer: bn.name, batchnorm: 1 } },
    },
    v,
  );
  tr.nir(bn.name, 'batchnorm', 'depthwise 1×1 Conv2d (eval-mode BN on its own)', [name], paramCount(bn));
  return { side: 'nir', shape: v.shape, terms: [name], spiking: false };
});
handlers.set('linear', (tr, m, [x]) => {
  const lin = m as Linear;
  const v = tr.toNir(x, lin.name);
  if (v.shape.length !== 1 || v.shape[0] !== lin.inFeatures) {
    return tr.host(
      lin.name,
      'linear',
      `applied to a [${v.shape.join(', ')}] map (NIR Affine takes vectors)`,
      [x],
      [...x.shape.slice(0, -1), lin.outFeatures],
      false,
      paramCount(lin),
    );
  }
  const w = tf.tidy(() => {
    const eff = lin.weightQuant === null ? lin.weight : fakeQuantWeight(lin.weight, lin.weightQuant);
    return Float32Array.from(tf.transpose(eff).dataSync());
  });
  const weight = { shape: [lin.outFeatures, lin.inFeatures], data: w };
  const meta = { spikedrive: { layer: lin.name } };
  const node =
    lin.bias === null
      ? { type: 'Linear' as const, weight, metadata: meta }
      : {
          type: 'Affine' as const,
          weight,
          bias: { shape: [lin.outFeatures], data: Float32Array.from(lin.bias.dataSync()) },
          metadata: meta,
        };
  const name = tr.addNode(lin.name, node, v);
  tr.nir(lin.name, 'linear', node.type, [name], paramCount(lin));
  return { side: 'nir', shape: [lin.outFeatures], terms: [name], spiking: false };
});
handlers.set('upsample', (tr, m, [x]) =>
  tr.host(
    m.name,
    'upsample',
    'bilinear upsampling has no NIR primitive',
    [x],
    [x.shape[0], x.shape[1] * 2, x.shape[2] * 2],
    false,
  ),
);
handlers.set('activation', (tr, m, [x]) =>
  tr.host(m.name, 'activation', 'ReLU/sigmoid/tanh have no NIR primitive', [x], x.shape, false),
);
handlers.set('pool', (tr, m, [x]) => {
  if (m instanceof MaxPool2d) {
    const out = (n: number) => Math.floor((n - m.kernelSize) / m.stride + 1);
    return tr.host(
      m.name,
      'maxpool',
      'NIR has no max pooling',
      [x],
      [x.shape[0], out(x.shape[1]), out(x.shape[2])],
      x.spiking,
    );
  }
  if (m instanceof GlobalAvgPool) {
    const v = tr.toNir(x, m.name);
    const [, h, w] = v.shape;
    const name = tr.addNode(
      m.name,
      {
        type: 'AvgPool2d',
        kernelSize: [h, w],
        stride: [h, w],
        padding: [0, 0],
        metadata: { spikedrive: { layer: m.name } },
      },
      v,
    );
    tr.nir(m.name, 'pool', 'AvgPool2d over the whole map', [name], 0);
    return { side: 'nir', shape: [v.shape[0], 1, 1], terms: [name], spiking: false };
  }
  return tr.host(m.name, 'pool', 'unknown pooling layer', [x], x.shape, false);
});

handlers.set('ms_downsampling', (tr, m, [x]) => {
  const lif = hasChild(m, 'encode_lif') ? child(m, 'encode_lif', LifNode) : null;
  const s = lif === null ? x : trace(tr, lif, [x]);
  return convBn(tr, child(m, 'encode_conv', Conv2d), child(m, 'encode_bn', BatchNorm2d), s);
});

handlers.set('ms_conv_block', (tr, m, [x]) => {
  const unit = (key: string, input: Sym) =>
    convBn(tr, child(m, `${key}.0.0`, Conv2d), child(m, `${key}.0.1`, BatchNorm2d), input);
  const s1 = trace(tr, child(m, 'neuron1', LifNode), [x]);
  const y = tr.add(unit('conv1', s1), x, m.name);
  const s2 = trace(tr, child(m, 'neuron2', LifNode), [y]);
  const c2 = unit('conv2', s2);
  const s3 = trace(tr, child(m, 'neuron3', LifNode), [c2]);
  return tr.add(unit('conv3', s3), y, m.name);
});

handlers.set('ms_resnet_block', (tr, m, [x]) => {
  const s1 = trace(tr, child(m, 'sn1', LifNode), [x]);
  const c1 = convBn(tr, child(m, 'conv1', Conv2d), child(m, 'bn1', BatchNorm2d), s1);
  const s2 = trace(tr, child(m, 'sn2', LifNode), [c1]);
  const c2 = convBn(tr, child(m, 'conv2', Conv2d), child(m, 'bn2', BatchNorm2d), s2);
  let identity = x;
  if (hasChild(m, 'downsample.0')) {
    const ds = trace(tr, child(m, 'downsample_sn', LifNode), [x]);
    identity = convBn(tr, child(m, 'downsample.0', Conv2d), child(m, 'downsample.1', BatchNorm2d), ds);
  }
  return tr.add(identity, c2, m.name);
});

handlers.set('sew_basic_block', (tr, m, [x]) => {
  const block = m as SewBasicBlock;
  const c1 = convBn(tr, child(m, 'conv1', Conv2d), child(m, 'bn1', BatchNorm2d), x);
  const s1 = trace(tr, child(m, 'sn1', LifNode), [c1]);
  const c2 = convBn(tr, child(m, 'conv2', Conv2d), child(m, 'bn2', BatchNorm2d), s1);
  const s2 = trace(tr, child(m, 'sn2', LifNode), [c2]);
  let identity = x;
  if (hasChild(m, 'downsample.0')) {
    const dc = convBn(tr, child(m, 'downsample.0', Conv2d), child(m, 'downsample.1', BatchNorm2d), x);
    identity = trace(tr, child(m, 'downsample_sn', LifNode), [dc]);
  }
  if (block.connect === 'ADD') return tr.add(identity, s2, m.name);
  return tr.host(
    `${m.name}.sew_${block.connect.toLowerCase()}`,
    'sew_connect',
    `SEW ${block.connect} multiplies spike maps; NIR has no element-wise product`,
    [identity, s2],
    s2.shape,
    true,
  );
});

handlers.set('sequential', (tr, m, [x]) => {
  let v = x;
  for (const [, layer] of m.children()) v = trace(tr, layer, [v]);
  return v;
});

handlers.set('spiking_bottleneck', (tr, m, [x]) => {
  const stage = (conv: string, bn: string, act: string, input: Sym) =>
    trace(tr, child(m, act, HeavisideActivation), [
      convBn(tr, child(m, conv, Conv2d), child(m, bn, BatchNorm2d), input),
    ]);
  const s1 = stage('layers.conv_down_project', 'layers.abn_down_project.0', 'layers.abn_down_project.1', x);
  const s2 = stage('layers.conv', 'layers.abn.0', 'layers.abn.1', s1);
  const s3 = stage('layers.conv_up_project', 'layers.abn_up_project.0', 'layers.abn_up_project.1', s2);
  const residual = trace(tr, child(m, 'layers.dropout'), [s3]);
  let shortcut = x;
  if (hasChild(m, 'projection.conv_skip_proj')) {
    let skipIn: Sym = x;
    if (hasChild(m, 'projection.upsample_skip_proj')) {
      const [c, h, w] = x.shape;
      const padded = tr.host(
        `${m.name}.pad_to_even`,
        'pad',
        'zero padding to even size has no NIR primitive (kept with the max pool)',
        [x],
        [c, h + (h % 2), w + (w % 2)],
        x.spiking,
      );
      skipIn = trace(tr, child(m, 'projection.upsample_skip_proj'), [padded]);
    }
    shortcut = convBn(
      tr,
      child(m, 'projection.conv_skip_proj', Conv2d),
      child(m, 'projection.bn_skip_proj', BatchNorm2d),
      skipIn,
    );
  }
  return tr.add(residual, shortcut, m.name);
});

handlers.set('spiking_aspp_conv', (tr, m, [x]) =>
  trace(tr, child(m, '2', LifNode), [convBn(tr, child(m, '0.0', Conv2d), child(m, '1.0', BatchNorm2d), x)]),
);

handlers.set('spiking_aspp_pooling', (tr, m, [x]) => {
  const pooled = trace(tr, child(m, '0.0'), [x]);
  const c = convBn(tr, child(m, '1.0', Conv2d), child(m, '2.0', BatchNorm2d), pooled);
  const s = trace(tr, child(m, '3', LifNode), [c]);
  return tr.host(
    `${m.name}.broadcast`,
    'broadcast',
    'broadcasting the pooled 1×1 spikes back to H×W has no NIR primitive',
    [s],
    [s.shape[0], x.shape[1], x.shape[2]],
    true,
  );
});

/**
 * A channel concatenation feeding a conv: NIR has no Concat, but conv(concat(a, b)) = conv_a(a) + conv_b(b) with
 * the weight split along its input channels, and NIR adds the edges into a node. Exact in real arithmetic; in
 * float32 the partial sums are added in a different order than one conv over the concatenation.
 */
export function concatConv(
  tr: NirTracer,
  parts: Sym[],
  conv: Conv2d,
  bn: BatchNorm2d | null,
  where: string,
): SymNir {
  let offset = 0;
  const terms: string[] = [];
  let shape: number[] = [];
  parts.forEach((part, i) => {
    const c = part.shape[0];
    const out = convBn(tr, conv, bn, part, [offset, offset + c], i === 0, i === 0 ? '' : `#in${offset}`);
    terms.push(...out.terms);
    shape = out.shape;
    offset += c;
  });
  if (offset !== conv.inChannels) {
    throw new SpikedriveError(
      `${where}: concatenated ${offset} channels feed ${conv.name}, which takes ${conv.inChannels}`,
      {
        subject: where,
        fix: 'Report this exporter bug.',
      },
    );
  }
  const entry = tr.entries.find((e) => e.layer === conv.name);
  if (entry !== undefined && parts.length > 1) {
    entry.reason += `; the channel concatenation in front is split into ${parts.length} input-channel slices summed at the next node (exact in real arithmetic, float32 sums in another order)`;
  }
  return { side: 'nir', shape, terms, spiking: false };
}

handlers.set('spiking_aspp', (tr, m, [x]) => {
  const branches = m
    .children()
    .filter(([k]) => k.startsWith('convs.'))
    .map(([, b]) => trace(tr, b, [x]));
  const c = concatConv(
    tr,
    branches,
    child(m, 'project.0.0', Conv2d),
    child(m, 'project.1.0', BatchNorm2d),
    m.name,
  );
  const s = trace(tr, child(m, 'project.2', LifNode), [c]);
  return trace(tr, child(m, 'project.3'), [s]);
});

handlers.set('spiking_deeplab_head', (tr, m, [x]) => {
  const a = trace(tr, child(m, '0'), [x]);
  const c = convBn(tr, child(m, '1.0', Conv2d), child(m, '2.0', BatchNorm2d), a);
  const s = trace(tr, child(m, '3', LifNode), [c]);
  return convBn(tr, child(m, '4.0', Conv2d), null, s);
});

handlers.set('spiking_upsampling_add', (tr, m, [x, skip]) => {
  const u = trace(tr, child(m, 'upsample_layer.0'), [x]);
  const s = trace(tr, child(m, 'upsample_layer.1', LifNode), [u]);
  const c = convBn(
    tr,
    child(m, 'upsample_layer.2.0', Conv2d),
    child(m, 'upsample_layer.3.0', BatchNorm2d),
    s,
  );
  return skip === undefined ? c : tr.add(c, skip, m.name);
});

handlers.set('spiking_upsampling_concat', (tr, m, [x, other]) => {
  const u = trace(tr, child(m, 'upsample'), [x]);
  const parts = other === undefined ? [u] : [other, u];
  const cat = tr.host(
    `${m.name}.concat`,
    'concat',
    'channel concatenation feeding a neuron (not a conv) has no NIR form',
    parts,
    [parts.reduce((s, p) => s + p.shape[0], 0), u.shape[1], u.shape[2]],
    false,
  );
  const s0 = trace(tr, child(m, 'conv.0', LifNode), [cat]);
  const c1 = convBn(tr, child(m, 'conv.1', Conv2d), child(m, 'conv.2', BatchNorm2d), s0);
  const s1 = trace(tr, child(m, 'conv.3', LifNode), [c1]);
  const c2 = convBn(tr, child(m, 'conv.4', Conv2d), child(m, 'conv.5', BatchNorm2d), s1);
  return trace(tr, child(m, 'conv.6', LifNode), [c2]);
});

handlers.set('merge_upsampling_concat', (tr, m, [coarse, x]) => {
  const out = [0, 0, 0];
  const conv2 = child(m, 'conv.2', Conv2d);
  out[0] = conv2.outChannels;
  const ref = x ?? coarse;
  return tr.host(
    m.name,
    'merge_upsampling_concat',
    'ANN head on spike rates averaged over T (bilinear upsampling, concatenation, conv → BN → conv → BN): runs once per frame, not per SNN step',
    x === undefined ? [coarse] : [coarse, x],
    [conv2.outChannels, ref.shape[1], ref.shape[2]],
    false,
    m.parameterCount(),
  );
});

handlers.set('spiking_gru_cell', (tr, m, inputs) => {
  const hidden = (m as unknown as { hiddenSize: number }).hiddenSize;
  return tr.host(
    m.name,
    'spiking_gru_cell',
    'GRU gating multiplies r ⊙ (W_hh h) and mixes (1 − z)·n + z·h; NIR has no element-wise product',
    inputs,
    [hidden],
    false,
    m.parameterCount(),
  );
});
