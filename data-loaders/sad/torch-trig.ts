/**
 * float32 `torch.cos` / `torch.sin` as PyTorch's CPU kernels compute them: SLEEF 3.5's `cosf`/`sinf` (u10,
 * AVX2 with fused multiply-adds), which are not correctly rounded. The label warp samples its grid with nearest
 * rounding, so one ulp of the rotation decides cells at exact ties; emulating the reference's arithmetic
 * operation by operation keeps the warped labels identical. Hand-written because no npm package reproduces
 * SLEEF; float32 steps are `Math.fround`, fused multiply-adds are exact products in float64 with one rounding.
 * Valid for |x| < 125 (the range of SLEEF's fast path, far beyond any ego-motion angle); outside it the
 * correctly rounded value is returned.
 */

const f = Math.fround;

/** Error-free sum: s = fl(a + b), e = (a + b) − s exactly (float64). */
function twoSum(a: number, b: number): [number, number] {
  const s = a + b;
  const v = s - a;
  return [s, a - (s - v) + (b - v)];
}

const view = new DataView(new ArrayBuffer(8));

/**
 * Whether a float64 lies exactly halfway between two neighbouring (normal) float32 values: of its 52
 * fraction bits, bit 24 from the top is set and the 28 below it are clear.
 */
function isFloat32Midpoint(v: number): boolean {
  view.setFloat64(0, v);
  return (view.getUint32(4) & 0x1fffffff) === 0x10000000;
}

/** fma(x, y, z) in float32 with a single rounding, for float32 inputs. */
export function fma32(x: number, y: number, z: number): number {
  const p = x * y; // exact: 24 × 24 bits fit in 53
  const [s, e] = twoSum(p, z);
  if (e === 0 || !isFloat32Midpoint(s)) return f(s);
  // s is a tie for float32 only because the sum was rounded to float64: the error says which side is right.
  const down = f(s - Math.abs(s) * 2 ** -30);
  const up = f(s + Math.abs(s) * 2 ** -30);
  return e > 0 ? Math.max(down, up) : Math.min(down, up);
}

/** _mm256_round_ps / cvtps_epi32: round half to even. */
function rint(v: number): number {
  const fl = Math.floor(v);
  const d = v - fl;
  if (d < 0.5) return fl;
  if (d > 0.5) return fl + 1;
  return fl % 2 === 0 ? fl : fl + 1;
}

type F2 = [number, number];

const add = (a: number, b: number) => f(a + b);
const sub = (a: number, b: number) => f(a - b);
const mul = (a: number, b: number) => f(a * b);

function dfadd2FF(x: number, y: number): F2 {
  const s = add(x, y);
  const v = sub(s, x);
  return [s, add(sub(x, sub(s, v)), sub(y, v))];
}

function dfadd2F2F(x: F2, y: number): F2 {
  const s = add(x[0], y);
  const v = sub(s, x[0]);
  const t = add(sub(x[0], sub(s, v)), sub(y, v));
  return [s, add(t, x[1])];
}

function dfaddF2F(x: F2, y: number): F2 {
  const s = add(x[0], y);
  return [s, add(add(sub(x[0], s), y), x[1])];
}

function dfaddFF(x: number, y: number): F2 {
  const s = add(x, y);
  return [s, add(sub(x, s), y)];
}

function dfaddFF2(x: number, y: F2): F2 {
  const s = add(x, y[0]);
  return [s, add(add(sub(x, s), y[0]), y[1])];
}

function dfsqu(x: F2): F2 {
  const s = mul(x[0], x[0]);
  return [s, fma32(add(x[0], x[0]), x[1], fma32(x[0], x[0], -s))];
}

function dfmulF2F2(x: F2, y: F2): F2 {
  const s = mul(x[0], y[0]);
  return [s, fma32(x[0], y[1], fma32(x[1], y[0], fma32(x[0], y[0], -s)))];
}

function dfmulToF(x: F2, y: F2): number {
  return fma32(x[0], y[0], fma32(x[1], y[0], mul(x[0], y[1])));
}

/** A float32 constant from its bit pattern (exact, like the C sources' float literals). */
function float32Bits(bits: number): number {
  view.setUint32(0, bits);
  return view.getFloat32(0);
}

const M_1_PI_F = float32Bits(0x3ea2f983); // 0.31830987334251404
const PI_A2F = float32Bits(0x40490e00); // 3.1414794921875
const PI_B2F = float32Bits(0x38ed5000); // 0.0001131594181060791
const PI_C2F = float32Bits(0x31085a31); // 1.984187258941006e-09
const C1 = float32Bits(0x362f0a87); // 2.6083159809786594e-06
const C2 = float32Bits(0xb94fbaeb); // -0.00019810690719168633
const C3 = float32Bits(0x3c088777); // 0.00833307858556509
const C4 = float32Bits(0xbe2aaaa6); // -0.16666659712791443

function polynomial(s: F2, t: F2): number {
  let u = C1;
  u = fma32(u, s[0], C2);
  u = fma32(u, s[0], C3);
  const x = dfaddFF2(1, dfmulF2F2(dfaddFF(C4, mul(u, s[0])), s));
  return dfmulToF(t, x);
}

/** float32 cos as torch (SLEEF xcosf_u1, AVX2). */
export function torchCosf(x: number): number {
  const d = f(x);
  if (!(Math.abs(d) < 125)) return f(Math.cos(d));
  const dq = fma32(rint(fma32(d, M_1_PI_F, -0.5)), 2, 1);
  const q = rint(dq);
  let s = dfadd2FF(d, mul(dq, f(-PI_A2F * 0.5)));
  s = dfadd2F2F(s, mul(dq, f(-PI_B2F * 0.5)));
  s = dfadd2F2F(s, mul(dq, f(-PI_C2F * 0.5)));
  const t = s;
  const u = polynomial(dfsqu(s), t);
  return (q & 2) === 0 ? -u : u;
}

/** float32 sin as torch (SLEEF xsinf_u1, AVX2). */
export function torchSinf(x: number): number {
  const d = f(x);
  if (!(Math.abs(d) < 125)) return f(Math.sin(d));
  if (Object.is(d, -0)) return -0;
  const u0 = rint(mul(d, M_1_PI_F));
  const q = u0;
  const v = fma32(u0, -PI_A2F, d);
  let s = dfadd2FF(v, mul(u0, -PI_B2F));
  s = dfaddF2F(s, mul(u0, -PI_C2F));
  const t = s;
  const u = polynomial(dfsqu(s), t);
  return (q & 1) === 1 ? -u : u;
}

// ------------------------------------------------------------------ atan2f

/**
 * float32 `torch.atan2` on the reference's tensors: they are strided views of pose matrices, which PyTorch
 * computes element by element with the C library's `atan2f` — glibc 2.36's, the classic fdlibm algorithm in
 * float arithmetic (matched bit for bit on 200 000 random pairs; `Math.atan2` rounded to float32 differs
 * from it in ~17 % of cases).
 */
const ATAN_HI = [4.6364760399e-1, 7.8539812565e-1, 9.8279368877e-1, 1.5707962513].map(f);
const ATAN_LO = [5.012158244e-9, 3.7748947079e-8, 3.447321717e-8, 7.5497894159e-8].map(f);
const AT = [
  3.3333334327e-1, -2.0000000298e-1, 1.4285714924e-1, -1.1111110449e-1, 9.0908870101e-2, -7.6918758452e-2,
  6.6610731184e-2, -5.8335702866e-2, 4.9768779427e-2, -3.6531571299e-2, 1.6285819933e-2,
].map(f);
const PI_F = f(3.141592741);
const PI_LO_F = f(-8.7422776573e-8);
const PI_O_2_F = f(1.5707963705);
const PI_O_4_F = f(7.8539818525e-1);

function atanf(x0: number): number {
  let x = f(x0);
  const ax = Math.abs(x);
  const negative = x < 0;
  if (Number.isNaN(x)) return x;
  if (ax >= 2 ** 34) return negative ? f(-ATAN_HI[3] - ATAN_LO[3]) : f(ATAN_HI[3] + ATAN_LO[3]);
  let id: number;
  if (ax < 0.4375) {
    if (ax < 2 ** -29) return x;
    id = -1;
  } else {
    x = ax;
    if (ax < 1.1875) {
      if (ax < 0.6875) {
        id = 0;
        x = f(f(f(2 * x) - 1) / f(2 + x));
      } else {
        id = 1;
        x = f(f(x - 1) / f(x + 1));
      }
    } else if (ax < 2.4375) {
      id = 2;
      x = f(f(x - 1.5) / f(1 + f(1.5 * x)));
    } else {
      id = 3;
      x = f(-1 / x);
    }
  }
  const z = mul(x, x);
  const w = mul(z, z);
  const s1 = mul(
    z,
    add(
      AT[0],
      mul(w, add(AT[2], mul(w, add(AT[4], mul(w, add(AT[6], mul(w, add(AT[8], mul(w, AT[10]))))))))),
    ),
  );
  const s2 = mul(w, add(AT[1], mul(w, add(AT[3], mul(w, add(AT[5], mul(w, add(AT[7], mul(w, AT[9])))))))));
  if (id < 0) return sub(x, mul(x, add(s1, s2)));
  const r = sub(ATAN_HI[id], sub(sub(mul(x, add(s1, s2)), ATAN_LO[id]), x));
  return negative ? -r : r;
}

function float32Exponent(v: number): number {
  view.setFloat32(0, v);
  return (view.getUint32(0) >>> 23) & 0xff;
}

/** float32 atan2(y, x) as glibc 2.36's `atan2f`. */
export function torchAtan2f(y0: number, x0: number): number {
  const y = f(y0);
  const x = f(x0);
  if (Number.isNaN(x) || Number.isNaN(y)) return f(x + y);
  if (x === 1) return atanf(y);
  const m = (y < 0 || Object.is(y, -0) ? 1 : 0) | (x < 0 || Object.is(x, -0) ? 2 : 0);
  if (y === 0) return m <= 1 ? y : m === 2 ? PI_F : -PI_F;
  if (x === 0) return y < 0 ? -PI_O_2_F : PI_O_2_F;
  if (!Number.isFinite(x)) {
    if (!Number.isFinite(y)) return [PI_O_4_F, -PI_O_4_F, f(3 * PI_O_4_F), f(-3 * PI_O_4_F)][m];
    return [0, -0, PI_F, -PI_F][m];
  }
  if (!Number.isFinite(y)) return y < 0 ? -PI_O_2_F : PI_O_2_F;
  const k = float32Exponent(y) - float32Exponent(x);
  let z: number;
  if (k > 60) z = f(PI_O_2_F + f(0.5 * PI_LO_F));
  else if (x < 0 && k < -60) z = 0;
  else z = atanf(Math.abs(f(y / x)));
  switch (m) {
    case 0:
      return z;
    case 1:
      return -z;
    case 2:
      return sub(PI_F, sub(z, PI_LO_F));
    default:
      return sub(sub(z, PI_LO_F), PI_F);
  }
}
