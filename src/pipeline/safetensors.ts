// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a JSON header
// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}`, then the raw
// little-endian bytes. Hand-written (about 150 lines): the npm packages that read it are either browser/WebGPU
// bundles or unmaintained, and none writes atomically or converts F16/BF16 to float32.
import { readFileSync } from 'node:fs';
import { SpikedriveError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';

/** Dtypes read; F32 and I64 are also written (PyTorch float32 parameters and int64 buffers). */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const BYTES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** One tensor as read: floating dtypes become float32, integer dtypes int64 (I64) or int32, bytes uint8. */
export interface SafeTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafeTensor>;
  /** The `__metadata__` string map (empty when absent). */
  metadata: Record<string, string>;
}

/** What `serializeSafetensors` accepts: float32 data → F32, BigInt64Array → I64. */
export interface TensorToWrite {
  shape: readonly number[];
  data: Float32Array | BigInt64Array;
}

function bad(source: string, message: string): SpikedriveError {
  return new SpikedriveError(`${source} is not a valid safetensors file: ${message}`, {
    subject: source,
    fix: 'Re-export it with safetensors (save_file) or spikedrive, or check the file was copied completely.',
  });
}

/** IEEE half → float. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function decode(
  dtype: SafetensorsDtype,
  bytes: Uint8Array,
  count: number,
): Float32Array | BigInt64Array | Int32Array | Uint8Array {
  // Copy into an aligned buffer first: the data section need not be aligned to the element size.
  const aligned = new Uint8Array(bytes.byteLength);
  aligned.set(bytes);
  const view = new DataView(aligned.buffer);
  switch (dtype) {
    case 'F32':
      return new Float32Array(aligned.buffer, 0, count);
    case 'F64':
      return Float32Array.from(new Float64Array(aligned.buffer, 0, count));
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(count);
      const word = new Uint32Array(1);
      const asFloat = new Float32Array(word.buffer);
      for (let i = 0; i < count; i++) {
        word[0] = view.getUint16(2 * i, true) << 16;
        out[i] = asFloat[0];
      }
      return out;
    }
    case 'I64':
      return new BigInt64Array(aligned.buffer, 0, count);
    case 'I32':
      return new Int32Array(aligned.buffer, 0, count);
    case 'I16':
      return Int32Array.from(new Int16Array(aligned.buffer, 0, count));
    case 'I8':
      return Int32Array.from(new Int8Array(aligned.buffer, 0, count));
    case 'U8':
    case 'BOOL':
      return aligned;
  }
}

/** Parses a safetensors file held in memory. `source` names it in errors. */
export function parseSafetensors(buffer: Uint8Array, source = 'buffer'): SafetensorsFile {
  if (buffer.byteLength < 8) throw bad(source, `only ${buffer.byteLength} bytes`);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > buffer.byteLength - 8 || headerLength > 100_000_000) {
    throw bad(source, `header length ${headerLength} exceeds the file (${buffer.byteLength} bytes)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(buffer.subarray(8, 8 + headerLength)));
  } catch (cause) {
    throw bad(source, `header is not JSON (${(cause as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw bad(source, 'header is not a JSON object');
  }
  const dataStart = 8 + headerLength;
  const dataLength = buffer.byteLength - dataStart;
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry === 'object' && entry !== null) metadata = { ...(entry as Record<string, string>) };
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = e?.dtype as SafetensorsDtype;
    if (typeof dtype !== 'string' || !(dtype in BYTES)) {
      throw bad(source, `tensor ${name} has unsupported dtype ${JSON.stringify(e?.dtype)}`);
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw bad(source, `tensor ${name} has a bad shape ${JSON.stringify(shape)}`);
    }
    const offsets = e.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isInteger(o) && o >= 0) ||
      offsets[1] < offsets[0] ||
      offsets[1] > dataLength
    ) {
      throw bad(source, `tensor ${name} has bad data_offsets ${JSON.stringify(offsets)}`);
    }
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    const byteLength = offsets[1] - offsets[0];
    if (byteLength !== count * BYTES[dtype]) {
      throw bad(
        source,
        `tensor ${name} (${dtype} [${shape.join(', ')}]) needs ${count * BYTES[dtype]} bytes, its offsets span ${byteLength}`,
      );
    }
    const bytes = buffer.subarray(dataStart + offsets[0], dataStart + offsets[1]);
    tensors.set(name, { dtype, shape: [...shape], data: decode(dtype, bytes, count) });
  }
  return { tensors, metadata };
}

/** Reads a safetensors file from disk. */
export function readSafetensors(path: string): SafetensorsFile {
  let buffer: Buffer;
  try {
    buffer = readFileSync(path);
  } catch (cause) {
    throw new SpikedriveError(`cannot read checkpoint ${path}`, {
      subject: path,
      cause,
      fix: 'Check the path (a checkpoint is a .safetensors file with a .json beside it).',
    });
  }
  return parseSafetensors(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength), path);
}

/**
 * Serialises tensors in the order given (safetensors readers sort nothing; PyTorch's `save_file` sorts by size,
 * which no reader depends on). The header is padded with spaces to a multiple of 8 bytes, as the reference writer
 * does, so the data section is 8-byte aligned.
 */
export function serializeSafetensors(
  tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new SpikedriveError(
        `tensor ${name} has ${t.data.length} values for shape [${t.shape.join(', ')}]`,
        { subject: name, fix: 'Pass data matching the shape.' },
      );
    }
    const dtype = t.data instanceof BigInt64Array ? 'I64' : 'F32';
    const size = count * (dtype === 'I64' ? 8 : 4);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  const pad = (8 - ((Buffer.byteLength(json) + 8) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const [, t] of entries) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, at);
    at += bytes.byteLength;
  }
  return out;
}

/** Writes a safetensors file atomically (temporary file, then rename). */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
