import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { exportToNir } from '../../../src/offload/export/export.ts';
import { nirBytes } from '../../../src/offload/nir/io.ts';
import {
  AcceleratorError,
  decodeFrame,
  decodeTensors,
  encodeFrame,
  encodeTensors,
  MalformedFrameError,
  packBits,
  unpackBits,
} from '../../../src/offload/protocol/protocol.ts';
import { SyncAcceleratorClient } from '../../../src/offload/protocol/sync-client.ts';
import { installOffload } from '../../../src/offload/runtime.ts';
import { LifNode, MsConvBlock, Sequential } from '../../../src/snn/index.ts';
import { createRng } from '../../../src/util/rng.ts';
import { compareArrays, randomiseBatchNorms, useCpu } from './_helpers.ts';

interface Devices {
  real: string;
  disconnect: string;
  garbage: string;
  setDelay(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** The devices run in another thread: the client blocks this one while it waits. */
async function startDevices(): Promise<Devices> {
  const worker = new Worker(new URL('./_server-worker.mjs', import.meta.url));
  const urls = await new Promise<{ real: string; disconnect: string; garbage: string }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const ask = (m: unknown) =>
    new Promise<void>((resolve) => {
      worker.once('message', () => resolve());
      worker.postMessage(m);
    });
  return {
    ...urls,
    setDelay: (ms) => ask({ delay: ms }),
    close: async () => {
      await ask('close');
      await worker.terminate();
    },
  };
}

let devices: Devices;
beforeAll(async () => {
  await useCpu();
  devices = await startDevices();
});
afterAll(async () => {
  await devices.close();
});

function expectAcceleratorError(fn: () => unknown, code: string): AcceleratorError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(AcceleratorError);
  expect((caught as AcceleratorError).code).toBe(code);
  return caught as AcceleratorError;
}

describe('frames', () => {
  it('round-trip a header and 8-byte-aligned payloads; spikes travel as packed bits', () => {
    const spikes = { name: 'a', shape: [2, 1, 5], values: Float32Array.from([1, 0, 0, 1, 1, 0, 1, 0, 0, 0]) };
    const real = { name: 'b', shape: [1, 1, 3], values: Float32Array.from([0.5, -2, 3.25]) };
    const { meta, parts } = encodeTensors([spikes, real]);
    expect(meta.map((m) => [m.encoding, m.bytes])).toEqual([
      ['bits', 2],
      ['float32', 12],
    ]);
    const frame = encodeFrame({ type: 'run', id: 7, graph: 'g', reset: true, tensors: meta }, parts);
    const back = decodeFrame(frame);
    expect(back.header).toMatchObject({ type: 'run', id: 7, reset: true });
    const tensors = decodeTensors(meta, back.parts);
    expect(Array.from(tensors[0].values)).toEqual(Array.from(spikes.values));
    expect(Array.from(tensors[1].values)).toEqual([0.5, -2, 3.25]);
    expect(Array.from(unpackBits(packBits(spikes.values), 10))).toEqual(Array.from(spikes.values));
  });

  it('rejects malformed frames with the reason', () => {
    const good = encodeFrame({ type: 'ok', id: 1 });
    const bad = (bytes: Uint8Array, reason: RegExp) => expect(() => decodeFrame(bytes)).toThrow(reason);
    bad(new Uint8Array(3), /shorter than the 8-byte preamble/);
    const magic = good.slice();
    magic[0] = 0x58;
    bad(magic, /bad magic/);
    const longHeader = good.slice();
    new DataView(longHeader.buffer).setUint32(4, 999, true);
    bad(longHeader, /runs past the frame/);
    bad(
      encodeFrame({ type: 'ok', id: 1 }).map((b, i) => (i === 8 ? 0x7b + 1 : b)),
      /not UTF-8 JSON/,
    );
    const wrongSchema = new TextEncoder().encode('{"type":"run","id":"x"}');
    const frame = new Uint8Array(8 + wrongSchema.length);
    frame.set(new TextEncoder().encode('SDA1'));
    new DataView(frame.buffer).setUint32(4, wrongSchema.length, true);
    frame.set(wrongSchema, 8);
    bad(frame, /header/);
    const short = encodeFrame(
      {
        type: 'run',
        id: 1,
        graph: 'g',
        reset: false,
        tensors: [{ name: 'x', shape: [1, 1, 16], encoding: 'float32', bytes: 64 }],
      },
      [new Uint8Array(64)],
    );
    bad(short.subarray(0, short.length - 8), /runs past the frame/);
    const wrongSize = encodeFrame(
      {
        type: 'run',
        id: 1,
        graph: 'g',
        reset: false,
        tensors: [{ name: 'x', shape: [1, 1, 16], encoding: 'bits', bytes: 3 }],
      },
      [new Uint8Array(3)],
    );
    bad(wrongSize, /needs 2 bytes as bits/);
    expect(() => decodeFrame(new Uint8Array(2))).toThrow(MalformedFrameError);
  });
});

describe('a device over WebSocket (serve-accelerator with nir-sim)', () => {
  let seq: Sequential<MsConvBlock | LifNode>;
  let x: tf.Tensor;
  let expected: Float32Array;

  beforeAll(() => {
    seq = new Sequential<MsConvBlock | LifNode>([
      new MsConvBlock({ dim: 8, mlpRatio: 2, rng: createRng(21) }),
      new LifNode({}),
    ]);
    seq.setPath('encoder.blocks');
    randomiseBatchNorms(seq, 30);
    x = tf.randomNormal([4, 2, 8, 8, 8], 0.2, 1.5, 'float32', 9);
    const y = seq.forward(x);
    seq.reset();
    expected = y.dataSync() as Float32Array;
    y.dispose();
  });
  afterAll(() => {
    x.dispose();
    seq.dispose();
  });

  it('returns the tfjs path’s spikes bit for bit, keeps state across runs and resets on request', async () => {
    const { graph } = exportToNir(seq, { inputShapes: [[8, 8, 8]] });
    const client = SyncAcceleratorClient.connect(devices.real);
    try {
      expect(client.backend).toBe('nir-sim');
      const ports = client.load('blocks', await nirBytes(graph));
      expect(ports.inputs).toEqual([{ name: 'input', shape: [8, 8, 8] }]);
      const input = [{ name: 'input', shape: [...x.shape], values: x.dataSync() as Float32Array }];
      const first = client.run('blocks', input, true);
      expect(compareArrays(first.outputs[0].values, expected).unequal).toBe(0);
      // Without a reset the membranes continue, so the same input gives other spikes; with one it repeats.
      const again = client.run('blocks', input, false);
      expect(compareArrays(again.outputs[0].values, expected).unequal).toBeGreaterThan(0);
      const reset = client.run('blocks', input, true);
      expect(compareArrays(reset.outputs[0].values, expected).unequal).toBe(0);
      expect(client.bytesReceived).toBeLessThan(client.bytesSent); // spikes come back as bits
      expectAcceleratorError(() => client.run('nope', input, false), 'unknown-graph');
      expectAcceleratorError(
        () => client.run('blocks', [{ name: 'input', shape: [1, 1, 3], values: new Float32Array(3) }], false),
        'bad-input',
      );
      // The session survives request errors.
      expect(compareArrays(client.run('blocks', input, true).outputs[0].values, expected).unequal).toBe(0);
    } finally {
      client.close();
    }
  });

  it('runs a model’s blocks there through installOffload (infer’s --offload MODULE=ws://…)', async () => {
    const handle = await installOffload(seq, { backend: devices.real });
    try {
      const y = seq.forward(x);
      seq.reset();
      expect(compareArrays(y.dataSync(), expected).unequal).toBe(0);
      y.dispose();
      expect(handle.stats).toMatchObject({ calls: 1, offloaded: 1, hostFallbacks: 0 });
      expect(handle.stats.blocks).toEqual(['encoder.blocks']);
    } finally {
      handle.uninstall();
    }
  });

  it('a malformed frame from the host gets an error reply and the connection closes; nothing hangs', () => {
    const client = SyncAcceleratorClient.connect(devices.real);
    client.sendRaw(new TextEncoder().encode('definitely not SDA1'));
    const e = expectAcceleratorError(() => client.reset('x'), 'malformed-frame');
    expect(e.message).toMatch(/bad magic/);
    expect(client.isOpen).toBe(false);
  });

  it('refuses another protocol version', async () => {
    const socket = new WebSocket(devices.real);
    await new Promise((r) => socket.once('open', r));
    const reply = new Promise<Uint8Array>((r) => socket.once('message', (d: Buffer) => r(new Uint8Array(d))));
    socket.send(encodeFrame({ type: 'hello', protocol: 'spikedrive-accel', version: 99, client: 'test' }));
    const frame = decodeFrame(await reply);
    expect(frame.header).toMatchObject({ type: 'error', code: 'version-mismatch' });
    socket.terminate();
  });
});

describe('faults', () => {
  it('a device that disconnects mid-run: a clear error, or the host answers when the user chose fallback', async () => {
    {
      const client = SyncAcceleratorClient.connect(devices.disconnect);
      client.load('g', new Uint8Array(8));
      const e = expectAcceleratorError(
        () => client.run('g', [{ name: 'input', shape: [1, 1, 2], values: new Float32Array(2) }], true),
        'disconnected',
      );
      expect(e.fix).toMatch(/serve-accelerator|fallback/);
      client.close();

      const lif = new LifNode({});
      lif.setPath('planning.lif');
      const x = tf.randomNormal([3, 2, 5], 1, 1, 'float32', 4);
      const host = lif.forward(x);
      lif.reset();
      const lines: string[] = [];
      const handle = await installOffload(lif, {
        backend: devices.disconnect,
        onFailure: 'host',
        log: (l) => lines.push(l),
      });
      const y = lif.forward(x);
      expect(compareArrays(y.dataSync(), host.dataSync()).unequal).toBe(0);
      expect(handle.stats).toMatchObject({ calls: 1, offloaded: 0, hostFallbacks: 1 });
      expect(lines.some((l) => /falling back to the host/.test(l))).toBe(true);
      handle.uninstall();
      tf.dispose([x, y, host]);
    }
  });

  it('a device that answers late: a timeout error, not a hang', async () => {
    await devices.setDelay(3000);
    try {
      const client = SyncAcceleratorClient.connect(devices.real, { requestTimeoutMs: 300 });
      const e = expectAcceleratorError(() => client.reset('g'), 'timeout');
      expect(e.message).toMatch(/did not answer reset within 300 ms/);
      expect(e.fix).toMatch(/--offload-timeout/);
      client.close();
    } finally {
      await devices.setDelay(0);
    }
  });

  it('a device that answers with garbage: a malformed-frame error', async () => {
    const client = SyncAcceleratorClient.connect(devices.garbage);
    client.load('g', new Uint8Array(8));
    expectAcceleratorError(
      () => client.run('g', [{ name: 'input', shape: [1, 1, 1], values: new Float32Array(1) }], true),
      'malformed-frame',
    );
    expect(client.isOpen).toBe(false);
  });

  it('no device at the address: connect-failed, or the host when the user chose fallback', async () => {
    expectAcceleratorError(
      () => SyncAcceleratorClient.connect('ws://127.0.0.1:1', { connectTimeoutMs: 2000 }),
      'connect-failed',
    );
    const lif = new LifNode({});
    const handle = await installOffload(lif, {
      backend: 'ws://127.0.0.1:1',
      onFailure: 'host',
      connectTimeoutMs: 2000,
    });
    expect(handle.stats.blocks).toEqual([]);
    handle.uninstall();
  });
});
