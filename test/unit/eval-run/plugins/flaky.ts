// Test plugin: misbehaves on the samples the test names in the planner option `behaviour` (token → 'throw' | 'hang' |
// 'malformed'), otherwise drives straight ahead at the CAN speed. A plain object: no definePlanner, no imports.
type Behaviour = 'throw' | 'hang' | 'malformed' | 'ok';

export default {
  name: 'flaky',
  version: '0.1.0',
  inputs: ['egoState'],
  plan(
    obs: { sampleToken: string; egoState: { v0Mps?: number } },
    _state: unknown,
    ctx: {
      nFutureFrames: number;
      frameIntervalS: number;
      options: { behaviour?: Record<string, Behaviour> };
    },
  ) {
    const kind = ctx.options.behaviour?.[obs.sampleToken] ?? 'ok';
    if (kind === 'throw') throw new Error(`flaky refuses ${obs.sampleToken}`);
    if (kind === 'hang') for (;;) {}
    if (kind === 'malformed') return [[0, 1, 0]];
    const v = obs.egoState.v0Mps ?? 0;
    return Array.from({ length: ctx.nFutureFrames }, (_, k) => [0, v * ctx.frameIntervalS * (k + 1), 0]);
  },
};
