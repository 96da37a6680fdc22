// glibc-exact sin/cos (what Shapely's rotate uses through CPython) and the exact FMA behind them.
import { describe, expect, it } from 'vitest';
import { cosGlibc, fma, sinGlibc } from '../../../data-loaders/nuscenes/map/trig.ts';
import { readGolden } from './map-test-helpers.ts';

describe('glibc sin/cos port', () => {
  it('fma rounds once', () => {
    // 0.1 · 10 − 1 is exactly 2^-54 in binary; an unfused multiply-add gives 0.
    expect(0.1 * 10 - 1).toBe(0);
    expect(fma(0.1, 10, -1)).toBe(2 ** -54);
    const a = 1 + 2 ** -52;
    expect(fma(a, a, -(1 + 2 ** -51))).toBe(2 ** -104);
    expect(fma(3, 4, 5)).toBe(17);
    expect(Object.is(fma(-0, 1, -0), -0)).toBe(true);
  });

  it('equals CPython math.sin / math.cos bit for bit on 3011 arguments', () => {
    const { cases } = readGolden<{ cases: [number, number, number][] }>('libm-trig.json');
    let differing = 0;
    for (const [x, s, c] of cases) {
      if (!Object.is(sinGlibc(x), s) || !Object.is(cosGlibc(x), c)) differing++;
    }
    expect(differing).toBe(0);
  });

  it('differs from V8 Math.sin where glibc does (the reason for the port)', () => {
    // 14.62316263918612° in radians: glibc gives ...676 where the correctly rounded value is ...67.
    const r = (14.62316263918612 * Math.PI) / 180.0;
    expect(sinGlibc(r)).toBe(0.25246054792175676);
    expect(cosGlibc(r)).toBe(0.9676071887615585);
  });
});
