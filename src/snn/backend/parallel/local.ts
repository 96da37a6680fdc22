/** The single-thread trainer: the same interface as the worker pool, one replica in the calling thread. */
import { backendInfo, selectBackend } from '../select.ts';
import { importTrainModule, Replica } from './replica.ts';
import { batchSize } from './shard.ts';
import type { GradientResult, HostTensors, LocalTrainerOptions, StepResult, Trainer } from './types.ts';

export async function createLocalTrainer<Config>(options: LocalTrainerOptions<Config>): Promise<Trainer> {
  const selected = await selectBackend({
    preferred: options.backend,
    threads: options.threads,
    nativeKernels: options.nativeKernels,
    log: options.log,
  });
  const mod = await importTrainModule<Config>(options.module);
  const replica = await Replica.build(mod, options.config, options.optimizer, selected);
  const info = backendInfo();
  let disposed = false;
  const live = () => {
    if (disposed) throw new Error('trainer used after dispose()');
  };
  return {
    replicas: 1,
    backend: info,
    async lossAndGrads(batch: HostTensors): Promise<GradientResult> {
      live();
      const examples = batchSize(batch);
      const { loss, grads } = replica.lossAndGrads(batch);
      return { loss, grads, examples };
    },
    async step(batch: HostTensors): Promise<StepResult> {
      live();
      const examples = batchSize(batch);
      const { loss, grads } = replica.lossAndGrads(batch);
      replica.applyGrads(grads);
      return { loss, examples };
    },
    async evaluate(batch: HostTensors): Promise<number> {
      live();
      batchSize(batch);
      return replica.evaluate(batch);
    },
    async getWeights() {
      live();
      return replica.getWeights();
    },
    async setWeights(weights: HostTensors) {
      live();
      replica.setWeights(weights);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      replica.dispose();
    },
  };
}
