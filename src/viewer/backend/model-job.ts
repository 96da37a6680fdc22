// Live compute: the SAD model on a dataset, through the evaluator's model path (`loadEvaluationModel` + `evaluate`,
// the same code as `spikedrive eval`), into a run folder the viewer opens while it grows. Runs in the job worker
// thread (job-worker-main.ts); tests call it in-thread. Offload specs install src/offload's runtime on the opened
// model, as `spikedrive infer --offload` does.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { SHIPPED_MODEL_PATH } from '../../pipeline/shipped.ts';
import { SpikedriveError } from '../../util/index.ts';
import type { ModelJobRequest } from './jobs.ts';

const CHECKPOINT_FIX =
  'Pick a checkpoint written by `spikedrive train` (NAME.safetensors with NAME.json beside it), or restore the shipped model (git checkout -- models).';

/**
 * The checkpoint a model job will read (null = the shipped model), checked cheaply before a worker starts: it exists,
 * its safetensors header parses, and its JSON (when present) is JSON. A file that passes may still fail to load
 * (e.g. truncated tensors): the job then fails with the loader's message.
 */
export function checkModelCheckpoint(checkpoint: string | null): string {
  const path = checkpoint ?? SHIPPED_MODEL_PATH;
  if (!existsSync(path)) {
    throw new SpikedriveError(
      checkpoint === null ? `the shipped model ${path} is missing` : `the checkpoint ${path} does not exist`,
      {
        subject: path,
        fix:
          checkpoint === null
            ? 'Restore models/ from the repository (git checkout -- models), or pick a checkpoint (Compute… → checkpoint, or spikedrive app --checkpoint FILE).'
            : CHECKPOINT_FIX,
      },
    );
  }
  const broken = (why: string) =>
    new SpikedriveError(`the checkpoint ${path} is not a readable safetensors file (${why})`, {
      subject: path,
      fix: CHECKPOINT_FIX,
    });
  if (!statSync(path).isFile()) throw broken('not a file');
  const size = statSync(path).size;
  if (size < 8) throw broken(`${size} bytes`);
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(8);
    readSync(fd, head, 0, 8, 0);
    const headerBytes = Number(head.readBigUInt64LE(0));
    if (headerBytes < 2 || headerBytes > 100 * 2 ** 20 || 8 + headerBytes > size)
      throw broken('bad header length');
    const header = Buffer.alloc(headerBytes);
    readSync(fd, header, 0, headerBytes, 8);
    try {
      JSON.parse(header.toString('utf8'));
    } catch {
      throw broken('its header is not JSON');
    }
  } finally {
    closeSync(fd);
  }
  const json = path.replace(/\.safetensors$/, '.json');
  if (json !== path && existsSync(json)) {
    try {
      JSON.parse(readFileSync(json, 'utf8'));
    } catch {
      throw new SpikedriveError(`the checkpoint description ${json} is not valid JSON`, {
        subject: json,
        fix: 'Restore the .json written beside the .safetensors by `spikedrive train`.',
      });
    }
  }
  return path;
}

/** sha256 of a checkpoint file (the demo's model run is cached under it). */
export function checkpointSha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export interface ModelJobHooks {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  log?: (line: string) => void;
}

/** Computes (or resumes) a model run. Returns the frames written and whether it completed. */
export async function runModelJob(
  request: ModelJobRequest,
  hooks: ModelJobHooks = {},
): Promise<{ frames: number; complete: boolean }> {
  const log = hooks.log ?? (() => {});
  checkModelCheckpoint(request.checkpoint);
  // Loaded lazily: tfjs and the model stages are only needed here (the worker), not by the server thread.
  const { loadEvaluationModel, ModelPredictor } = await import('../../eval/model-predictor.ts');
  const { evaluate } = await import('../../eval/evaluate.ts');
  // The offload runtime only when asked for (its modules take seconds to import on a loaded machine).
  const offloadApi = request.offload.length > 0 ? await import('../../offload/index.ts') : null;
  const specs = offloadApi ? offloadApi.parseOffloadSpecs(request.offload) : new Map<string, string>();
  const model = await loadEvaluationModel({
    checkpoint: request.checkpoint,
    backend: request.backend,
    log,
  });
  let offload: { uninstall(): void } | null = null;
  try {
    if (offloadApi && specs.size > 0) {
      if (!(model.predictor instanceof ModelPredictor)) {
        throw new SpikedriveError('offload needs the SAD model predictor', {
          subject: '--offload',
          fix: 'Drop --offload.',
        });
      }
      offload = await offloadApi.installModelOffload(model.predictor.model, specs, {
        onFailure: request.offloadFallback ?? 'error',
        log,
      });
      log(`offload: ${[...specs].map(([m, b]) => `${m} on ${b}`).join(', ')}`);
    }
    if (hooks.signal?.aborted) return { frames: 0, complete: false };
    const options = {
      out: request.out,
      dataset: { dataroot: request.dataroot, version: request.version, split: request.split ?? 'val' },
      model,
      planner: request.planner,
      limit: request.limit,
      // Every frame reaches the index at once, so the viewer shows it while the run grows.
      checkpointEveryMs: 0,
      // Samples load on this (worker) thread: the first frame comes ~1.5 s sooner than with a loader thread to
      // start, for about the same total time on two cores.
      loaderWorkers: 0,
      signal: hooks.signal,
      onProgress: (p: { done: number; total: number }) => hooks.onProgress?.(p.done, p.total),
    };
    let result: Awaited<ReturnType<typeof evaluate>>;
    try {
      result = await evaluate({ ...options, overwrite: request.resume !== true });
    } catch (error) {
      // A partial run of other settings (another back end, planner…) in the cache folder: start it afresh.
      if (
        !(
          request.resume && /holds a run with other settings|not written by the evaluator/.test(String(error))
        )
      )
        throw error;
      log(`replacing ${request.out} (${(error as Error).message})`);
      result = await evaluate({ ...options, overwrite: true });
    }
    return { frames: result.run.index.length, complete: result.status === 'complete' };
  } finally {
    offload?.uninstall();
    model.predictor.dispose();
  }
}
