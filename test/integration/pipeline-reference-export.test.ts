// A safetensors file as the reference PyTorch model exports it (`save_file(model.state_dict())`: the header of a real
// export of ridgerchu/SAD d948477 at the paper config, committed as JSON; the data rebuilt here with the export's
// formula) loads into the `paper` preset: every name, dtype, shape and byte offset, and conv/linear layouts.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSadConfig, openModel } from '../../src/pipeline/index.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface Entry {
  dtype: 'F32' | 'I64';
  shape: number[];
  data_offsets: [number, number];
}

describe('reference export → paper preset', () => {
  it('loads strictly, with the formula values in place (OIHW → HWIO, [out, in] → [in, out] handled)', () => {
    const header = JSON.parse(
      readFileSync(
        new URL('../fixtures/model-golden/pipeline/reference-export-header.json', import.meta.url),
        'utf8',
      ),
    ) as Record<string, Entry | Record<string, string>>;
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    expect(names.length).toBe(697);
    const json = new TextEncoder().encode(JSON.stringify(header));
    const end = Math.max(...names.map((n) => (header[n] as Entry).data_offsets[1]));
    const file = new Uint8Array(8 + json.length + end);
    new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
    file.set(json, 8);
    const data = new DataView(file.buffer, 8 + json.length);
    // The export's formula: 0.05·sin(0.37 i + 0.11 k) for parameter k (running_var 1 + 0.5|sin|); buffers as built.
    const formula = new Set([
      'encoder.patch_embed.downsample1_1.encode_conv.weight',
      'planning.GRU.linear_ih.weight',
      'decoder.segmentation_head.0.weight',
    ]);
    names.forEach((name, k) => {
      const e = header[name] as Entry;
      const n = e.shape.reduce((a, b) => a * b, 1);
      if (e.dtype === 'I64') {
        for (let i = 0; i < n; i++)
          data.setBigInt64(
            e.data_offsets[0] + 8 * i,
            name === 'bev_dimension' ? (i < 2 ? 200n : 1n) : 0n,
            true,
          );
      } else if (name === 'bev_resolution' || name === 'bev_start_position') {
        const v = name === 'bev_resolution' ? [0.5, 0.5, 20] : [-49.75, -49.75, 0];
        for (let i = 0; i < 3; i++) data.setFloat32(e.data_offsets[0] + 4 * i, v[i], true);
      } else if (formula.has(name) || name.endsWith('running_var')) {
        for (let i = 0; i < n; i++) {
          const v = name.endsWith('running_var')
            ? 1 + 0.5 * Math.abs(Math.sin(0.37 * i + 0.11 * k))
            : 0.05 * Math.sin(0.37 * i + 0.11 * k);
          data.setFloat32(e.data_offsets[0] + 4 * i, v, true);
        }
      }
    });
    const dir = mkdtempSync(join(tmpdir(), 'ref-export-'));
    const path = join(dir, 'sad.safetensors');
    writeFileSync(path, file);
    const config = loadSadConfig('paper', ['INSTANCE_SEG.ENABLED=true', 'INSTANCE_FLOW.ENABLED=true']);
    const opened = openModel({ checkpoint: path, config, strict: true });
    expect(opened.meta).toBeNull();
    expect(opened.unexpected).toEqual([]);
    const state = opened.model.stateDict();
    expect([...state.keys()]).toEqual(names);
    for (const name of formula) {
      const k = names.indexOf(name);
      const got = state.get(name)?.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < got.length; i++)
        worst = Math.max(worst, Math.abs(got[i] - Math.fround(0.05 * Math.sin(0.37 * i + 0.11 * k))));
      expect(worst, name).toBe(0);
    }
    opened.model.dispose();
  }, 180_000);
});
