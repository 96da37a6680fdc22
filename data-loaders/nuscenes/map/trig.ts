/**
 * sin and cos exactly as glibc 2.36's x86-64 FMA build computes them (`__sin_fma` / `__cos_fma`, the
 * variant every CPU since 2013 selects), which is what CPython — and so Shapely's `affinity.rotate` in the
 * devkit — uses. V8's Math.sin/cos differ from it by one ulp for a few percent of angles, and the devkit's
 * masks truncate rotated coordinates, so one ulp can move a lane divider by a pixel.
 *
 * Hand-written port (no npm package reproduces glibc): the algorithm of sysdeps/ieee754/dbl-64/s_sin.c
 * with every multiply-add fused exactly where GCC fused it in the shipped libm (read from its machine
 * code), an exact software FMA, and the sin/cos table (sin and cos of k/128 as high + low doubles)
 * recomputed here in big-integer arithmetic. |x| >= 105414350 (never a map angle) falls back to Math.
 */

const view = new DataView(new ArrayBuffer(8));

function decompose(x: number): [bigint, number] {
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const expBits = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (expBits === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = expBits - 1075;
  }
  return [hi >>> 31 ? -mant : mant, exp];
}

function bitLength(v: bigint): number {
  return v.toString(2).length;
}

/** m · 2^e rounded to the nearest double, ties to even (normal range only, which is all we need). */
function roundToDouble(m: bigint, e: number): number {
  if (m === 0n) return 0;
  const negative = m < 0n;
  let mag = negative ? -m : m;
  let exp = e;
  const len = bitLength(mag);
  if (len > 53) {
    const shift = len - 53;
    const q = mag >> BigInt(shift);
    const r = mag - (q << BigInt(shift));
    const half = 1n << BigInt(shift - 1);
    mag = r > half || (r === half && (q & 1n) === 1n) ? q + 1n : q;
    exp += shift;
  }
  const v = Number(mag) * 2 ** exp;
  return negative ? -v : v;
}

/** Exact fused multiply-add: round(a·b + c) once. */
export function fma(a: number, b: number, c: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || !Number.isFinite(c)) return a * b + c;
  if (a === 0 || b === 0) return a * b + c;
  if (c === 0) return a * b;
  const [ma, ea] = decompose(a);
  const [mb, eb] = decompose(b);
  const [mc, ec] = decompose(c);
  const ep = ea + eb;
  const e = Math.min(ep, ec);
  const sum = ((ma * mb) << BigInt(ep - e)) + (mc << BigInt(ec - e));
  return sum === 0n ? 0 : roundToDouble(sum, e);
}

// Constants of glibc's dbl-64 sin/cos (usncs.h, s_sin.c).
const S1 = -0.16666666666666666;
const S2 = 0.008333333333332329;
const S3 = -0.00019841269834414642;
const S4 = 2.755729806860771e-6;
const S5 = -2.5022014848318398e-8;
const BIG = 52776558133248;
const HP0 = 1.5707963267948966;
const HP1 = 6.123233995736766e-17;
const MP1 = 1.5707963407039642;
const MP2 = -1.3909067564377153e-8;
const PP3 = -4.97899623147991e-17;
const PP4 = -1.9034889620193266e-25;
const HPINV = 0.6366197723675814;
const TOINT = 6755399441055744;
const SN3 = -0.16666666666666488;
const SN5 = 0.008333332142857223;
const CS2 = 0.5; // 4.99999999999999999999950396842453E-01 as a double
const CS4 = -0.04166666666666644;
const CS6 = 0.0013888887400793761;

let table: Float64Array | null = null;

/** sin and cos of k/128 (k = 0..109) as [sin_hi, sin_lo, cos_hi, cos_lo] each, in 300-bit fixed point. */
function sinCosTable(): Float64Array {
  if (table) return table;
  const bits = 300n;
  const one = 1n << bits;
  const t = new Float64Array(440);
  for (let k = 0; k < 110; k++) {
    const x = (BigInt(k) << bits) / 128n;
    let term = one;
    let sin = 0n;
    let cos = 0n;
    for (let n = 0; n < 80; n++) {
      if (n > 0) term = (term * x) / (BigInt(n) << bits);
      if (term === 0n) break;
      const r = n % 4;
      if (r === 0) cos += term;
      else if (r === 1) sin += term;
      else if (r === 2) cos -= term;
      else sin -= term;
    }
    const split = (v: bigint): [number, number] => {
      const hi = roundToDouble(v, -300);
      const [m, e] = decompose(hi);
      const exact = e + 300 >= 0 ? m << BigInt(e + 300) : m >> BigInt(-(e + 300));
      return [hi, roundToDouble(v - exact, -300)];
    };
    const [sh, sl] = split(sin);
    const [ch, cl] = split(cos);
    t.set([sh, sl, ch, cl], 4 * k);
  }
  table = t;
  return t;
}

function tableIndex(u: number): number {
  // The low 32 bits of big + |x|: |x| rounded to a multiple of 1/128.
  view.setFloat64(0, u);
  return view.getUint32(4) << 2;
}

function copySign(v: number, s: number): number {
  const neg = s < 0 || Object.is(s, -0);
  return neg === (v < 0 || Object.is(v, -0)) ? v : -v;
}

function taylorSin(xx: number, x: number, dx: number): number {
  let p = fma(S5, xx, S4);
  p = fma(p, xx, S3);
  p = fma(p, xx, S2);
  p = fma(p, xx, S1);
  const t = fma(xx, fma(p, x, -(0.5 * dx)), dx);
  return x + t;
}

function doSin(x0: number, dx0: number): number {
  if (Math.abs(x0) < 0.126) return taylorSin(x0 * x0, x0, dx0);
  const dx = x0 <= 0 ? -dx0 : dx0;
  const tab = sinCosTable();
  const u = BIG + Math.abs(x0);
  const k = tableIndex(u);
  const x = Math.abs(x0) - (u - BIG);
  const xx = x * x;
  const s = x + fma(x * xx, fma(xx, SN5, SN3), dx);
  const c = fma(x, dx, xx * fma(xx, fma(xx, CS6, CS4), CS2));
  let cor = fma(s, tab[k + 3], tab[k + 1]);
  cor = fma(-c, tab[k], cor);
  cor = fma(s, tab[k + 2], cor);
  return copySign(tab[k] + cor, x0);
}

function doCos(x0: number, dx0: number): number {
  const dx = x0 < 0 ? -dx0 : dx0;
  const tab = sinCosTable();
  const u = BIG + Math.abs(x0);
  const k = tableIndex(u);
  const x = Math.abs(x0) - (u - BIG) + dx;
  const xx = x * x;
  const s = fma(x * xx, fma(xx, SN5, SN3), x);
  const c = xx * fma(xx, fma(xx, CS6, CS4), CS2);
  let cor = fma(-s, tab[k + 1], tab[k + 3]);
  cor = fma(-c, tab[k + 2], cor);
  cor = fma(-s, tab[k], cor);
  return tab[k + 2] + cor;
}

function reduceSinCos(x: number): { a: number; da: number; n: number } {
  const t = fma(x, HPINV, TOINT);
  const xn = t - TOINT;
  view.setFloat64(0, t);
  const n = view.getUint32(4) & 3;
  const y = fma(-xn, MP2, fma(-xn, MP1, x));
  const t2 = fma(-xn, PP3, y);
  let db = fma(-xn, PP3, y - t2);
  const b = fma(-xn, PP4, t2);
  db += fma(-xn, PP4, t2 - b);
  return { a: b, da: db, n };
}

function doSinCos(a: number, da: number, n: number): number {
  const r = n & 1 ? doCos(a, da) : doSin(a, da);
  return n & 2 ? -r : r;
}

function highWord(x: number): number {
  view.setFloat64(0, x);
  return view.getUint32(0) & 0x7fffffff;
}

/** glibc's sin(x) (FMA build), bit for bit. */
export function sinGlibc(x: number): number {
  const k = highWord(x);
  if (k < 0x3e500000) return x;
  if (k < 0x3feb6000) return doSin(x, 0);
  if (k < 0x400368fd) return copySign(doCos(HP0 - Math.abs(x), HP1), x);
  if (k < 0x419921fb) {
    const { a, da, n } = reduceSinCos(x);
    return doSinCos(a, da, n);
  }
  return Math.sin(x);
}

/** glibc's cos(x) (FMA build), bit for bit. */
export function cosGlibc(x: number): number {
  const k = highWord(x);
  if (k < 0x3e400000) return 1.0;
  if (k < 0x3feb6000) return doCos(x, 0);
  if (k < 0x400368fd) {
    const y = HP0 - Math.abs(x);
    const a = y + HP1;
    const da = y - a + HP1;
    return doSin(a, da);
  }
  if (k < 0x419921fb) {
    const { a, da, n } = reduceSinCos(x);
    return doSinCos(a, da, n + 1);
  }
  return Math.cos(x);
}
