// Evaluation: the reference metrics (src/eval/metrics), the run folder (format, writer, reader), the evaluator
// (`spikedrive eval`: model or ground-truth inputs, built-in or plugin planners, trajectories from a file, resumable),
// its summary (table/json/csv/md) and HTML report, and run comparison with noise-aware verdicts (`spikedrive compare`).
// The model side of an evaluation (`model-predictor.ts`) is imported directly by the CLI: it builds on src/pipeline,
// which itself imports these metrics.
export {
  type CompareOptions,
  compareRuns,
  formatComparison,
  type MetricComparison,
  type RunComparison,
  type Verdict,
} from './compare.ts';
export {
  type EvaluationInputs,
  type EvaluationModel,
  type EvaluationOptions,
  type EvaluationProgress,
  type EvaluationResult,
  evaluate,
  type SampleFailure,
} from './evaluate.ts';
export { type IouKey, MetricSet } from './metric-set.ts';
export * from './metrics/index.ts';
export { channelsLast, GroundTruthInputs, type Prediction, type Predictor } from './predictor.ts';
export { renderReport, writeReport } from './report.ts';
export {
  type FrameMeta,
  type NewRunManifest,
  type RunFolder,
  RunWriter,
  readFrameBytes,
  readJsonFile,
  readRunFolder,
} from './run-folder.ts';
export * from './run-format.ts';
export { bootstrap, bootstrapTwo, type Interval, mean, median } from './stats.ts';
export {
  type EvaluationSummary,
  formatSummary,
  type LatencyStat,
  OUTPUT_FORMATS,
  type OutputFormat,
  type SummaryRow,
  summarizeRun,
  summaryRows,
} from './summary.ts';
export {
  checkTrajectory,
  readTrajectoriesFile,
  TRAJECTORIES_SCHEMA,
  type TrajectoriesFile,
} from './trajectories.ts';
export { gtFuture, HDMAP_ELEMENTS, type SampleTruth, sampleTruth } from './truth.ts';
