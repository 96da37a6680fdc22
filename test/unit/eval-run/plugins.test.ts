// Planner plugins run isolated in worker threads: a plugin that throws, hangs, crashes or returns a malformed
// trajectory fails that call with a report the user can act on, and the next call works (in a restarted worker where
// the old one had to be stopped). Plugins that cannot load fail at load time with a clear error.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPlanner, type PlanOutcome, PluginPlanner } from '../../../src/planning/plugins/index.ts';
import { SpikedriveError } from '../../../src/util/index.ts';

const here = new URL('./plugins/', import.meta.url).pathname;
const ego = { v0Mps: 5, history: [] };

function failure(outcome: PlanOutcome) {
  if (outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome.trajectory)}`);
  return outcome;
}

describe('a misbehaving plugin', () => {
  let planner: PluginPlanner;
  const output: string[] = [];
  beforeAll(async () => {
    planner = await PluginPlanner.load(join(here, 'misbehaving.ts'), {
      timeoutMs: 800,
      onOutput: (line, stream) => output.push(`${stream}: ${line}`),
    });
  });
  afterAll(() => planner.dispose());

  it('loads with its declared name, version and inputs, and plans', async () => {
    expect(planner.name).toBe('misbehaving');
    expect(planner.version).toBe('0.0.1');
    expect(planner.inputs).toEqual(['egoState']);
    expect(planner.sha256).toMatch(/^[0-9a-f]{64}$/);
    const ok = await planner.plan({ sampleToken: 'fine', egoState: ego });
    expect(ok.ok).toBe(true);
    if (ok.ok) {
      expect(ok.trajectory).toEqual([1, 2, 3, 4, 5, 6].map((y) => [0, y, 0]));
      expect(ok.planMs).toBeGreaterThanOrEqual(0);
      expect(ok.callMs).toBeGreaterThanOrEqual(ok.planMs);
    }
  });

  it('a throw fails that call with the message and stack, and the same worker keeps going', async () => {
    const f = failure(await planner.plan({ sampleToken: 'throw', egoState: ego }));
    expect(f.kind).toBe('threw');
    expect(f.message).toContain('boom on call');
    expect(f.stack).toContain('misbehaving.ts');
    const next = await planner.plan({ sampleToken: 'calls', egoState: ego });
    expect(next.ok && next.meta.calls).toBeGreaterThan(1); // state survived: no restart
    expect(planner.restarts).toBe(0);
  });

  it('malformed trajectories name the problem', async () => {
    const short = failure(await planner.plan({ sampleToken: 'short', egoState: ego }));
    expect(short.kind).toBe('malformed');
    expect(short.message).toContain('returned 5 waypoints, expected 6');
    const nan = failure(await planner.plan({ sampleToken: 'nan', egoState: ego }));
    expect(nan.kind).toBe('malformed');
    expect(nan.message).toMatch(/waypoint 2 element 1/);
    const fn = failure(await planner.plan({ sampleToken: 'function', egoState: ego }));
    expect(fn.kind).toBe('malformed');
    expect(fn.message).toContain('cannot be passed between threads');
  });

  it('an input the run lacks is reported as such', async () => {
    const f = failure(await planner.plan({ sampleToken: 'fine' }));
    expect(f.kind).toBe('missing-input');
    expect(f.message).toContain('egoState');
  });

  it('a hanging plan times out, and the next call runs in a fresh worker', async () => {
    const f = failure(await planner.plan({ sampleToken: 'hang', egoState: ego }));
    expect(f.kind).toBe('timeout');
    expect(f.message).toContain('did not answer within 800 ms');
    expect(f.callMs).toBeGreaterThanOrEqual(800);
    const after = await planner.plan({ sampleToken: 'calls', egoState: ego });
    expect(after.ok && after.meta.calls).toBe(1); // init ran again in the new worker
    expect(planner.restarts).toBe(1);
    const async = failure(await planner.plan({ sampleToken: 'hang-async', egoState: ego }));
    expect(async.kind).toBe('timeout');
  });

  it('a crash (process.exit, an error thrown in a timer) fails the call and the plugin recovers', async () => {
    const exit = failure(await planner.plan({ sampleToken: 'exit', egoState: ego }));
    expect(exit.kind).toBe('crashed');
    expect(exit.message).toContain('code 3');
    const timer = failure(await planner.plan({ sampleToken: 'timer-throw', egoState: ego }));
    expect(timer.kind).toBe('crashed');
    expect(timer.message).toContain('thrown from a timer');
    expect((await planner.plan({ sampleToken: 'fine', egoState: ego })).ok).toBe(true);
  });

  it("the plugin's console output is captured, never written to stdout", async () => {
    await planner.plan({ sampleToken: 'log', egoState: ego });
    await new Promise((r) => setTimeout(r, 50));
    expect(output).toContain('stdout: hello from the plugin');
    expect(output).toContain('stderr: and from its stderr');
  });
});

describe('plugins that cannot load', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'spikedrive-plugins-'));

  async function loadError(path: string): Promise<SpikedriveError> {
    const error = await PluginPlanner.load(path, { initTimeoutMs: 30_000 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SpikedriveError);
    return error as SpikedriveError;
  }

  it('a syntax error names the module and the problem', async () => {
    const file = join(tmp, 'broken.ts');
    writeFileSync(file, 'export default definePlanner({ name: "x", inputs: [], plan: () => [ });\n');
    const e = await loadError(file);
    expect(e.message).toContain('cannot be imported');
    expect(e.message).toContain('broken.ts');
  });

  it('an export that is not a planner, or for another API version, is refused', async () => {
    expect((await loadError(join(here, 'not-a-planner.ts'))).message).toContain(
      'does not export a usable planner',
    );
    const wrong = await loadError(join(here, 'wrong-api.mjs'));
    expect(wrong.message).toContain('planner API version 99');
  });

  it('a failing init is reported with its message', async () => {
    const e = await loadError(join(here, 'init-throws.ts'));
    expect(e.message).toContain('failed in init()');
    expect(e.message).toContain('weights.bin not found');
  });

  it('missing files, folders and other extensions are refused before any worker starts', async () => {
    expect((await loadError(join(tmp, 'nope.ts'))).message).toContain('does not exist');
    expect((await loadError(tmp)).message).toContain('is not a file');
    const txt = join(tmp, 'planner.txt');
    writeFileSync(txt, 'x');
    expect((await loadError(txt)).message).toContain('not a JavaScript or TypeScript module');
  });
});

describe('openPlanner', () => {
  it('a plain object without inputs receives every input the run provides but the GT, frozen', async () => {
    const planner = await openPlanner(join(here, 'plain-object.mjs'));
    try {
      expect(planner.isolated).toBe(true);
      expect(planner.inputs).toBeNull();
      const gtTrajectory = [1, 2, 3, 4, 5, 6].map((y) => [0, y, 0] as const);
      const r = await planner.plan({ sampleToken: 't', egoState: ego, command: 'LEFT', gtTrajectory });
      expect(r.ok && r.meta).toEqual({ keys: 'command,egoState,grid,sampleToken', frozen: true });
    } finally {
      await planner.dispose();
    }
  });

  it('built-ins run in this thread behind the same outcome interface', async () => {
    const planner = await openPlanner('constant-velocity');
    expect(planner.isolated).toBe(false);
    expect(planner.source).toBe('builtin');
    const ok = await planner.plan({ sampleToken: 't', egoState: { v0Mps: 4, history: [] } });
    expect(ok.ok && ok.trajectory.map((w) => w[1])).toEqual([2, 4, 6, 8, 10, 12]);
    // No CAN speed and no history: constant-velocity throws; the call fails, nothing else does.
    const f = failure(await planner.plan({ sampleToken: 't', egoState: { history: [] } }));
    expect(f.kind).toBe('threw');
    expect(f.message).toContain('needs the CAN speed');
  });

  it('an unknown name lists the built-ins', async () => {
    await expect(openPlanner('best-planner')).rejects.toThrow(/Unknown planner "best-planner"/);
  });
});
