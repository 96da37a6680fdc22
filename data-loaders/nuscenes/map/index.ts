// nuScenes Map Expansion (v1.3) port: `NuScenesMap` (records, patch and point queries, lanes, the
// pixel-exact `getMapMask`), the `BitMap` rasters and the arc-line path utilities.
export {
  curvatureAtDistanceAlongLane,
  discretizeLane,
  discretizePath,
  lengthOfLane,
  poseAtLength,
  principalValue,
  projectPoseToLane,
} from './arcline.ts';
export { BitMap, type BitMapLayer, type BitMapOptions, SEMANTIC_PRIOR_HASHES } from './bitmap.ts';
export type { MapData } from './load.ts';
export type { PatchBox, PolygonRings } from './mask.ts';
export {
  type BoxCoords,
  type LayerGeometry,
  type MapGeometry,
  type MapMaskResult,
  NuScenesMap,
  type NuScenesMapOptions,
  type PatchMode,
} from './nuscenes-map.ts';
export type { Coord } from './predicates.ts';
export * from './types.ts';
