// Reads the golden fixtures that the reference Python metrics wrote (test/fixtures/eval-golden, made by
// running ridgerchu/SAD's sad/metrics.py and sad/utils/instance.py; see the note in each file).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { expect } from 'vitest';

const GOLDEN_DIR = fileURLToPath(new URL('../../fixtures/eval-golden/', import.meta.url));

export interface EncodedArray {
  dtype: string;
  shape: number[];
  zlib64: string;
  /** Present when float values were stored as integers × scale (a power of two, so exact in float32). */
  scale?: number;
}

export function loadGolden<T>(
  name: string,
): T & { reference: { repo: string; commit: string; note: string } } {
  return JSON.parse(readFileSync(`${GOLDEN_DIR}${name}`, 'utf8'));
}

type Decoded = Float32Array | Float64Array | Int32Array | Int16Array | Uint8Array;

export function decode(encoded: EncodedArray): Decoded {
  const bytes = inflateSync(Buffer.from(encoded.zlib64, 'base64'));
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  let values: Decoded;
  switch (encoded.dtype) {
    case 'float32':
      values = new Float32Array(buffer);
      break;
    case 'float64':
      values = new Float64Array(buffer);
      break;
    case 'int32':
      values = new Int32Array(buffer);
      break;
    case 'int16':
      values = new Int16Array(buffer);
      break;
    case 'uint8':
      values = new Uint8Array(buffer);
      break;
    default:
      throw new Error(`unknown dtype ${encoded.dtype}`);
  }
  const count = encoded.shape.reduce((a, b) => a * b, 1);
  expect(values.length).toBe(count);
  if (encoded.scale !== undefined) {
    const scale = encoded.scale;
    return Float32Array.from(values, (v) => v / scale);
  }
  return values;
}

/**
 * Every element within `tolerance` of the reference (1e-6 unless said otherwise), relative to the value's size
 * above 1 (the reference computes in float32, whose rounding grows with the value).
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance * Math.max(1, Math.abs(expected[i])))) {
      throw new Error(`element ${i}: ${actual[i]} vs reference ${expected[i]} (tolerance ${tolerance})`);
    }
  }
}
