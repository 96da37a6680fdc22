// Child process of eval.test.ts's kill test: runs one evaluation from JSON options in argv[2] (the parent kills it
// mid-run with SIGKILL, then resumes the run in its own process).
import { type EvaluationOptions, evaluate } from '../../src/eval/evaluate.ts';

const options = JSON.parse(process.argv[2]) as EvaluationOptions;
await evaluate({ ...options, onProgress: (p) => process.stdout.write(`${p.done}\n`) });
