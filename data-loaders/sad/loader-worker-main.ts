// The SAD loader's worker thread: opens its own dataset from the spec and builds the samples it is asked for,
// sending them back with their buffers transferred (no copy). Errors travel as plain data.
import { parentPort } from 'node:worker_threads';
import { isSpikedriveError } from '../../src/util/index.ts';
import { sampleBuffers } from './collate.ts';
import type { SadDataset } from './dataset.ts';
import { openSadDataset, type SadDatasetSpec } from './spec.ts';

export type WorkerRequest =
  | { type: 'init'; spec: SadDatasetSpec }
  | { type: 'load'; id: number; index: number }
  | { type: 'close' };

export interface SerializedError {
  name: string;
  message: string;
  fix?: string;
  subject?: string;
}

export function serializeError(error: unknown): SerializedError {
  if (isSpikedriveError(error))
    return { name: error.name, message: error.message, fix: error.fix, subject: error.subject };
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message };
}

const port = parentPort;
if (port) {
  let dataset: SadDataset | undefined;
  let images = true;
  port.on('message', (request: WorkerRequest) => {
    if (request.type === 'init') {
      try {
        dataset = openSadDataset(request.spec);
        images = request.spec.images ?? true;
        port.postMessage({ type: 'ready', length: dataset.length });
      } catch (error) {
        port.postMessage({ type: 'init-failed', error: serializeError(error) });
      }
    } else if (request.type === 'load') {
      const ds = dataset;
      if (!ds) {
        port.postMessage({
          type: 'failed',
          id: request.id,
          error: { name: 'Error', message: 'worker not initialised' },
        });
        return;
      }
      ds.getSample(request.index, { images }).then(
        (sample) => port.postMessage({ type: 'sample', id: request.id, sample }, sampleBuffers(sample)),
        (error) => port.postMessage({ type: 'failed', id: request.id, error: serializeError(error) }),
      );
    } else if (request.type === 'close') {
      port.close();
    }
  });
}
