// Named spiking layers with reference checkpoint names: the generic ones (conv, BN, linear, pooling) and the SAD
// blocks (MS down-sampling/conv block, MS-ResNet and SEW blocks, spiking bottleneck, spiking GRU, ASPP/DeepLab
// head, upsample-add/concat).
export { SpikingAspp, SpikingAsppConv, SpikingAsppPooling, SpikingDeepLabHead } from './aspp.ts';
export {
  BatchNorm2d,
  type BatchNormOptions,
  ConvBn,
  foldBatchNorm,
  foldedConvBnTorch,
  SAD_BN_MOMENTUM,
} from './batchnorm.ts';
export { SpikingBottleneck, type SpikingBottleneckOptions } from './bottleneck.ts';
export { Conv2d, type Conv2dOptions, foldTime, type Pair, unfoldTime, weightBits } from './conv.ts';
export { SpikingGruCell, type SpikingGruCellOptions } from './gru.ts';
export { layerRng, truncatedNormalTensor, uniformTensor } from './init.ts';
export {
  hwioArrayToOihw,
  hwioToOihw,
  ioToLinear,
  linearToIo,
  nchwToNhwc,
  nhwcToNchw,
  oihwArrayToHwio,
  oihwToHwio,
} from './layout.ts';
export { Linear, type LinearOptions } from './linear.ts';
export {
  type ForwardContext,
  type LoadReport,
  type ParameterInfo,
  type ParamLayout,
  SnnModule,
  type StateTensor,
  sizeOf,
} from './module.ts';
export {
  MsConvBlock,
  type MsConvBlockOptions,
  MsDownSampling,
  type MsDownSamplingOptions,
} from './ms-blocks.ts';
export {
  Activation,
  Dropout,
  GlobalAvgPool,
  MaxPool2d,
  padToEven,
  resizeBilinearTorch,
  Upsample,
} from './ops.ts';
export {
  BlockSequence,
  BlockSequence as Sequential,
  MsResNetBlock,
  msResNetLayer,
  type ResNetBlockOptions,
  SewBasicBlock,
  type SewConnect,
  sewResNetLayer,
} from './resnet.ts';
export { MergeUpsamplingConcat, SpikingUpsamplingAddMs, SpikingUpsamplingConcat } from './upsample.ts';
