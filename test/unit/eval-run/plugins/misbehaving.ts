// Test plugin: behaves by sample token, to exercise every per-call failure the host must contain.
import { definePlanner } from '../../../../src/planning/planner.ts';

const straight = (n: number) =>
  Array.from({ length: n }, (_, k) => [0, k + 1, 0] as [number, number, number]);

export default definePlanner({
  name: 'misbehaving',
  version: '0.0.1',
  inputs: ['egoState'],
  init: () => ({ calls: 0 }),
  plan: async (obs, state, ctx) => {
    state.calls += 1;
    switch (obs.sampleToken) {
      case 'throw':
        throw new Error(`boom on call ${state.calls}`);
      case 'hang':
        // A synchronous endless loop: nothing inside the thread can interrupt it.
        for (;;) {}
      case 'hang-async':
        return new Promise(() => {});
      case 'short':
        return straight(ctx.nFutureFrames - 1);
      case 'nan':
        return straight(ctx.nFutureFrames).map((w, k) => (k === 2 ? [w[0], Number.NaN, w[2]] : w));
      case 'function':
        return { trajectory: straight(ctx.nFutureFrames), meta: { bad: () => 1 } as never };
      case 'exit':
        process.exit(3);
        break;
      case 'timer-throw':
        setTimeout(() => {
          throw new Error('thrown from a timer');
        }, 0);
        return new Promise(() => {});
      case 'log':
        console.log('hello from the plugin');
        console.error('and from its stderr');
        break;
      case 'calls':
        return { trajectory: straight(ctx.nFutureFrames), meta: { calls: state.calls } };
    }
    return straight(ctx.nFutureFrames);
  },
});
