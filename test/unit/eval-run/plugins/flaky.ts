// Test plugin: misbehaves by sample token (the test applies the same rule): the first two hex digits mod 5 give
// 0 → throw, 1 → hang, 2 → a malformed trajectory, otherwise constant speed straight ahead. A plain object: no
// definePlanner, no imports.
export function behaviour(token: string): 'throw' | 'hang' | 'malformed' | 'ok' {
  return (['throw', 'hang', 'malformed', 'ok', 'ok'] as const)[Number.parseInt(token.slice(0, 2), 16) % 5];
}

export default {
  name: 'flaky',
  version: '0.1.0',
  inputs: ['egoState'],
  plan(
    obs: { sampleToken: string; egoState: { v0Mps?: number } },
    _state: unknown,
    ctx: { nFutureFrames: number; frameIntervalS: number },
  ) {
    const kind = behaviour(obs.sampleToken);
    if (kind === 'throw') throw new Error(`flaky refuses ${obs.sampleToken}`);
    if (kind === 'hang') for (;;) {}
    if (kind === 'malformed') return [[0, 1, 0]];
    const v = obs.egoState.v0Mps ?? 0;
    return Array.from({ length: ctx.nFutureFrames }, (_, k) => [0, v * ctx.frameIntervalS * (k + 1), 0]);
  },
};
