// The safetensors reader/writer: round trips, every dtype the reader accepts (bytes written by hand as the format
// specifies), alignment, and clear errors for damaged files.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
} from '../../../src/pipeline/index.ts';
import { SpikedriveError } from '../../../src/util/index.ts';

/** A file built byte by byte: header JSON + data, as huggingface/safetensors writes it. */
function handBuilt(header: Record<string, unknown>, data: number[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips F32 and I64 tensors with metadata, 8-byte aligned data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const path = join(dir, 'a.safetensors');
    await writeSafetensors(
      path,
      {
        'encoder.w': { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-8, -0]) },
        bev_dimension: { shape: [3], data: BigInt64Array.from([200n, 200n, 1n]) },
        scalar: { shape: [], data: Float32Array.of(0.25) },
      },
      { format: 'pt' },
    );
    const bytes = readFileSync(path);
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const file = readSafetensors(path);
    expect(file.metadata).toEqual({ format: 'pt' });
    expect([...file.tensors.keys()]).toEqual(['encoder.w', 'bev_dimension', 'scalar']);
    expect(Array.from(file.tensors.get('encoder.w')?.data as Float32Array)).toEqual([
      1,
      -2,
      3.5,
      0,
      Math.fround(1e-8),
      -0,
    ]);
    expect(file.tensors.get('bev_dimension')).toEqual({
      dtype: 'I64',
      shape: [3],
      data: BigInt64Array.from([200n, 200n, 1n]),
    });
    expect(file.tensors.get('scalar')?.shape).toEqual([]);
  });

  it('reads F16, BF16, I32, U8 and BOOL (floats widened to float32)', () => {
    // F16 1.0 = 0x3c00, −2.0 = 0xc000; BF16 1.5 = 0x3fc0; I32 −7; U8 [3, 250]; BOOL [1, 0].
    const file = parseSafetensors(
      handBuilt(
        {
          h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
          b: { dtype: 'BF16', shape: [1], data_offsets: [4, 6] },
          i: { dtype: 'I32', shape: [1], data_offsets: [6, 10] },
          u: { dtype: 'U8', shape: [2], data_offsets: [10, 12] },
          t: { dtype: 'BOOL', shape: [2], data_offsets: [12, 14] },
        },
        [0x00, 0x3c, 0x00, 0xc0, 0xc0, 0x3f, 0xf9, 0xff, 0xff, 0xff, 3, 250, 1, 0],
      ),
    );
    expect(Array.from(file.tensors.get('h')?.data as Float32Array)).toEqual([1, -2]);
    expect(Array.from(file.tensors.get('b')?.data as Float32Array)).toEqual([1.5]);
    expect(Array.from(file.tensors.get('i')?.data as Int32Array)).toEqual([-7]);
    expect(Array.from(file.tensors.get('u')?.data as Uint8Array)).toEqual([3, 250]);
    expect(Array.from(file.tensors.get('t')?.data as Uint8Array)).toEqual([1, 0]);
  });

  it('rejects truncated files, unknown dtypes and offsets that do not match the shape', () => {
    const good = serializeSafetensors({ x: { shape: [4], data: new Float32Array(4) } });
    expect(() => parseSafetensors(good.subarray(0, 20), 'cut.safetensors')).toThrow(SpikedriveError);
    expect(() => parseSafetensors(good.subarray(0, good.length - 4), 'short.safetensors')).toThrow(
      /data_offsets/,
    );
    expect(() =>
      parseSafetensors(
        handBuilt({ x: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Array(8).fill(0)),
      ),
    ).toThrow(/unsupported dtype/);
    expect(() =>
      parseSafetensors(
        handBuilt({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Array(8).fill(0)),
      ),
    ).toThrow(/needs 12 bytes/);
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    writeFileSync(join(dir, 'junk.safetensors'), 'not a checkpoint at all');
    expect(() => readSafetensors(join(dir, 'junk.safetensors'))).toThrow(/junk.safetensors/);
    expect(() => readSafetensors(join(dir, 'missing.safetensors'))).toThrow(/cannot read checkpoint/);
  });
});
