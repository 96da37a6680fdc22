// `spikedrive eval --offload`: perception on nir-sim gives the metrics of the host run (the spikes are identical in
// float, docs/offload.md), the manifest records what ran where, and a device address nobody listens on gives the
// clear connect error — or, with --offload-fallback host, the host's metrics — without hanging.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { applyOverride, loadSadConfig, SadModel, saveCheckpoint } from '../../src/pipeline/index.ts';
import { runCli } from './_cli.ts';
import { type EvalWorld, evalWorld } from './eval-world.ts';

const root = mkdtempSync(join(tmpdir(), 'spikedrive-offload-eval-'));
const checkpoint = join(root, 'tiny.safetensors');
let world: EvalWorld;

beforeAll(async () => {
  world = await evalWorld();
  // cpu-tiny at the test world's 80×45 images (as test/integration/eval-model.test.ts), random initial weights.
  let config = loadSadConfig('cpu-tiny');
  for (const o of ['IMAGE.ORIGINAL_WIDTH=80', 'IMAGE.ORIGINAL_HEIGHT=45', 'IMAGE.RESIZE_SCALE=0.8']) {
    config = applyOverride(config, o);
  }
  const sad = new SadModel(config);
  await saveCheckpoint(checkpoint, {
    tensors: sad.stateDict(),
    config,
    stage: 'planning',
    step: 0,
    epoch: 0,
  });
  sad.dispose();
});
afterEach(() => {
  vi.restoreAllMocks();
});

const evalArgs = (out: string, ...extra: string[]) => [
  'eval',
  '--dataroot',
  world.dataroot,
  '--split',
  'val',
  '--checkpoint',
  checkpoint,
  '--backend',
  'cpu',
  '--limit',
  '1',
  '--workers',
  '0',
  '--no-progress',
  '--format',
  'json',
  '--out',
  join(root, out),
  ...extra,
];

interface Row {
  section: string;
  metric: string;
  class?: string;
  horizonS?: number;
  convention?: string;
  value: number | null;
}

/** The accuracy rows (IoU, PQ, L2, collisions…); energy, latency and throughput differ by design (see docs/offload.md). */
function accuracy(out: string): Row[] {
  const rows = (JSON.parse(out) as { rows: Row[] }).rows;
  return rows.filter(
    (r) => !/energy|latency|throughput|firing|time|ms|sop|mac/i.test(`${r.section} ${r.metric}`),
  );
}

/** A local port with nobody listening on it. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('spikedrive eval --offload', () => {
  let host: Row[];

  it('perception=nir-sim: the same metrics as on the host; the manifest records the offload', async () => {
    const plain = await runCli(evalArgs('host'));
    expect(plain.code, plain.err).toBe(0);
    host = accuracy(plain.out);
    expect(host.some((r) => r.metric === 'iou')).toBe(true);

    const sim = await runCli(evalArgs('nir-sim', '--offload', 'perception=nir-sim'));
    expect(sim.code, sim.err).toBe(0);
    expect(accuracy(sim.out)).toEqual(host);
    // Blocks on the back end are not instrumented: perception energy counts its host layers only (the manifest says so).
    const perceptionMj = (o: string) =>
      (JSON.parse(o).rows as (Row & { module?: string })[]).find(
        (r) => r.section === 'energy' && r.metric === 'energy' && r.module === 'perception',
      )?.value ?? 0;
    expect(perceptionMj(sim.out)).toBeLessThan(perceptionMj(plain.out));
    expect(sim.err).toMatch(/perception:\S* on nir-sim: \d+ blocks, ([1-9]\d*)\/\1 calls on the back end/);
    const manifest = JSON.parse(readFileSync(join(root, 'nir-sim', 'manifest.json'), 'utf8'));
    expect(manifest.offload).toMatchObject({ modules: { perception: 'nir-sim' }, fallback: 'error' });
    const plainManifest = JSON.parse(readFileSync(join(root, 'host', 'manifest.json'), 'utf8'));
    expect(plainManifest.offload).toBeUndefined();
  });

  it('ws:// with nobody listening: the connect error, or the host with --offload-fallback host', async () => {
    const url = `ws://127.0.0.1:${await deadPort()}`;
    const refused = await runCli(evalArgs('dead', '--offload', `perception=${url}`));
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain(`cannot connect to accelerator ${url}`);
    expect(refused.err).toContain('serve-accelerator');

    const fallback = await runCli(
      evalArgs('fallback', '--offload', `perception=${url}`, '--offload-fallback', 'host'),
    );
    expect(fallback.code, fallback.err).toBe(0);
    expect(fallback.err).toContain('running on the host');
    expect(accuracy(fallback.out)).toEqual(host);
  });

  it('refuses --offload without the model', async () => {
    const r = await runCli([
      ...evalArgs('gt', '--offload', 'perception=nir-sim'),
      '--inputs',
      'ground-truth',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('--offload needs the model');
  });
});
