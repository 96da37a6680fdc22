import { Conv2d } from '../layers/conv.ts';
import { hwioToOihw, ioToLinear } from '../layers/layout.ts';
import { Linear } from '../layers/linear.ts';
import type { SnnModule } from '../layers/module.ts';
import { type AppliedQuant, applyQuantConfig, type QuantConfig } from './config.ts';
import { type IntegerWeights, quantizeWeightArray } from './weight.ts';

/** One quantised weight tensor, in PyTorch layout (OIHW / [out, in]) so an exporter can name and ship it as is. */
export interface QuantizedWeightExport extends IntegerWeights {
  /** Checkpoint name of the weight, e.g. `decoder.layer1.0.conv1.weight`. */
  name: string;
  /** Checkpoint name of the layer. */
  layer: string;
  /** PyTorch-layout shape; scales run along axis 0 (output channels) unless `scaleAxis` is −1 (per tensor). */
  shape: number[];
  /** Biases stay float32 (they are added once per output, not per synapse). */
  bias: Float32Array | null;
}

/**
 * Integer weights and scales of every conv/linear layer under `root` that has a weight quantisation spec, computed
 * from the current float weights (post-training quantisation needs no data for weights: the scales are the
 * per-channel absmax, or mean|W| for ternary). Dequantising them gives exactly the weights the fake-quantised
 * forward pass uses.
 */
export function exportQuantizedWeights(root: SnnModule): QuantizedWeightExport[] {
  const out: QuantizedWeightExport[] = [];
  for (const module of root.modules()) {
    if (!(module instanceof Conv2d || module instanceof Linear)) continue;
    const spec = module.weightQuant;
    if (spec === null) continue;
    const torch = module instanceof Conv2d ? hwioToOihw(module.weight) : ioToLinear(module.weight);
    const data = torch.dataSync() as Float32Array;
    const shape = [...torch.shape];
    torch.dispose();
    const q = quantizeWeightArray(data, shape, spec, 0);
    out.push({
      ...q,
      name: `${module.name}.weight`,
      layer: module.name,
      shape,
      bias: module.bias === null ? null : (module.bias.dataSync() as Float32Array).slice(),
    });
  }
  return out;
}

/**
 * Post-training quantisation in one call: applies `config` (so the forward pass runs on the quantised grid) and
 * returns the integer export. No retraining; activations use dynamic per-token scales, so no calibration data is
 * needed either.
 */
export function postTrainingQuantize(
  root: SnnModule,
  config: QuantConfig,
): { applied: AppliedQuant[]; weights: QuantizedWeightExport[] } {
  const applied = applyQuantConfig(root, config);
  return { applied, weights: exportQuantizedWeights(root) };
}

/** Bytes the quantised weights occupy (values at their bit width, plus float32 scales). */
export function quantizedWeightBytes(weights: readonly QuantizedWeightExport[]): number {
  return weights.reduce((sum, w) => sum + (w.values.length * w.bits) / 8 + w.scales.length * 4, 0);
}
