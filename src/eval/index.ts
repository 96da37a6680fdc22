// Evaluation: the reference metrics (src/eval/metrics); the evaluator, run files and reports build on them.
export * from './metrics/index.ts';
