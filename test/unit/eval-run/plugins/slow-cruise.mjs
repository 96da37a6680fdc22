// Test plugin: constant speed straight ahead, taking `delayMs` (planner option, default 0) per plan, so a test can
// kill an evaluation mid-run.
export default {
  name: 'slow-cruise',
  inputs: ['egoState'],
  async plan(obs, _state, ctx) {
    const delayMs = Number(ctx.options.delayMs ?? 0);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const v = obs.egoState.v0Mps ?? 0;
    return Array.from({ length: ctx.nFutureFrames }, (_, k) => [0, v * ctx.frameIntervalS * (k + 1), 0]);
  },
};
