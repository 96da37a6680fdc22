import { ATAN_SURROGATE, SIGMOID_SURROGATE } from '../surrogate.ts';
import type { LifNodeOptions } from './node.ts';

/**
 * The LIF flavours SAD instantiates (sad.md §2), all τ = 2, V_th = 1, hard reset to 0, firing at v ≥ θ:
 * - `encoder`: `MS_DownSampling`, `MS_ConvBlock` and the encoder head LIFs: Sigmoid(α=4), detach_reset.
 * - `head`: spiking ASPP/DeepLab head, upsampling blocks and decoder LIFs: ATan(α=2), detach_reset.
 * - `resnet`: bare `MultiStepLIFNode()` in the decoder and future-prediction ResNet blocks: Sigmoid(4), no detach.
 * - `dualPathway`: the dual pathway's single-step `LIFNode(surrogate_function=ATan())`: ATan(2), no detach.
 */
export const SAD_NEURONS = Object.freeze({
  encoder: Object.freeze({ surrogate: SIGMOID_SURROGATE, detachReset: true } satisfies LifNodeOptions),
  head: Object.freeze({ surrogate: ATAN_SURROGATE, detachReset: true } satisfies LifNodeOptions),
  resnet: Object.freeze({ surrogate: SIGMOID_SURROGATE, detachReset: false } satisfies LifNodeOptions),
  dualPathway: Object.freeze({
    surrogate: ATAN_SURROGATE,
    detachReset: false,
    stepMode: 'single-step',
  } satisfies LifNodeOptions),
});
