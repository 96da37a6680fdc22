import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonArrayScanner, readJsonArray, readJsonArraySync } from '../../../data-loaders/nuscenes/index.ts';
import { SpikedriveError } from '../../../src/util/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'spikedrive-json-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

// Records whose strings hold braces, brackets, escaped quotes, backslashes and non-ASCII text.
const RECORDS = [
  { token: 'a', name: 'brace } and [ bracket', nested: [[1, 2], { deep: '{"x": 1}' }] },
  { token: 'b', name: 'quote " and backslash \\ and \\" end', list: [] },
  { token: 'c', name: 'ünïcödé ✓ 北京', value: -1.5e-7 },
  { token: 'd' },
];
const TEXT = `[\n${RECORDS.map((r) => JSON.stringify(r, null, 1)).join(',\n')}\n]\n`;

describe('streaming JSON array reader', () => {
  it('splits at every chunk size into the records JSON.parse gives', () => {
    const path = file('tricky.json', TEXT);
    for (const chunkBytes of [1, 2, 3, 7, 16, 64, 1 << 20]) {
      const got: unknown[] = [];
      const firsts: number[] = [];
      const n = readJsonArraySync(
        path,
        'tricky.json',
        (records, first) => {
          firsts.push(first);
          got.push(...records);
        },
        { streamThresholdBytes: 0, chunkBytes },
      );
      expect(n).toBe(4);
      expect(got).toEqual(RECORDS);
      // Batches arrive in order with their starting index.
      expect(firsts[0]).toBe(0);
    }
  });

  it('reads asynchronously too, and handles [] and whitespace', async () => {
    const got: unknown[] = [];
    await readJsonArray(file('t2.json', TEXT), 't2.json', (r) => got.push(...r), {
      streamThresholdBytes: 0,
      chunkBytes: 5,
    });
    expect(got).toEqual(RECORDS);
    expect(
      readJsonArraySync(file('empty.json', '  [ \n ] \n'), 'empty.json', () => {}, {
        streamThresholdBytes: 0,
      }),
    ).toBe(0);
  });

  it('reports structural errors with line and column', () => {
    const cases: [string, RegExp][] = [
      ['[{"token": "a"} {"token": "b"}]', /line 1, column 17: expected , or ] between table records/],
      ['[\n{"token": "a"},\n]', /line 3, column 1: trailing , before \]/],
      ['[\n  1, 2]', /line 2, column 3: table records must be objects, found "1"/],
      ['[{"token": "a"},,{"token": "b"}]', /line 1, column 17: unexpected , \(empty record\)/],
      ['[{"token": "a"}] x', /line 1, column 18: unexpected data after the closing \]/],
      ['\n\n  {"token": 1}', /line 3, column 3: the top level is not an array/],
      ['[\n{"token": "a",\n "x": tru}\n]', /line 3, column 10/],
    ];
    for (const [text, pattern] of cases) {
      for (const chunkBytes of [3, 1 << 20]) {
        let error: unknown;
        try {
          readJsonArraySync(file('bad.json', text), 'bad.json', () => {}, {
            streamThresholdBytes: 0,
            chunkBytes,
          });
        } catch (e) {
          error = e;
        }
        expect(error, text).toBeInstanceOf(SpikedriveError);
        expect((error as Error).message, text).toMatch(pattern);
      }
    }
  });

  it('the scanner can be fed by hand', () => {
    const got: unknown[] = [];
    const scanner = new JsonArrayScanner(file('hand.json', TEXT), 'hand.json', (r) => got.push(...r));
    const bytes = Buffer.from(TEXT);
    scanner.push(bytes.subarray(0, 40));
    scanner.push(bytes.subarray(40));
    expect(scanner.end()).toBe(4);
    expect(got).toEqual(RECORDS);
  });
});
