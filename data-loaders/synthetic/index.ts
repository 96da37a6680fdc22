// The synthetic nuScenes world: a procedural town with traffic, written as a complete nuScenes release
// (13 tables, camera JPEGs, lidar sweeps, map expansion, CAN bus) so the same code paths serve real data.
// `generateSyntheticDataset` writes any size of world; `ensureDemoDataset` makes the embedded demo on first use.
export { AGENT_CLASSES, type AgentKind, NUSCENES_CATEGORIES, visibilityToken } from './classes.ts';
export {
  DEMO_ARGUMENTS,
  type DemoDataset,
  type DemoOptions,
  demoCacheFolder,
  demoLockPath,
  ensureDemoDataset,
} from './demo.ts';
export {
  ANNOTATION_RANGE_M,
  DEFAULT_SAMPLES_PER_SCENE,
  generateSyntheticDataset,
  SEMANTIC_PRIOR_FILES,
  type SynthOptions,
  type SynthPreview,
  type SynthProgress,
  type SynthResult,
  sceneLocation,
  simulateWorldScene,
  worldNetwork,
} from './generate.ts';
export { buildMapExpansion, type MapExpansionJson } from './map-expansion.ts';
export { buildNetwork, type SyntheticNetwork } from './network.ts';
export {
  MANIFEST_NAME,
  PARTIAL_MARKER_NAME,
  readManifest,
  type SynthArguments,
  type SynthManifest,
} from './output.ts';
export { type CameraJobResult, sumCameraCounts } from './render-job.ts';
export { IMAGE_HEIGHT, IMAGE_WIDTH, RIG_CAMERAS, RIG_LIDAR, RIG_SENSORS } from './rig.ts';
export { SYNTH_VERSIONS, type SynthVersion, sceneNames } from './scene-names.ts';
export {
  type AgentTrack,
  agentPoseAt,
  EGO_LENGTH_M,
  EGO_WIDTH_M,
  egoStateAt,
  type SimulationResult,
} from './traffic.ts';
