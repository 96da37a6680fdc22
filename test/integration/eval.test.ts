// The evaluator end to end on a small synthetic world with ground-truth inputs: run folders a user can open (frames,
// index, metrics, report), planning numbers checked by hand from the frames, resume after an interruption and after
// a SIGKILL giving the same metrics as an uninterrupted run, other models' trajectories scored from a file, and a
// misbehaving plugin failing samples without stopping the evaluation.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type EvaluationOptions, evaluate } from '../../src/eval/evaluate.ts';
import { readFrameBytes, readRunFolder } from '../../src/eval/run-folder.ts';
import { decodeFrame, type FrameIndexEntry } from '../../src/eval/run-format.ts';
import { formatSummary, summarizeRun } from '../../src/eval/summary.ts';
import { SpikedriveError } from '../../src/util/index.ts';
import { type EvalWorld, evalWorld } from './eval-world.ts';

const root = mkdtempSync(join(tmpdir(), 'spikedrive-eval-'));
const plugins = new URL('../unit/eval-run/plugins/', import.meta.url).pathname;
let world: EvalWorld;

function base(out: string): EvaluationOptions {
  return {
    out: join(root, out),
    dataset: { dataroot: world.dataroot, version: world.version, sceneNames: world.sceneNames },
    inputs: 'ground-truth',
    loaderWorkers: 0,
  };
}

/** Index entries without the wall-clock timings (which differ between any two runs). */
function stable(index: readonly FrameIndexEntry[]) {
  return index.map((e) => {
    const { latencyMs: _l, timingMs: _t, ...scalars } = e.scalars;
    return { ...e, scalars };
  });
}

beforeAll(async () => {
  world = await evalWorld();
});

describe('ground-truth inputs with built-in planners', () => {
  it('expert: a complete run folder with zero error, every frame decodable, and a report', async () => {
    const result = await evaluate({ ...base('expert'), planner: 'expert' });
    expect(result.status).toBe('complete');
    const run = result.run;
    expect(run.manifest.status).toBe('complete');
    expect(run.manifest.planner).toMatchObject({ name: 'expert', source: 'builtin', apiVersion: 1 });
    expect(run.manifest.evaluation?.inputs).toBe('ground-truth');
    expect(run.index.length).toBe(12);
    expect(run.index.map((e) => e.token)).toEqual(run.manifest.dataset.sampleTokens);
    const l2 = run.metrics?.entries.filter((e) => e.metric === 'l2') ?? [];
    expect(l2.length).toBe(6); // 1, 2, 3 s × ST-P3, UniAD
    for (const e of l2) expect(e.value).toBe(0);
    // The expert never counts as colliding: steps where the GT box itself collides are masked.
    for (const e of run.metrics?.entries.filter((x) => x.metric.endsWith('col')) ?? [])
      expect(e.value).toBe(0);
    const frame = decodeFrame(await readFrameBytes(run.dir, run.index[0]), 'frame 0');
    expect(frame.arrays.get('gtSegmentation')?.shape).toEqual([7, 200, 200]);
    expect(frame.arrays.get('plannedTrajectory')?.data).toEqual(
      frame.arrays.get('gtTrajectory')?.data.slice(3),
    );
    expect(frame.arrays.get('candidates')?.shape).toEqual([600, 6, 3]);
    expect(frame.arrays.get('candidateCosts')?.shape).toEqual([600]);
    const html = readFileSync(join(run.dir, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('L2 error by horizon');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(run.manifest.evaluation?.plannerInputs).toEqual(['gtTrajectory']);
    expect(formatSummary(summarizeRun(run), 'table')).toContain('privileged input');
  });

  it('constant-velocity: per-sample and aggregate L2 match a hand computation from the frames', async () => {
    const run = (await evaluate({ ...base('cv'), planner: 'constant-velocity' })).run;
    const perSample: number[][] = [];
    for (const entry of run.index) {
      const frame = decodeFrame(await readFrameBytes(run.dir, entry), entry.token);
      const planned = frame.arrays.get('plannedTrajectory')?.data as Float32Array;
      const gt = frame.arrays.get('gtTrajectory')?.data as Float32Array;
      // Straight ahead at the CAN speed: x = 0, y = v0 · 0.5 s · (k + 1).
      const step = planned[1];
      for (let k = 0; k < 6; k++) {
        expect(planned[3 * k]).toBe(0);
        expect(planned[3 * k + 1]).toBeCloseTo(step * (k + 1), 4);
      }
      const l2 = Array.from({ length: 6 }, (_, k) =>
        Math.hypot(planned[3 * k] - gt[3 * (k + 1)], planned[3 * k + 1] - gt[3 * (k + 1) + 1]),
      );
      perSample.push(l2);
      const mean2s = (l2[0] + l2[1] + l2[2] + l2[3]) / 4;
      expect((entry.scalars.l2M as Record<string, number>)['2']).toBeCloseTo(mean2s, 9);
    }
    const stp3At3 = perSample.reduce((a, l) => a + l.reduce((x, y) => x + y, 0) / 6, 0) / perSample.length;
    const uniadAt1 = perSample.reduce((a, l) => a + l[1], 0) / perSample.length;
    const value = (convention: string, h: number) =>
      run.metrics?.entries.find((e) => e.metric === 'l2' && e.convention === convention && e.horizonS === h)
        ?.value;
    expect(value('st-p3', 3)).toBeCloseTo(stp3At3, 9);
    expect(value('uniad', 1)).toBeCloseTo(uniadAt1, 9);
    expect(stp3At3).toBeGreaterThan(0.1);
  });

  it('stopping early leaves a resumable run; other settings are refused, naming what differs', async () => {
    const first = await evaluate({
      ...base('parts'),
      planner: 'expert',
      stopAfter: 2,
      checkpointEveryMs: 60_000,
    });
    expect(first.status).toBe('interrupted');
    expect(first.run.manifest.status).toBe('running');
    expect(first.run.metrics?.partial).toBe(true);
    expect(first.run.index.length).toBe(2);
    const error = await evaluate({ ...base('parts'), planner: 'cost-only' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpikedriveError);
    expect((error as SpikedriveError).message).toMatch(/other settings \(planner differs\)/);
    const again = await evaluate({ ...base('parts'), planner: 'cost-only', overwrite: true, limit: 1 });
    expect(again.status).toBe('complete');
    expect(again.run.index.length).toBe(1);
  });
});

describe('resume after a kill', () => {
  it('SIGKILL mid-run, then the same command: the same metrics as an uninterrupted run', async () => {
    const planner = join(plugins, 'slow-cruise.mjs');
    const options = { ...base('killed'), planner, plannerOptions: { delayMs: 150 }, checkpointEveryMs: 0 };
    const child = spawn(
      process.execPath,
      ['bin/run-ts.js', 'test/integration/eval-kill-child.ts', JSON.stringify(options)],
      {
        cwd: new URL('../..', import.meta.url).pathname,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let killedAt = -1;
    await new Promise<void>((resolve, reject) => {
      let buffer = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const done = buffer.trim().split('\n').map(Number);
        if (killedAt < 0 && Math.max(...done) >= 3) {
          killedAt = Math.max(...done);
          child.kill('SIGKILL');
        }
      });
      child.on('exit', () => resolve());
      child.on('error', reject);
    });
    expect(killedAt).toBeGreaterThanOrEqual(3);
    const killed = await readRunFolder(options.out);
    expect(killed.manifest.status).toBe('running');
    expect(killed.index.length).toBeLessThan(12);
    const resumed = await evaluate(options);
    expect(resumed.status).toBe('complete');
    expect(resumed.resumedFrom).toBeGreaterThanOrEqual(3);
    expect(resumed.resumedFrom + resumed.processed).toBe(12);
    // The uninterrupted reference plans without the delay (same trajectories, so the same numbers).
    const whole = await evaluate({ ...base('unkilled'), planner });
    expect(resumed.run.metrics).toEqual(whole.run.metrics);
    expect(stable(resumed.run.index)).toEqual(stable(whole.run.index));
    for (const k of [0, 11]) {
      const a = await readFrameBytes(whole.run.dir, whole.run.index[k]);
      const b = await readFrameBytes(resumed.run.dir, resumed.run.index[k]);
      expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
    }
    // The same command again finds the run complete and recomputes nothing.
    const again = await evaluate(options);
    expect(again.alreadyComplete).toBe(true);
    expect(again.processed).toBe(0);
  });
});

describe('scoring trajectories from a file', () => {
  it('GT shifted 1 m to the side scores L2 = 1 m everywhere; missing and unknown tokens are counted', async () => {
    const expert = await readRunFolder(join(root, 'cv'));
    const trajectories: Record<string, number[][]> = {};
    for (const entry of expert.index.slice(1)) {
      const frame = decodeFrame(await readFrameBytes(expert.dir, entry), entry.token);
      const gt = frame.arrays.get('gtTrajectory')?.data as Float32Array;
      trajectories[entry.token] = Array.from({ length: 6 }, (_, k) => [
        gt[3 * (k + 1)] + 1,
        gt[3 * (k + 1) + 1],
      ]);
    }
    trajectories.f00d = [[0, 1]];
    const file = join(root, 'other-model.json');
    writeFileSync(
      file,
      JSON.stringify({ schema: 'spikedrive-trajectories', version: 1, model: 'other-model', trajectories }),
    );
    const result = await evaluate({ ...base('file'), inputs: undefined, trajectories: file });
    expect(result.status).toBe('complete');
    const m = result.run.metrics;
    expect(m?.samples).toBe(11);
    for (const e of m?.entries.filter((x) => x.metric === 'l2') ?? []) expect(e.value).toBeCloseTo(1, 6);
    expect(m?.entries.find((e) => e.metric === 'missing_trajectories')?.value).toBe(1);
    expect(result.run.manifest.planner.name).toBe('other-model');
    expect(result.run.manifest.evaluation).toMatchObject({
      inputs: 'trajectories',
      missing: 1,
      unknownTokens: 1,
    });
    const table = formatSummary(summarizeRun(result.run), 'table');
    expect(table).toContain('1 sample(s) of the split have no trajectory in the file');
  });

  it('a bare { token: points } object works; bad files are refused with the field named', async () => {
    const first = (await readRunFolder(join(root, 'cv'))).index[0].token;
    const bare = join(root, 'bare.json');
    writeFileSync(
      bare,
      JSON.stringify({
        [first]: [
          [0, 1, 0],
          [0, 2, 0],
          [0, 3, 0],
          [0, 4, 0],
          [0, 5, 0],
          [0, 6, 0],
        ],
      }),
    );
    const ok = await evaluate({ ...base('bare'), inputs: undefined, trajectories: bare });
    expect(ok.run.index.length).toBe(1);
    const short = join(root, 'short.json');
    writeFileSync(short, JSON.stringify({ [first]: [[0, 1]] }));
    await expect(evaluate({ ...base('short'), inputs: undefined, trajectories: short })).rejects.toThrow(
      /has 1 waypoints; this evaluation needs 6/,
    );
    const wrong = join(root, 'wrong.json');
    writeFileSync(
      wrong,
      JSON.stringify({ schema: 'spikedrive-trajectories', version: 1, trajectories: { x: 'no' } }),
    );
    await expect(evaluate({ ...base('wrong'), inputs: undefined, trajectories: wrong })).rejects.toThrow(
      /trajectories\.x/,
    );
    const none = join(root, 'none.json');
    writeFileSync(none, JSON.stringify({ nope: [[0, 1]] }));
    await expect(evaluate({ ...base('none'), inputs: undefined, trajectories: none })).rejects.toThrow(
      /none of the 1 tokens/,
    );
  });
});

describe('a misbehaving plugin', () => {
  it('fails the samples it throws, hangs or garbles on, reports them, and the run completes', async () => {
    const tokens = (await readRunFolder(join(root, 'cv'))).index.map((e) => e.token);
    const behaviour = { [tokens[0]]: 'throw', [tokens[1]]: 'hang', [tokens[2]]: 'malformed' };
    const result = await evaluate({
      ...base('flaky'),
      planner: join(plugins, 'flaky.ts'),
      plannerOptions: { behaviour },
      planTimeoutMs: 800,
      limit: 4,
    });
    expect(result.status).toBe('complete');
    const kinds = result.run.index.map(
      (e) => (e.scalars.plannerFailure as { kind: string } | undefined)?.kind,
    );
    expect(kinds).toEqual(['threw', 'timeout', 'malformed', undefined]);
    const messages = result.failures.map((f) => f.message);
    expect(messages[0]).toContain(`flaky refuses ${tokens[0]}`);
    expect(messages[1]).toContain('did not answer within 800 ms');
    expect(messages[2]).toContain('returned 1 waypoints, expected 6');
    const entries = result.run.metrics?.entries ?? [];
    expect(entries.find((e) => e.metric === 'planner_failures')?.value).toBe(3);
    expect(entries.find((e) => e.metric === 'planned_samples')?.value).toBe(1);
    expect(result.run.manifest.planner).toMatchObject({ name: 'flaky', version: '0.1.0' });
    expect(result.run.manifest.planner.source).toContain('flaky.ts');
    const table = formatSummary(summarizeRun(result.run), 'table');
    expect(table).toContain('planner failed on 3 sample(s) (1 threw, 1 timeout, 1 malformed)');
    expect(table).toContain('plan-call overhead');
    const json = JSON.parse(formatSummary(summarizeRun(result.run), 'json'));
    expect(json.samples).toMatchObject({ evaluated: 4, failed: 3 });
    expect(readFileSync(join(result.dir, 'report.html'), 'utf8')).toContain('Planner failures (3)');
  });
});
