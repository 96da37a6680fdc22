// Back-end selection: explicit choices, SPIKEDRIVE_BACKEND, the 'auto' fall-through when tfjs-node is absent,
// the info record for manifests, and clear errors for bad names.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { backendInfo, parsePreference, selectBackend } from '../../../src/snn/backend/index.ts';
import { SpikedriveError } from '../../../src/util/index.ts';

const savedEnv = { ...process.env };
afterEach(() => {
  for (const k of ['SPIKEDRIVE_BACKEND', 'SPIKEDRIVE_THREADS', 'SPIKEDRIVE_NATIVE']) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
});

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

describe('selectBackend', () => {
  it('runs the requested cpu back end, says so through the logger, and records it', async () => {
    const lines: string[] = [];
    const selected = await selectBackend({ preferred: 'cpu', threads: 2, log: (m) => lines.push(m) });
    expect(selected.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(selected.tf).toBe(tf);
    expect(lines.some((l) => l.startsWith('tensor back end: cpu'))).toBe(true);
    const info = backendInfo();
    expect(info.name).toBe('cpu');
    expect(info.tfjsVersion).toBe(tf.version.tfjs);
    expect(info.kernelsPatched).toEqual(
      expect.arrayContaining([expect.stringMatching(/^Conv2DBackpropFilter:/)]),
    );
    expect(info.threads).toBe(info.native ? 2 : 1);
    expect(JSON.parse(JSON.stringify(info))).toEqual(info);
  });

  it('SPIKEDRIVE_BACKEND picks the back end when no preference is passed', async () => {
    process.env.SPIKEDRIVE_BACKEND = 'wasm';
    const selected = await selectBackend();
    expect(selected.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    const info = backendInfo();
    expect(info.backendVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.kernelsPatched).toEqual(
      expect.arrayContaining([
        'DepthwiseConv2dNativeBackpropFilter:js',
        'DepthwiseConv2dNativeBackpropInput:js',
      ]),
    );
  });

  it('SPIKEDRIVE_NATIVE=0 gives the composite kernels and one thread', async () => {
    process.env.SPIKEDRIVE_NATIVE = '0';
    const selected = await selectBackend({ preferred: 'wasm' });
    expect(selected.threads).toBe(1);
    expect(backendInfo().kernelsPatched).toContain('Conv2DBackpropFilter:composite');
    expect(backendInfo().native).toBeNull();
  });

  it("'auto' falls through to the first back end that loads and says what it skipped", async () => {
    const selected = await selectBackend({ preferred: 'auto' });
    if (!installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu')) {
      expect(selected.name).toBe('wasm');
      expect(selected.reason).toMatch(/@tensorflow\/tfjs-node-gpu is not installed/);
      expect(selected.reason).toMatch(/@tensorflow\/tfjs-node is not installed/);
    } else {
      expect(['tensorflow-gpu', 'tensorflow', 'wasm']).toContain(selected.name);
    }
  });

  it('an explicitly requested back end that is not installed is a SpikedriveError with a fix', async () => {
    if (installed('@tensorflow/tfjs-node')) return;
    const error = await selectBackend({ preferred: 'tensorflow' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpikedriveError);
    expect((error as SpikedriveError).fix).toMatch(/--backend wasm/);
  });

  it('rejects unknown names and bad thread counts clearly', async () => {
    expect(() => parsePreference('gpu')).toThrow(SpikedriveError);
    expect(() => parsePreference('gpu')).toThrow(/Unknown back end 'gpu'/);
    expect(parsePreference(' WASM ')).toBe('wasm');
    process.env.SPIKEDRIVE_BACKEND = 'tpu';
    await expect(selectBackend()).rejects.toThrow(/Unknown back end 'tpu'/);
    delete process.env.SPIKEDRIVE_BACKEND;
    process.env.SPIKEDRIVE_THREADS = 'lots';
    await expect(selectBackend({ preferred: 'cpu' })).rejects.toThrow(
      /SPIKEDRIVE_THREADS must be a positive integer/,
    );
  });
});
