import { z } from 'zod';
import { SpikedriveError } from '../../util/errors.ts';

/**
 * The spikedrive accelerator protocol, version 1, over WebSocket (docs/offload.md, "Wire protocol"). Every
 * message is one binary WebSocket frame:
 *
 *   offset 0   4 bytes  magic "SDA1"
 *   offset 4   4 bytes  header length H (uint32, little endian)
 *   offset 8   H bytes  header: UTF-8 JSON, one of the message types below
 *   offset 8+H          payload: the tensors (or the NIR file) the header describes, each starting on an 8-byte
 *                       boundary of the payload
 *
 * A session: client `hello` → server `welcome` (or `error` version-mismatch, then close); `load` (payload: a .nir
 * HDF5 file) → `loaded`; any number of `run` (payload: input tensors) → `result` (payload: output tensors), each
 * continuing the neuron state unless `reset` is set; `reset`/`unload` → `ok`. Requests carry an `id` the reply
 * echoes. Tensors are time-major and channels last ([T, B, …]); binary spike tensors travel as packed bits
 * ("bits", 1 bit per element, least significant bit first), real tensors as little-endian float32.
 */

export const PROTOCOL_NAME = 'spikedrive-accel';
export const PROTOCOL_VERSION = 1;
export const FRAME_MAGIC = 'SDA1';
/** Largest frame either side accepts by default (256 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;

export const ERROR_CODES = [
  'version-mismatch',
  'malformed-frame',
  'unknown-graph',
  'bad-graph',
  'bad-input',
  'backend-error',
  'too-large',
  'not-ready',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const shape = z.array(z.number().int().nonnegative()).min(1);
const tensorMeta = z.strictObject({
  name: z.string().min(1),
  shape,
  encoding: z.enum(['bits', 'float32']),
  bytes: z.number().int().nonnegative(),
});
export type TensorMeta = z.infer<typeof tensorMeta>;
const port = z.strictObject({ name: z.string(), shape: z.array(z.number().int()) });

export const headerSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('hello'),
    protocol: z.string(),
    version: z.number().int(),
    client: z.string(),
  }),
  z.strictObject({
    type: z.literal('welcome'),
    protocol: z.literal(PROTOCOL_NAME),
    version: z.number().int(),
    server: z.string(),
    backend: z.string(),
    maxFrameBytes: z.number().int().positive(),
  }),
  z.strictObject({
    type: z.literal('load'),
    id: z.number().int(),
    graph: z.string().min(1),
    bytes: z.number().int().positive(),
  }),
  z.strictObject({
    type: z.literal('loaded'),
    id: z.number().int(),
    graph: z.string(),
    inputs: z.array(port),
    outputs: z.array(port),
  }),
  z.strictObject({
    type: z.literal('run'),
    id: z.number().int(),
    graph: z.string(),
    reset: z.boolean(),
    tensors: z.array(tensorMeta),
  }),
  z.strictObject({
    type: z.literal('result'),
    id: z.number().int(),
    graph: z.string(),
    tensors: z.array(tensorMeta),
    computeMs: z.number().nonnegative(),
  }),
  z.strictObject({ type: z.literal('reset'), id: z.number().int(), graph: z.string() }),
  z.strictObject({ type: z.literal('unload'), id: z.number().int(), graph: z.string() }),
  z.strictObject({ type: z.literal('ok'), id: z.number().int() }),
  z.strictObject({
    type: z.literal('error'),
    id: z.number().int().nullable(),
    code: z.enum(ERROR_CODES),
    message: z.string(),
  }),
]);
export type Header = z.infer<typeof headerSchema>;

/** A decoding failure of a frame: the peer sent something that is not protocol version 1. */
export class MalformedFrameError extends SpikedriveError {
  constructor(message: string) {
    super(`malformed accelerator frame: ${message}`, {
      subject: 'accelerator protocol',
      fix: `Both sides must speak ${PROTOCOL_NAME} version ${PROTOCOL_VERSION} (docs/offload.md, "Wire protocol").`,
    });
  }
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Encodes one frame: header plus payload parts (each placed on an 8-byte boundary). */
export function encodeFrame(header: Header, parts: Uint8Array[] = []): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  let payload = 0;
  for (const p of parts) payload = align8(payload) + p.byteLength;
  const out = new Uint8Array(8 + json.byteLength + payload);
  out.set(new TextEncoder().encode(FRAME_MAGIC), 0);
  new DataView(out.buffer).setUint32(4, json.byteLength, true);
  out.set(json, 8);
  let at = 0;
  const base = 8 + json.byteLength;
  for (const p of parts) {
    at = align8(at);
    out.set(p, base + at);
    at += p.byteLength;
  }
  return out;
}

export interface DecodedFrame {
  header: Header;
  /** The payload parts in header order (tensors, or the one NIR file of a `load`). */
  parts: Uint8Array[];
}

/** Decodes and validates one frame; anything off (magic, lengths, JSON, schema, payload sizes) is malformed. */
export function decodeFrame(data: Uint8Array): DecodedFrame {
  if (data.byteLength < 8)
    throw new MalformedFrameError(`${data.byteLength} bytes is shorter than the 8-byte preamble`);
  const magic = new TextDecoder().decode(data.subarray(0, 4));
  if (magic !== FRAME_MAGIC)
    throw new MalformedFrameError(
      `bad magic "${magic.replace(/[^\x20-\x7e]/g, '?')}" (expected ${FRAME_MAGIC})`,
    );
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const headerLength = view.getUint32(4, true);
  if (8 + headerLength > data.byteLength)
    throw new MalformedFrameError(
      `header length ${headerLength} runs past the frame (${data.byteLength} bytes)`,
    );
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(8, 8 + headerLength)));
  } catch (error) {
    throw new MalformedFrameError(`header is not UTF-8 JSON (${(error as Error).message})`);
  }
  const parsed = headerSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MalformedFrameError(`header ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const header = parsed.data;
  const sizes: number[] =
    header.type === 'load'
      ? [header.bytes]
      : header.type === 'run' || header.type === 'result'
        ? header.tensors.map((t) => t.bytes)
        : [];
  const parts: Uint8Array[] = [];
  const base = 8 + headerLength;
  let at = 0;
  for (const size of sizes) {
    at = align8(at);
    if (base + at + size > data.byteLength)
      throw new MalformedFrameError(`payload of ${size} bytes at ${at} runs past the frame`);
    parts.push(data.subarray(base + at, base + at + size));
    at += size;
  }
  if (header.type === 'run' || header.type === 'result') {
    header.tensors.forEach((t, i) => {
      const count = t.shape.reduce((a, b) => a * b, 1);
      const expected = t.encoding === 'bits' ? Math.ceil(count / 8) : count * 4;
      if (parts[i].byteLength !== expected) {
        throw new MalformedFrameError(
          `tensor ${t.name} of shape [${t.shape.join(', ')}] needs ${expected} bytes as ${t.encoding}, got ${parts[i].byteLength}`,
        );
      }
    });
  }
  return { header, parts };
}

/** Whether every value is 0 or 1 (a spike tensor, sent as bits). */
export function isBinary(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] !== 0 && values[i] !== 1) return false;
  return true;
}

/** Packs 0/1 values, 8 per byte, least significant bit first. */
export function packBits(values: Float32Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 8));
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) out[i >> 3] |= 1 << (i & 7);
  return out;
}

export function unpackBits(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (bytes[i >> 3] >> (i & 7)) & 1;
  return out;
}

export interface WireTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** Header entries and payload parts for tensors (spike tensors as bits). */
export function encodeTensors(tensors: WireTensor[]): { meta: TensorMeta[]; parts: Uint8Array[] } {
  const meta: TensorMeta[] = [];
  const parts: Uint8Array[] = [];
  for (const t of tensors) {
    const bits = isBinary(t.values);
    const part = bits ? packBits(t.values) : new Uint8Array(Float32Array.from(t.values).buffer);
    meta.push({ name: t.name, shape: t.shape, encoding: bits ? 'bits' : 'float32', bytes: part.byteLength });
    parts.push(part);
  }
  return { meta, parts };
}

export function decodeTensors(meta: TensorMeta[], parts: Uint8Array[]): WireTensor[] {
  return meta.map((m, i) => {
    const count = m.shape.reduce((a, b) => a * b, 1);
    const values =
      m.encoding === 'bits'
        ? unpackBits(parts[i], count)
        : new Float32Array(parts[i].slice().buffer, 0, count);
    return { name: m.name, shape: m.shape, values };
  });
}

/** The error a client raises for an `error` reply. */
export class AcceleratorError extends SpikedriveError {
  readonly code: ErrorCode | 'timeout' | 'disconnected' | 'connect-failed';
  constructor(code: AcceleratorError['code'], message: string, fix: string) {
    super(message, { subject: 'accelerator', fix });
    this.code = code;
  }
}
