import MersenneTwister from 'mersenne-twister';
import { SpikedriveError } from '../util/errors.ts';

/**
 * The uniform source the trajectory sampler draws from: one number in [0, 1) per call. `createRng(seed)` from
 * `src/util` fits (its `next`), and so does `numpyRandomState(seed)`, which reproduces the reference's numpy
 * draws exactly.
 */
export interface UniformSource {
  next(): number;
}

/**
 * numpy's legacy global generator after `np.random.seed(seed)` (MT19937 seeded with `init_genrand`, doubles from
 * two 32-bit words with 53-bit resolution, as `np.random.rand` / `random_sample`). The reference sampler calls the
 * unseeded global `np.random`; seeding it with the same integer there and here gives identical candidates.
 */
export function numpyRandomState(seed: number): UniformSource {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new SpikedriveError(`A numpy seed must be an integer in [0, 2^32 − 1], got ${seed}`, {
      subject: 'seed',
      fix: 'Pass the same non-negative integer you gave np.random.seed in the reference.',
    });
  }
  const mt = new MersenneTwister(seed);
  return { next: () => mt.random_long() };
}

/** numpy's `npy::double_tag::less`: NaNs sort last. */
function less(a: number, b: number): boolean {
  return a < b || (Number.isNaN(b) && !Number.isNaN(a));
}

// numpy's introsort switches to insertion sort below this partition size (`SMALL_QUICKSORT`).
const SMALL_QUICKSORT = 15;

/** numpy `aheapsort_` on tosort[lo .. lo + n − 1] (the introsort's depth-limit fallback). */
function argHeapsort(v: ArrayLike<number>, tosort: Int32Array, lo: number, n: number): void {
  // 1-based heap indexing as numpy: a[k] = tosort[lo + k − 1].
  const a = (k: number) => tosort[lo + k - 1];
  const set = (k: number, value: number) => {
    tosort[lo + k - 1] = value;
  };
  for (let l = n >> 1; l > 0; --l) {
    const tmp = a(l);
    let i = l;
    let j = l << 1;
    while (j <= n) {
      if (j < n && less(v[a(j)], v[a(j + 1)])) j += 1;
      if (less(v[tmp], v[a(j)])) {
        set(i, a(j));
        i = j;
        j += j;
      } else break;
    }
    set(i, tmp);
  }
  for (let m = n; m > 1; ) {
    const tmp = a(m);
    set(m, a(1));
    m -= 1;
    let i = 1;
    let j = 2;
    while (j <= m) {
      if (j < m && less(v[a(j)], v[a(j + 1)])) j++;
      if (less(v[tmp], v[a(j)])) {
        set(i, a(j));
        i = j;
        j += j;
      } else break;
    }
    set(i, tmp);
  }
}

/**
 * `np.argsort(values)` with numpy's default (`quicksort` = introsort, `npysort/quicksort.cpp` `aquicksort_`),
 * element for element, including the order of ties. Hand-written because the reference sorts its candidates by
 * final lateral offset and all 360 straight lines tie there (x = ±0): a stable sort would order them differently.
 */
export function numpyArgsort(values: ArrayLike<number>): Int32Array {
  const num = values.length;
  const tosort = new Int32Array(num);
  for (let i = 0; i < num; i++) tosort[i] = i;
  if (num < 2) return tosort;
  const v = values;
  const stack: number[] = [];
  const depths: number[] = [];
  let msb = 0;
  for (let u = num; u > 1; u >>= 1) msb++;
  let cdepth = msb * 2;
  let pl = 0;
  let pr = num - 1;
  const swap = (i: number, j: number) => {
    const t = tosort[i];
    tosort[i] = tosort[j];
    tosort[j] = t;
  };
  for (;;) {
    if (cdepth < 0) {
      argHeapsort(v, tosort, pl, pr - pl + 1);
    } else {
      while (pr - pl > SMALL_QUICKSORT) {
        const pm = pl + ((pr - pl) >> 1);
        if (less(v[tosort[pm]], v[tosort[pl]])) swap(pm, pl);
        if (less(v[tosort[pr]], v[tosort[pm]])) swap(pr, pm);
        if (less(v[tosort[pm]], v[tosort[pl]])) swap(pm, pl);
        const vp = v[tosort[pm]];
        let pi = pl;
        let pj = pr - 1;
        swap(pm, pj);
        for (;;) {
          do ++pi;
          while (less(v[tosort[pi]], vp));
          do --pj;
          while (less(vp, v[tosort[pj]]));
          if (pi >= pj) break;
          swap(pi, pj);
        }
        swap(pi, pr - 1);
        // Push the larger partition, continue with the smaller.
        if (pi - pl < pr - pi) {
          stack.push(pi + 1, pr);
          pr = pi - 1;
        } else {
          stack.push(pl, pi - 1);
          pl = pi + 1;
        }
        depths.push(--cdepth);
      }
      for (let pi = pl + 1; pi <= pr; ++pi) {
        const vi = tosort[pi];
        const vp = v[vi];
        let pj = pi;
        let pk = pi - 1;
        while (pj > pl && less(vp, v[tosort[pk]])) tosort[pj--] = tosort[pk--];
        tosort[pj] = vi;
      }
    }
    if (stack.length === 0) break;
    pr = stack.pop() as number;
    pl = stack.pop() as number;
    cdepth = depths.pop() as number;
  }
  return tosort;
}

/** Python's float `%` (numpy `remainder`): the result takes the divisor's sign; 0 is +0. */
export function pyMod(a: number, b: number): number {
  let mod = a % b;
  if (mod !== 0) {
    if (b < 0 !== mod < 0) mod += b;
  } else {
    mod = b < 0 ? -0 : 0;
  }
  return mod;
}
