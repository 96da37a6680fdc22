/**
 * A training worker thread: its own tfjs + back end (one wasm heap each), one model replica, kept alive between
 * steps. Started by pool.ts through worker-entry.mjs; answers the requests of protocol.ts in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { isSpikedriveError } from '../../../util/errors.ts';
import { backendInfo, selectBackend } from '../select.ts';
import {
  transferablesOf,
  type WorkerError,
  type WorkerInit,
  type WorkerRequest,
  type WorkerResponse,
} from './protocol.ts';
import { importTrainModule, Replica } from './replica.ts';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');
const init = workerData as WorkerInit;

function toError(error: unknown): WorkerError {
  if (isSpikedriveError(error)) {
    return { name: error.name, message: error.message, fix: error.fix, subject: error.subject };
  }
  const e = error as Error;
  return { name: e?.name ?? 'Error', message: e?.message ?? String(error) };
}

function reply(response: WorkerResponse, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(response, transfer);
}

let replica: Replica | null = null;
let initError: WorkerError | null = null;
try {
  const mod = await importTrainModule(init.module); // first: a bad path fails before the back end starts
  const selected = await selectBackend({
    preferred: init.backend,
    threads: init.threads,
    nativeKernels: init.nativeKernels,
  });
  replica = await Replica.build(mod, init.config, init.optimizer, selected);
  reply({ id: 0, ok: true, result: backendInfo() });
} catch (error) {
  // Stay alive to deliver this; the pool terminates the worker when it sees the failure.
  initError = toError(error);
  reply({ id: 0, ok: false, error: initError });
}

port.on('message', (request: WorkerRequest) => {
  if (!replica) {
    reply({
      id: request.id,
      ok: false,
      error: initError ?? { name: 'Error', message: 'worker not initialised' },
    });
    return;
  }
  try {
    switch (request.op) {
      case 'grads': {
        const result = replica.lossAndGrads(request.batch);
        reply({ id: request.id, ok: true, result }, transferablesOf(result.grads));
        return;
      }
      case 'apply':
        replica.applyGrads(request.grads);
        reply({ id: request.id, ok: true, result: null });
        return;
      case 'evaluate':
        reply({ id: request.id, ok: true, result: replica.evaluate(request.batch) });
        return;
      case 'getWeights': {
        const weights = replica.getWeights();
        reply({ id: request.id, ok: true, result: weights }, transferablesOf(weights));
        return;
      }
      case 'setWeights':
        replica.setWeights(request.weights);
        reply({ id: request.id, ok: true, result: null });
        return;
      case 'memory':
        reply({ id: request.id, ok: true, result: tf.memory().numTensors });
        return;
    }
  } catch (error) {
    reply({ id: request.id, ok: false, error: toError(error) });
  }
});
