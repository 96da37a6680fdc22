// Reference SAD / ST-P3 evaluation metrics over plain typed arrays: BEV IoU, temporally consistent
// panoptic quality with the predicted-instance post-processing, and open-loop planning L2 / collision under
// the ST-P3 and UniAD conventions. Every metric accumulates with update(), reports with compute(), and
// saves/merges its state losslessly (toJSON/fromJSON/merge) so resumed or sharded runs give the same numbers.
export { type Assignment, linearSumAssignment } from './assignment.ts';
export type { NumberGrid } from './checks.ts';
export { ExactSum } from './exact-sum.ts';
export {
  type BevFrameShape,
  type BevSequenceShape,
  findInstanceCenters,
  groupPixels,
  type InstanceCenterOptions,
  type InstanceHeadOutputs,
  type InstanceSegmentationOptions,
  type InstanceTrackPoint,
  instanceCenterTracks,
  instanceSegmentationFromCenters,
  makeInstanceIdsTemporallyConsistent,
  makeInstanceSegConsecutive,
  type PredictInstanceOptions,
  predictInstanceSegmentation,
} from './instance.ts';
export {
  argmaxClasses,
  type ClassStatScores,
  IntersectionOverUnion,
  type IntersectionOverUnionOptions,
  type IntersectionOverUnionState,
  statScoresMultipleClasses,
} from './iou.ts';
export {
  type InstanceIdMapping,
  type PanopticCounts,
  PanopticMetric,
  type PanopticMetricState,
  type PanopticScores,
  panopticFrameCounts,
} from './panoptic.ts';
export {
  type BevBound,
  type BevGrid,
  bevGridFromBounds,
  egoFootprintCells,
  PAPER_BEV_BOUNDS,
  PAPER_EGO_SIZE,
  type PlanningConvention,
  type PlanningHorizonResult,
  PlanningMetric,
  type PlanningMetricOptions,
  type PlanningMetricResult,
  type PlanningMetricState,
  type PlanningSample,
  type PlanningSampleResult,
} from './planning.ts';
