import type { QuaternionWxyz, Vec3 } from '../types.ts';

/** A 3×3 or 4×4 matrix, row-major. */
export type Matrix = number[][];

function wrapAngle(theta: number): number {
  // Python's floored modulo, as pyquaternion's _wrap_angle: odd multiples of π map to +π.
  const twoPi = 2 * Math.PI;
  let result = (((theta + Math.PI) % twoPi) + twoPi) % twoPi;
  result -= Math.PI;
  return result === -Math.PI ? Math.PI : result;
}

/**
 * A quaternion in nuScenes order (w, x, y, z) with pyquaternion's semantics: Hamilton product, `inverse` =
 * conjugate / |q|², rotations that normalise first, `yawPitchRoll` with pyquaternion's own formula.
 * Immutable: every operation returns a new quaternion.
 */
export class Quaternion {
  readonly w: number;
  readonly x: number;
  readonly y: number;
  readonly z: number;

  constructor(w = 1, x = 0, y = 0, z = 0) {
    this.w = w;
    this.x = x;
    this.y = y;
    this.z = z;
  }

  /** From a nuScenes rotation field, [w, x, y, z]. */
  static fromArray(q: readonly number[]): Quaternion {
    if (q.length !== 4 || q.some((v) => !Number.isFinite(v))) {
      throw new RangeError(`a quaternion needs 4 finite numbers [w, x, y, z], got [${q.join(', ')}]`);
    }
    return new Quaternion(q[0], q[1], q[2], q[3]);
  }

  /** Rotation of `angle` radians about `axis` (normalised here), as pyquaternion's (axis=, angle=). */
  static fromAxisAngle(axis: readonly number[], angle: number): Quaternion {
    const magSq = axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2];
    if (magSq === 0) throw new RangeError('a rotation axis must have non-zero length');
    const scale = Math.abs(1 - magSq) > 1e-12 ? 1 / Math.sqrt(magSq) : 1;
    const s = Math.sin(angle / 2);
    return new Quaternion(Math.cos(angle / 2), axis[0] * scale * s, axis[1] * scale * s, axis[2] * scale * s);
  }

  /** Rotation about +z by `yaw` radians. */
  static fromYaw(yaw: number): Quaternion {
    return new Quaternion(Math.cos(yaw / 2), 0, 0, Math.sin(yaw / 2));
  }

  /** From a 3×3 rotation or 4×4 transform (upper-left block), pyquaternion's trace method. */
  static fromMatrix(matrix: Matrix, tolerance = 1e-5): Quaternion {
    const r = matrix.slice(0, 3).map((row) => row.slice(0, 3));
    if (r.length !== 3 || r.some((row) => row.length !== 3)) {
      throw new RangeError('fromMatrix needs a 3×3 or 4×4 matrix');
    }
    const rrt = multiplyMatrices(r, transpose(r));
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        if (Math.abs(rrt[i][j] - (i === j ? 1 : 0)) > tolerance) {
          throw new RangeError('the matrix must be orthogonal (its transpose its inverse)');
        }
      }
    }
    if (Math.abs(determinant3(r) - 1) > tolerance) {
      throw new RangeError('the matrix must be special orthogonal (determinant +1)');
    }
    const m = transpose(r);
    let t: number;
    let q: number[];
    if (m[2][2] < 0) {
      if (m[0][0] > m[1][1]) {
        t = 1 + m[0][0] - m[1][1] - m[2][2];
        q = [m[1][2] - m[2][1], t, m[0][1] + m[1][0], m[2][0] + m[0][2]];
      } else {
        t = 1 - m[0][0] + m[1][1] - m[2][2];
        q = [m[2][0] - m[0][2], m[0][1] + m[1][0], t, m[1][2] + m[2][1]];
      }
    } else if (m[0][0] < -m[1][1]) {
      t = 1 - m[0][0] - m[1][1] + m[2][2];
      q = [m[0][1] - m[1][0], m[2][0] + m[0][2], m[1][2] + m[2][1], t];
    } else {
      t = 1 + m[0][0] + m[1][1] + m[2][2];
      q = [t, m[1][2] - m[2][1], m[2][0] - m[0][2], m[0][1] - m[1][0]];
    }
    const k = 0.5 / Math.sqrt(t);
    return new Quaternion(q[0] * k, q[1] * k, q[2] * k, q[3] * k);
  }

  /**
   * Spherical linear interpolation as pyquaternion: endpoints normalised, amount clamped to [0, 1], q0
   * negated when the dot product is negative, normalised lerp above a dot of 0.9995.
   */
  static slerp(q0: Quaternion, q1: Quaternion, amount = 0.5): Quaternion {
    const a = q0.normalised();
    const b = q1.normalised();
    const t = Math.min(Math.max(amount, 0), 1);
    let dot = a.w * b.w + a.x * b.x + a.y * b.y + a.z * b.z;
    let start = a;
    if (dot < 0) {
      start = new Quaternion(-a.w, -a.x, -a.y, -a.z);
      dot = -dot;
    }
    if (dot > 0.9995) {
      return new Quaternion(
        start.w + t * (b.w - start.w),
        start.x + t * (b.x - start.x),
        start.y + t * (b.y - start.y),
        start.z + t * (b.z - start.z),
      ).normalised();
    }
    const theta0 = Math.acos(dot);
    const sinTheta0 = Math.sin(theta0);
    const theta = theta0 * t;
    const sinTheta = Math.sin(theta);
    const s0 = Math.cos(theta) - (dot * sinTheta) / sinTheta0;
    const s1 = sinTheta / sinTheta0;
    return new Quaternion(
      s0 * start.w + s1 * b.w,
      s0 * start.x + s1 * b.x,
      s0 * start.y + s1 * b.y,
      s0 * start.z + s1 * b.z,
    ).normalised();
  }

  /** [w, x, y, z], the nuScenes order. */
  get elements(): QuaternionWxyz {
    return [this.w, this.x, this.y, this.z];
  }

  get norm(): number {
    return Math.sqrt(this.w * this.w + this.x * this.x + this.y * this.y + this.z * this.z);
  }

  normalised(): Quaternion {
    const n = this.norm;
    if (n === 0) return this;
    return new Quaternion(this.w / n, this.x / n, this.y / n, this.z / n);
  }

  get conjugate(): Quaternion {
    return new Quaternion(this.w, -this.x, -this.y, -this.z);
  }

  /** conjugate / |q|², as pyquaternion (not merely the conjugate). */
  get inverse(): Quaternion {
    const ss = this.w * this.w + this.x * this.x + this.y * this.y + this.z * this.z;
    if (ss === 0) throw new RangeError('a zero quaternion cannot be inverted');
    return new Quaternion(this.w / ss, -this.x / ss, -this.y / ss, -this.z / ss);
  }

  /** Hamilton product this · other (this applied after other when used as rotations). */
  multiply(other: Quaternion): Quaternion {
    const { w: a1, x: b1, y: c1, z: d1 } = this;
    const { w: a2, x: b2, y: c2, z: d2 } = other;
    return new Quaternion(
      a1 * a2 - b1 * b2 - c1 * c2 - d1 * d2,
      a1 * b2 + b1 * a2 + c1 * d2 - d1 * c2,
      a1 * c2 - b1 * d2 + c1 * a2 + d1 * b2,
      a1 * d2 + b1 * c2 - c1 * b2 + d1 * a2,
    );
  }

  /** The 3×3 rotation matrix of the normalised quaternion. */
  get rotationMatrix(): Matrix {
    const { w, x, y, z } = this.normalised();
    return [
      [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
      [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
      [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ];
  }

  /** The 4×4 homogeneous matrix of the rotation, zero translation. */
  get transformationMatrix(): Matrix {
    const r = this.rotationMatrix;
    return [
      [...r[0], 0],
      [...r[1], 0],
      [...r[2], 0],
      [0, 0, 0, 1],
    ];
  }

  /** Rotates a 3-vector (the quaternion is normalised first). */
  rotate(v: readonly number[]): Vec3 {
    const r = this.rotationMatrix;
    return [
      r[0][0] * v[0] + r[0][1] * v[1] + r[0][2] * v[2],
      r[1][0] * v[0] + r[1][1] * v[1] + r[1][2] * v[2],
      r[2][0] * v[0] + r[2][1] * v[1] + r[2][2] * v[2],
    ];
  }

  /**
   * pyquaternion's `yaw_pitch_roll` (intrinsic z-y'-x''), with its own yaw formula
   * atan2(2(wz − xy), 1 − 2(y² + z²)), which FIERY and SAD use for the BEV frame.
   */
  get yawPitchRoll(): Vec3 {
    const { w, x, y, z } = this.normalised();
    const yaw = Math.atan2(2 * (w * z - x * y), 1 - 2 * (y * y + z * z));
    const pitch = Math.asin(Math.max(-1, Math.min(1, 2 * (w * y + z * x))));
    const roll = Math.atan2(2 * (w * x - y * z), 1 - 2 * (x * x + y * y));
    return [yaw, pitch, roll];
  }

  /** Rotation angle in (−π, π], as pyquaternion's `angle`. */
  get angle(): number {
    const { w, x, y, z } = this.normalised();
    return wrapAngle(2 * Math.atan2(Math.sqrt(x * x + y * y + z * z), w));
  }

  get degrees(): number {
    return (this.angle * 180) / Math.PI;
  }

  /** Unit rotation axis; `undefinedAxis` (default zeros) for a null rotation. */
  axis(undefinedAxis: Vec3 = [0, 0, 0]): Vec3 {
    const { x, y, z } = this.normalised();
    const n = Math.sqrt(x * x + y * y + z * z);
    if (n < 1e-17) return [...undefinedAxis];
    return [x / n, y / n, z / n];
  }

  equals(other: Quaternion, tolerance = 1e-9): boolean {
    return (
      Math.abs(this.w - other.w) <= tolerance &&
      Math.abs(this.x - other.x) <= tolerance &&
      Math.abs(this.y - other.y) <= tolerance &&
      Math.abs(this.z - other.z) <= tolerance
    );
  }

  toString(): string {
    return `${this.w.toFixed(3)} ${this.x >= 0 ? '+' : '-'} ${Math.abs(this.x).toFixed(3)}i ${this.y >= 0 ? '+' : '-'} ${Math.abs(this.y).toFixed(3)}j ${this.z >= 0 ? '+' : '-'} ${Math.abs(this.z).toFixed(3)}k`;
  }
}

/**
 * The devkit's `quaternion_yaw` (eval utils): rotates (1, 0, 0) and returns atan2(v_y, v_x). Equal to
 * `yawPitchRoll[0]` for flat poses; differs when pitch or roll is large.
 */
export function quaternionYaw(q: Quaternion): number {
  const v = q.rotate([1, 0, 0]);
  return Math.atan2(v[1], v[0]);
}

export function transpose(m: Matrix): Matrix {
  return m[0].map((_, j) => m.map((row) => row[j]));
}

export function multiplyMatrices(a: Matrix, b: Matrix): Matrix {
  const inner = b.length;
  return a.map((row) =>
    b[0].map((_, j) => {
      let s = 0;
      for (let k = 0; k < inner; k++) s += row[k] * b[k][j];
      return s;
    }),
  );
}

function determinant3(m: Matrix): number {
  return (
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
  );
}
