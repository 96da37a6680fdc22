// The neuromorphic and FPGA offload path: NIR export/import in the exact layout nir.read accepts, the NIR
// simulator back end, target-fit checks, fixed-point/ternary FPGA export with a cycle/energy model, the
// accelerator wire protocol, and bottleneck layers for inter-chip traffic.

export {
  exportToNir,
  formatPartitionReport,
  type NirExport,
  type NirExportOptions,
  type PartitionReport,
  type PartitionSummary,
  summarisePartition,
} from './export/export.ts';
export {
  child,
  concatConv,
  convBn,
  hasChild,
  type LayerHandler,
  nirHandlerFor,
  registerNirHandler,
  trace,
} from './export/layers.ts';
export {
  type BoundaryEntry,
  NirTracer,
  type PartitionEntry,
  type Placement,
  type Sym,
  type SymHost,
  type SymNir,
} from './export/tracer.ts';
export { NEURON_PARAMS, NIR_FIELDS, type NirFieldSet } from './nir/fields.ts';
export {
  hdf5Ready,
  type RawDataset,
  type RawDtype,
  type RawEntry,
  type RawGroup,
  rawGroup,
  rawInt,
  rawInts,
  rawString,
  readRawHdf5,
  readRawHdf5Bytes,
  writeRawHdf5,
} from './nir/hdf5.ts';
export { type InferredTypes, inferNirTypes } from './nir/infer.ts';
export {
  diffNirGraphs,
  type NirValidation,
  nirBytes,
  type ReadNirOptions,
  type ReadNirResult,
  readNir,
  readNirBytes,
  validateNirFile,
  validateNirGraph,
  type WriteNirOptions,
  writeNir,
} from './nir/io.ts';
export {
  float32Below,
  heavisideToNir,
  neuronMetadata,
  neuronParamsFromMetadata,
  neuronToNir,
  nirThreshold,
  SPIKEDRIVE_META,
} from './nir/neurons.ts';
export {
  flattenShape,
  NIR_LAYOUT_RULES,
  type NirIssue,
  type NirLayoutRule,
  type NirWriteOptions,
  nirToRaw,
  type ParsedNir,
  parseNirRaw,
} from './nir/serialize.ts';
export * from './nir/types.ts';
export { AcceleratorClient, type ClientOptions } from './protocol/client.ts';
export {
  AcceleratorError,
  DEFAULT_MAX_FRAME_BYTES,
  type DecodedFrame,
  decodeFrame,
  decodeTensors,
  ERROR_CODES,
  type ErrorCode,
  encodeFrame,
  encodeTensors,
  FRAME_MAGIC,
  type Header,
  isBinary,
  MalformedFrameError,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  packBits,
  type TensorMeta,
  unpackBits,
  type WireTensor,
} from './protocol/protocol.ts';
export {
  type AcceleratorServer,
  type AcceleratorServerOptions,
  startAcceleratorServer,
} from './protocol/server.ts';
export { SyncAcceleratorClient } from './protocol/sync-client.ts';
export {
  installOffload,
  isOffloadable,
  type OffloadHandle,
  type OffloadOptions,
  type OffloadStats,
  offloadableBlocks,
  parseOffloadSpecs,
} from './runtime.ts';
export { internalShape, nirShapeOf, tensorToChannelsFirst, tensorToChannelsLast } from './sim/layout.ts';
export { type NirRunResult, type NirSimOptions, NirSimulator, type NodeActivity } from './sim/simulator.ts';

import './export/stages.ts';

export {
  type BottleneckFitResult,
  BoundaryBottleneck,
  type BoundaryBottleneckOptions,
  type BoundaryTraffic,
  fitBottleneck,
  formatSweep,
  type SweepPoint,
  spikeBits,
  sweepBottleneck,
} from './bottleneck.ts';
export type { ProbeExport } from './export/stages.ts';
export { exportByProbe, HOST_REASONS } from './export/stages.ts';
export {
  type BlobRef,
  blobArray,
  FPGA_MANIFEST_VERSION,
  type FpgaManifest,
  fpgaBundle,
  type ManifestPopulation,
  type ManifestProjection,
  packTernary,
  readFpgaBundle,
  unpackTernary,
  writeFpgaBundle,
} from './fpga/bundle.ts';
export {
  DEFAULT_FPGA,
  type FpgaArchitecture,
  type FpgaCostReport,
  type FpgaLayerCost,
  formatFpgaCost,
  fpgaCost,
} from './fpga/cycles.ts';
export {
  buildFixedModel,
  type FixedModel,
  type FixedPopulation,
  type FixedProjection,
  type FpgaQuantOptions,
  type FpgaWeightScheme,
  fixedWeightBits,
} from './fpga/model.ts';
export { type FixedRunResult, runFixedModel } from './fpga/runner.ts';
export { emitSpikingConvVerilog, type VerilogLayer } from './fpga/verilog.ts';
export {
  checkModule,
  exportModule,
  installModelOffload,
  islands,
  type ModelOffload,
  type ModuleExport,
  mergeExports,
  moduleActivity,
  OFFLOAD_MODULES,
  type OffloadModule,
  parseOffloadModule,
  probeBatch,
  runModelOnce,
  stageModules,
} from './sad.ts';
export {
  type ChipUse,
  checkTarget,
  formatTargetCheck,
  type PopulationPlacement,
  speckKernelEntries,
  type TargetCheckOptions,
  type TargetCheckReport,
  type Traffic,
} from './targets/check.ts';
export {
  type ConvGeometry,
  firingRatesFrom,
  type GraphPopulations,
  graphPopulations,
  NEURON_TYPES,
  type Population,
  type Projection,
} from './targets/populations.ts';
export {
  type CitedValue,
  type ConvSupport,
  getTargetProfile,
  listTargetProfiles,
  TARGET_PROFILES,
  type TargetLimits,
  type TargetProfile,
  type TargetTiming,
} from './targets/profiles.ts';
