import type { Vec3 } from '../types.ts';
import type { Matrix, Quaternion } from './quaternion.ts';

export interface BoxOptions {
  label?: number;
  score?: number;
  /** m/s in the box's current frame; NaN×3 when unknown (the devkit's default). */
  velocity?: Vec3;
  name?: string;
  token?: string;
}

/**
 * A 3-D box as the devkit's `Box`: centre, size as (width, length, height), orientation; length runs
 * along the box's own x axis, width along y. `translate` and `rotate` change the box in place, as the
 * devkit does, and `rotate` left-multiplies the orientation (q · orientation) and rotates the velocity.
 */
export class Box {
  center: Vec3;
  /** width, length, height in metres. */
  wlh: Vec3;
  orientation: Quaternion;
  label: number;
  score: number;
  velocity: Vec3;
  name: string;
  token: string;

  constructor(
    center: readonly number[],
    wlh: readonly number[],
    orientation: Quaternion,
    options: BoxOptions = {},
  ) {
    if (center.length !== 3 || center.some((v) => Number.isNaN(v))) {
      throw new RangeError(`box centre must be 3 numbers, got [${center.join(', ')}]`);
    }
    if (wlh.length !== 3 || wlh.some((v) => Number.isNaN(v))) {
      throw new RangeError(`box size must be 3 numbers (w, l, h), got [${wlh.join(', ')}]`);
    }
    this.center = [center[0], center[1], center[2]];
    this.wlh = [wlh[0], wlh[1], wlh[2]];
    this.orientation = orientation;
    this.label = options.label ?? Number.NaN;
    this.score = options.score ?? Number.NaN;
    this.velocity = options.velocity ? [...options.velocity] : [Number.NaN, Number.NaN, Number.NaN];
    this.name = options.name ?? '';
    this.token = options.token ?? '';
  }

  /** center += x. */
  translate(x: readonly number[]): this {
    this.center = [this.center[0] + x[0], this.center[1] + x[1], this.center[2] + x[2]];
    return this;
  }

  /** center = R(q)·center; orientation = q · orientation; velocity = R(q)·velocity. */
  rotate(q: Quaternion): this {
    this.center = q.rotate(this.center);
    this.orientation = q.multiply(this.orientation);
    this.velocity = q.rotate(this.velocity);
    return this;
  }

  get rotationMatrix(): Matrix {
    return this.orientation.rotationMatrix;
  }

  /**
   * The 8 corners as 3 rows × 8 columns, in the devkit's order: signs of (x, y, z) × (l, w, h)/2 are
   * 0 (+,+,+) 1 (+,−,+) 2 (+,−,−) 3 (+,+,−) 4 (−,+,+) 5 (−,−,+) 6 (−,−,−) 7 (−,+,−); 0–3 is the front
   * face, corner i joins corner i + 4.
   */
  corners(wlhFactor = 1): [number[], number[], number[]] {
    const w = this.wlh[0] * wlhFactor;
    const l = this.wlh[1] * wlhFactor;
    const h = this.wlh[2] * wlhFactor;
    const xs = [1, 1, 1, 1, -1, -1, -1, -1].map((s) => (s * l) / 2);
    const ys = [1, -1, -1, 1, 1, -1, -1, 1].map((s) => (s * w) / 2);
    const zs = [1, 1, -1, -1, 1, 1, -1, -1].map((s) => (s * h) / 2);
    const r = this.rotationMatrix;
    const out: [number[], number[], number[]] = [[], [], []];
    for (let i = 0; i < 8; i++) {
      for (let row = 0; row < 3; row++) {
        out[row].push(r[row][0] * xs[i] + r[row][1] * ys[i] + r[row][2] * zs[i] + this.center[row]);
      }
    }
    return out;
  }

  /** The four bottom corners, devkit columns [2, 3, 7, 6]. */
  bottomCorners(): [number[], number[], number[]] {
    const c = this.corners();
    const pick = [2, 3, 7, 6];
    return [pick.map((i) => c[0][i]), pick.map((i) => c[1][i]), pick.map((i) => c[2][i])];
  }

  copy(): Box {
    return new Box(this.center, this.wlh, this.orientation, {
      label: this.label,
      score: this.score,
      velocity: this.velocity,
      name: this.name,
      token: this.token,
    });
  }

  equals(other: Box, tolerance = 1e-9): boolean {
    const close = (a: readonly number[], b: readonly number[]) =>
      a.every((v, i) => Math.abs(v - b[i]) <= tolerance || (Number.isNaN(v) && Number.isNaN(b[i])));
    return (
      close(this.center, other.center) &&
      close(this.wlh, other.wlh) &&
      this.orientation.equals(other.orientation, tolerance) &&
      close(this.velocity, other.velocity) &&
      (this.label === other.label || (Number.isNaN(this.label) && Number.isNaN(other.label))) &&
      (this.score === other.score || (Number.isNaN(this.score) && Number.isNaN(other.score)))
    );
  }

  toString(): string {
    const f = (v: number) => v.toFixed(2);
    return `label: ${this.label}, score: ${this.score}, xyz: [${this.center.map(f).join(', ')}], wlh: [${this.wlh.map(f).join(', ')}], rot axis: [${this.orientation.axis().map(f).join(', ')}], ang(degrees): ${f(this.orientation.degrees)}, ang(rad): ${f(this.orientation.angle)}, vel: ${this.velocity.map(f).join(', ')}, name: ${this.name}, token: ${this.token}`;
  }
}
