/**
 * pyquaternion's `rotation_matrix`, bit for bit. The map mask clips the map to a patch rotated by the ego yaw
 * and truncates the clipped line ends to pixels, so a yaw one ulp off moves edge pixels; the reference takes
 * the yaw from this matrix. (The yaw's atan2 itself is numpy's, which is SIMD code whose last bit depends on
 * the CPU, so edge pixels of the lane-divider mask can still differ from a given reference run.) pyquaternion normalises only when |1 − q·q| ≥ 1e-14 (q·q summed left to right,
 * as numpy's ddot here) and forms the matrix as the 4×4 product Q·Q̄ᵀ, which numpy's dgemm accumulates left
 * to right with fused multiply-adds (both checked against numpy 1.24/OpenBLAS on thousands of random
 * quaternions). Hand-written because JavaScript has no double-precision FMA: `fma64` is exact via BigInt.
 */

const view = new DataView(new ArrayBuffer(8));

/** A finite double as mantissa · 2^exponent with an integer mantissa. */
function decompose(v: number): { m: bigint; e: number } {
  if (v === 0) return { m: 0n, e: 0 };
  view.setFloat64(0, v);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const sign = hi >>> 31 ? -1n : 1n;
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exponent: number;
  if (biased === 0) exponent = -1074;
  else {
    mantissa |= 1n << 52n;
    exponent = biased - 1075;
  }
  return { m: sign * mantissa, e: exponent };
}

/** a·b + c with a single rounding (round half to even), for finite doubles of moderate exponent. */
export function fma64(a: number, b: number, c: number): number {
  const pa = decompose(a);
  const pb = decompose(b);
  const pc = decompose(c);
  const productM = pa.m * pb.m;
  const productE = pa.e + pb.e;
  if (productM === 0n) return a * b + c;
  if (pc.m === 0n) return scale(productM, productE);
  const e = Math.min(productE, pc.e);
  const sum = (productM << BigInt(productE - e)) + (pc.m << BigInt(pc.e - e));
  return scale(sum, e);
}

/** Nearest double to m · 2^e: `Number(bigint)` rounds half to even, and the power of two scales exactly. */
function scale(m: bigint, e: number): number {
  return Number(m) * 2 ** e;
}

/** The 3×3 rotation matrix of a [w, x, y, z] quaternion exactly as pyquaternion computes it. */
export function pyquaternionRotationMatrix(rotation: readonly number[]): number[][] {
  let [q0, q1, q2, q3] = rotation;
  const sumOfSquares = q0 * q0 + q1 * q1 + q2 * q2 + q3 * q3;
  if (!(Math.abs(1 - sumOfSquares) < 1e-14)) {
    const n = Math.sqrt(sumOfSquares);
    if (n > 0) {
      q0 /= n;
      q1 /= n;
      q2 /= n;
      q3 /= n;
    }
  }
  const q = [
    [q0, -q1, -q2, -q3],
    [q1, q0, -q3, q2],
    [q2, q3, q0, -q1],
    [q3, -q2, q1, q0],
  ];
  // Q̄ᵀ[k][j] = Q̄[j][k].
  const qBar = [
    [q0, -q1, -q2, -q3],
    [q1, q0, q3, -q2],
    [q2, -q3, q0, q1],
    [q3, q2, -q1, q0],
  ];
  const out: number[][] = [];
  for (let i = 1; i < 4; i++) {
    const row: number[] = [];
    for (let j = 1; j < 4; j++) {
      let acc = q[i][0] * qBar[j][0];
      for (let k = 1; k < 4; k++) acc = fma64(q[i][k], qBar[j][k], acc);
      row.push(acc);
    }
    out.push(row);
  }
  return out;
}
