// The trajectory sampler: determinism, structure (counts, sorting, lines), and hand-computed circle, clothoid and
// line endpoints from controlled draws.
import { describe, expect, it } from 'vitest';
import {
  commandThird,
  fresnel,
  numpyArgsort,
  numpyRandomState,
  pyMod,
  sampleTrajectories,
  type UniformSource,
} from '../../../src/planning/index.ts';
import { createRng } from '../../../src/util/rng.ts';
import { expectNear, expectSpikedriveError } from './_helpers.ts';

/** A uniform source that replays fixed draws (and fails loudly if the sampler asks for more). */
function replay(values: number[]): UniformSource & { used: () => number } {
  let i = 0;
  return {
    next: () => {
      if (i >= values.length) throw new Error(`sampler drew more than ${values.length} values`);
      return values[i++];
    },
    used: () => i,
  };
}

const row = (data: Float32Array, points: number, i: number) =>
  Array.from({ length: points }, (_, p) =>
    Array.from(data.subarray((i * points + p) * 3, (i * points + p + 1) * 3)),
  );

describe('sampleTrajectories', () => {
  const options = { sampleNum: 1800, nFutureFrames: 6 };
  const inputs = { v0Mps: 6.5, steeringRad: 0.08 };

  it('is deterministic for a seed and differs between seeds', () => {
    const a = sampleTrajectories(inputs, createRng(7), options);
    const b = sampleTrajectories(inputs, createRng(7), options);
    const c = sampleTrajectories(inputs, createRng(8), options);
    expect(a.shape).toEqual([1800, 7, 3]);
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(c.data.buffer))).toBe(false);
  });

  it('draws 3M + 2·(curves) uniforms in the reference order (numpy stream length)', () => {
    const src = replay(Array.from({ length: 8280 }, (_, i) => ((i * 0.618034) % 1) * 0.999));
    sampleTrajectories(inputs, src, options);
    expect(src.used()).toBe(3 * 1800 + 2 * 1440);
  });

  it('starts at the origin, is sorted by final x, and keeps 360 straight lines in the FORWARD third', () => {
    const set = sampleTrajectories(inputs, createRng(3), options);
    const P = 7;
    let lines = 0;
    const lineRows: number[] = [];
    let previous = -Infinity;
    for (let i = 0; i < 1800; i++) {
      const pts = row(set.data, P, i);
      expect(Math.abs(pts[0][0]) + Math.abs(pts[0][1]) + Math.abs(pts[0][2])).toBeLessThan(1e-5);
      expect(pts[P - 1][0]).toBeGreaterThanOrEqual(previous);
      previous = pts[P - 1][0];
      if (pts.every((p) => p[0] === 0 && p[2] === 0)) {
        lines++;
        lineRows.push(i);
        // y = v·t + a·t²/2 with a ∈ [−3, 7], v ∈ [0, 15] (or v0): recover both from t = 0.5 and t = 1.
        const [y1, y2] = [pts[1][1], pts[2][1]];
        const a = (y2 - 2 * y1) / 0.25;
        const v = (y1 - a * 0.125) / 0.5;
        expect(a).toBeGreaterThan(-3 - 1e-3);
        expect(a).toBeLessThan(7 + 1e-3);
        expect(v).toBeGreaterThan(-1e-3);
        expect(v).toBeLessThan(15 + 1e-3);
        for (let p = 1; p < P; p++) {
          const t = 0.5 * p;
          expect(pts[p][1]).toBeCloseTo(v * t + (a * t * t) / 2, 3);
        }
      }
    }
    expect(lines).toBe(360);
    const [start, end] = commandThird('FORWARD', 1800);
    expect(lineRows.every((r) => r >= start && r < end)).toBe(true);
    // The LEFT third ends left of the RIGHT third's start.
    expect(row(set.data, P, 599)[P - 1][0]).toBeLessThan(0);
    expect(row(set.data, P, 1200)[P - 1][0]).toBeGreaterThan(0);
  });

  it('mirrors: steering −s gives the x-mirror of steering s (as sets)', () => {
    const left = sampleTrajectories({ v0Mps: 5, steeringRad: 0.2 }, createRng(11), {
      sampleNum: 300,
      nFutureFrames: 6,
    });
    const right = sampleTrajectories({ v0Mps: 5, steeringRad: -0.2 }, createRng(11), {
      sampleNum: 300,
      nFutureFrames: 6,
    });
    const key = (d: Float32Array, i: number, sign: number) =>
      Array.from({ length: 7 }, (_, p) => [sign * d[(i * 7 + p) * 3], d[(i * 7 + p) * 3 + 1]])
        .flat()
        .map((v) => v.toFixed(3))
        .join(',');
    const a = new Set(Array.from({ length: 300 }, (_, i) => key(left.data, i, 1)));
    const b = new Set(Array.from({ length: 300 }, (_, i) => key(right.data, i, -1)));
    expect([...a].filter((k) => !b.has(k)).length).toBeLessThanOrEqual(2); // rounding at the 3rd decimal only
  });

  // Controlled draws for M = 5 (1 line, 2 left, 2 right curves) with κ = 0.1 (steering 0.1·2.588/2):
  // accelerations u = 0.5 → a = 2 m/s²; speeds 15u; every speed choice u = 0.9 → the random speed;
  // curve j: 0 circle (v 6), 1 clothoid (α 20, v chosen so (κ/π + L(3 s))/α = 1.5), 2 circle mirrored, 3 clothoid mirrored.
  const kappa = 0.1;
  const steering = (kappa * 2.588) / 2;
  const xi0 = kappa / Math.PI;
  const vClothoid = (1.5 * 20 - xi0 - 9) / 3; // L(3) = 3v + 9
  const draws = [
    ...[0.5, 0.5, 0.5, 0.5, 0.5], // accelerations
    ...[0.4, 0.4, vClothoid / 15, 0.4, 0.5], // 15·u speeds: line 6, circle 6, clothoid, circle 6, clothoid 7.5
    ...[0.9, 0.9, 0.9, 0.9, 0.9], // random speed every time
    ...[0.5, (20 - 6) / 74, 0.5, 0.5], // α = 74u + 6
    ...[0.1, 0.9, 0.1, 0.9], // circle iff u < 0.2
  ];
  const small = () =>
    sampleTrajectories({ v0Mps: 0, steeringRad: steering }, replay(draws), {
      sampleNum: 5,
      nFutureFrames: 6,
    });
  const find = (data: Float32Array, x: number) => {
    let best = 0;
    for (let i = 1; i < 5; i++)
      if (Math.abs(data[(i * 7 + 6) * 3] - x) < Math.abs(data[(best * 7 + 6) * 3] - x)) best = i;
    return row(data, 7, best)[6];
  };

  it('circle endpoint: r = 10 m, L = 27 m → φ = 2.7 rad (hand-computed), and its mirror', () => {
    const { data } = small();
    const x = -10 + 10 * Math.cos(2.7); // −19.0407
    const y = 10 * Math.sin(2.7); // 4.2738
    expectNear(find(data, x), [x, y, 2.7], 1e-5, 'left circle');
    expectNear(find(data, -x), [-x, y, -2.7], 1e-5, 'mirrored circle');
  });

  it('clothoid endpoint from tabulated Fresnel values C(1.5), S(1.5) (hand-computed)', () => {
    const { data } = small();
    const C = 0.4452611760398216;
    const S = 0.697504960082093;
    const s0 = xi0 / 20; // start argument: C ≈ s0, S ≈ (π/6)s0³
    const xs = -20 * S - -20 * ((Math.PI / 6) * s0 ** 3);
    const ys = 20 * C - 20 * s0;
    const th0 = (Math.PI / 2) * s0 * s0;
    const x = Math.cos(th0) * xs + Math.sin(th0) * ys; // ≈ −13.95006
    const y = -Math.sin(th0) * xs + Math.cos(th0) * ys; // ≈ 8.87345
    const theta = (Math.PI / 2) * 1.5 * 1.5 - th0 - 2 * Math.PI; // wrapped into [−π, π)
    expectNear(find(data, x), [x, y, theta], 1e-5, 'left clothoid');
  });

  it('line waypoints: y = 6t + t² at t = 0.5 … 3 s', () => {
    const { data } = small();
    const line = row(data, 7, 2); // sorted: 2 left curves, the line, 2 right curves
    expectNear(
      line.flat(),
      [0, 0, 0, 0, 3.25, 0, 0, 7, 0, 0, 11.25, 0, 0, 16, 0, 0, 21.25, 0, 0, 27, 0],
      1e-6,
      'line',
    );
  });

  it('rejects bad options and inputs with a clear error', () => {
    expectSpikedriveError(
      () => sampleTrajectories({ v0Mps: Number.NaN, steeringRad: 0 }, createRng(1), options),
      /finite/,
      /CAN bus/,
    );
    expectSpikedriveError(
      () => sampleTrajectories(inputs, createRng(1), { sampleNum: 1.5, nFutureFrames: 6 }),
      /SAMPLE_NUM/,
    );
    expectSpikedriveError(
      () => sampleTrajectories(inputs, createRng(1), { sampleNum: 30, nFutureFrames: 0 }),
      /N_FUTURE_FRAMES/,
    );
  });
});

describe('numpy compatibility', () => {
  it('numpyRandomState(42) gives np.random.seed(42); np.random.rand() values', () => {
    const r = numpyRandomState(42);
    expect([r.next(), r.next(), r.next()]).toEqual([
      0.3745401188473625, 0.9507143064099162, 0.7319939418114051,
    ]);
    expectSpikedriveError(() => numpyRandomState(-1), /numpy seed/);
  });

  it('numpyArgsort reproduces numpy’s introsort tie order', () => {
    expect(Array.from(numpyArgsort(new Float64Array(20)))).toEqual([
      0, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 18, 19,
    ]);
    const v = [0, -0, 1, 0, -1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, -0];
    expect(Array.from(numpyArgsort(v))).toEqual([
      4, 0, 15, 14, 13, 12, 11, 10, 9, 8, 6, 5, 3, 1, 16, 17, 2, 7,
    ]);
  });

  it('pyMod follows Python’s float %', () => {
    expect(pyMod(-7.5, 2 * Math.PI)).toBeCloseTo(5.0663706143591725, 14);
    expect(pyMod(7.5, 2 * Math.PI)).toBeCloseTo(1.2168146928204138, 14);
    expect(Object.is(pyMod(-0, 2 * Math.PI), 0)).toBe(true);
  });

  it('fresnel matches scipy.special.fresnel (tabulated) and is odd', () => {
    const table: [number, number, number][] = [
      [0.5, 0.4923442258714464, 0.06473243285999929],
      [1, 0.779893400376823, 0.4382591473903547],
      [1.5, 0.44526117603982157, 0.697504960082093],
      [2, 0.48825340607534073, 0.34341567836369824],
      [2.5, 0.45741300964177706, 0.6191817558195929],
      [5, 0.5636311887040122, 0.4991913819171169],
    ];
    for (const [x, c, s] of table) {
      const r = fresnel(x);
      expect(Math.abs(r.c - c)).toBeLessThan(1e-14);
      expect(Math.abs(r.s - s)).toBeLessThan(1e-14);
      const m = fresnel(-x);
      expect([m.c, m.s]).toEqual([-r.c, -r.s]);
    }
    const far = fresnel(1e4);
    expect(far.c).toBeCloseTo(0.5, 4);
    expect(far.s).toBeCloseTo(0.5, 4);
  });
});
