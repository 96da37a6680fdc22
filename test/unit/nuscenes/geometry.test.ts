import { describe, expect, it } from 'vitest';
import {
  Box,
  BoxVisibility,
  boxInImage,
  pointsInBox,
  Quaternion,
  quaternionYaw,
  transformMatrix,
  viewPoints,
} from '../../../data-loaders/nuscenes/geometry/index.ts';

const s = Math.SQRT1_2;
function close(a: readonly number[], b: readonly number[], digits = 9): void {
  a.forEach((v, i) => {
    expect(v).toBeCloseTo(b[i], digits);
  });
}

describe('Quaternion (pyquaternion semantics, w x y z)', () => {
  it('multiplies with the Hamilton product', () => {
    const i = new Quaternion(0, 1, 0, 0);
    const j = new Quaternion(0, 0, 1, 0);
    // i·j = k, j·i = −k
    expect(i.multiply(j).elements).toEqual([0, 0, 0, 1]);
    expect(j.multiply(i).elements).toEqual([0, 0, 0, -1]);
  });

  it('inverts as conjugate over the squared norm', () => {
    const q = new Quaternion(2, 0, 0, 0);
    expect(q.inverse.elements).toEqual([0.5, -0, -0, -0]);
    expect(new Quaternion(1, 2, 3, 4).inverse.elements).toEqual([1 / 30, -2 / 30, -3 / 30, -4 / 30]);
  });

  it('rotates +x to +y for a 90° yaw, and normalises first', () => {
    close(new Quaternion(s, 0, 0, s).rotate([1, 0, 0]), [0, 1, 0]);
    close(new Quaternion(2, 0, 0, 2).rotate([1, 0, 0]), [0, 1, 0]);
    close(Quaternion.fromAxisAngle([0, 0, 5], Math.PI / 2).elements, [s, 0, 0, s]);
  });

  it('gives the rotation matrix of a 90° yaw', () => {
    const r = Quaternion.fromYaw(Math.PI / 2).rotationMatrix;
    close(r[0], [0, -1, 0]);
    close(r[1], [1, 0, 0]);
    close(r[2], [0, 0, 1]);
  });

  it('computes yaw with pyquaternion’s formula atan2(2(wz − xy), 1 − 2(y² + z²))', () => {
    expect(Quaternion.fromYaw(0.3).yawPitchRoll[0]).toBeCloseTo(0.3, 12);
    // A quaternion with x·y ≠ 0: q = (0.5, 0.5, 0.5, 0.5), yaw = atan2(2(0.25 − 0.25), 1 − 2·0.5) = atan2(0, 0) = 0.
    expect(new Quaternion(0.5, 0.5, 0.5, 0.5).yawPitchRoll[0]).toBe(0);
    // The eval helper rotates (1,0,0): the same q maps x→y, so quaternion_yaw = π/2.
    expect(quaternionYaw(new Quaternion(0.5, 0.5, 0.5, 0.5))).toBeCloseTo(Math.PI / 2, 12);
  });

  it('reports axis and angle in (−π, π]', () => {
    const q = Quaternion.fromAxisAngle([0, 0, 1], (3 * Math.PI) / 2);
    expect(q.angle).toBeCloseTo(-Math.PI / 2, 12);
    close(q.axis(), [0, 0, 1]);
    expect(new Quaternion().axis()).toEqual([0, 0, 0]);
  });

  it('round-trips through a rotation matrix', () => {
    const q = Quaternion.fromAxisAngle([1, 2, 3], 0.7);
    const back = Quaternion.fromMatrix(q.rotationMatrix);
    const sign = Math.sign(back.w) === Math.sign(q.w) ? 1 : -1;
    close(
      back.elements.map((v) => v * sign),
      q.elements,
    );
  });

  it('slerps halfway between identity and a 90° yaw to a 45° yaw', () => {
    const half = Quaternion.slerp(new Quaternion(), Quaternion.fromYaw(Math.PI / 2), 0.5);
    close(half.elements, Quaternion.fromYaw(Math.PI / 4).elements);
    // amount is clamped to [0, 1]
    close(
      Quaternion.slerp(new Quaternion(), Quaternion.fromYaw(1), 2).elements,
      Quaternion.fromYaw(1).elements,
    );
  });
});

describe('transformMatrix and viewPoints', () => {
  it('builds [R t] and its inverse', () => {
    const q = Quaternion.fromYaw(Math.PI / 2);
    const m = transformMatrix([1, 2, 3], q);
    close(m[0], [0, -1, 0, 1]);
    close(m[1], [1, 0, 0, 2]);
    const inv = transformMatrix([1, 2, 3], q, true);
    // Rᵀ = [[0,1,0],[-1,0,0],[0,0,1]], −Rᵀt = (−2, 1, −3)
    close(inv[0], [0, 1, 0, -2]);
    close(inv[1], [-1, 0, 0, 1]);
    close(inv[2], [0, 0, 1, -3]);
  });

  it('projects with an intrinsic and divides all three rows by depth', () => {
    const k = [
      [1000, 0, 800],
      [0, 1000, 450],
      [0, 0, 1],
    ];
    const p = viewPoints([[1], [-0.5], [10]], k, true);
    expect([p[0][0], p[1][0], p[2][0]]).toEqual([900, 400, 1]);
    const raw = viewPoints([[1], [-0.5], [10]], k, false);
    expect([raw[0][0], raw[1][0], raw[2][0]]).toEqual([9000, 4000, 10]);
  });
});

describe('Box', () => {
  it('lists corners in the devkit order (length on x, width on y)', () => {
    const box = new Box([0, 0, 0], [2, 4, 1.5], new Quaternion());
    const c = box.corners();
    const corner = (i: number) => [c[0][i], c[1][i], c[2][i]];
    expect(corner(0)).toEqual([2, 1, 0.75]);
    expect(corner(1)).toEqual([2, -1, 0.75]);
    expect(corner(2)).toEqual([2, -1, -0.75]);
    expect(corner(3)).toEqual([2, 1, -0.75]);
    expect(corner(4)).toEqual([-2, 1, 0.75]);
    expect(corner(6)).toEqual([-2, -1, -0.75]);
    const bottom = box.bottomCorners();
    expect(bottom[0]).toEqual([2, 2, -2, -2]);
    expect(bottom[1]).toEqual([-1, 1, 1, -1]);
  });

  it('rotates centre, orientation (left-multiplied) and velocity, then translates', () => {
    const box = new Box([1, 0, 0], [2, 4, 1.5], Quaternion.fromYaw(0.1), { velocity: [1, 0, 0] });
    box.rotate(Quaternion.fromYaw(Math.PI / 2)).translate([0, 0, 2]);
    close(box.center, [0, 1, 2]);
    close(box.velocity, [0, 1, 0]);
    expect(box.orientation.yawPitchRoll[0]).toBeCloseTo(Math.PI / 2 + 0.1, 12);
  });

  it('finds points inside, bounds inclusive', () => {
    const box = new Box([0, 0, 0], [2, 4, 2], new Quaternion());
    expect(
      pointsInBox(box, [
        [0, 2, 2.01],
        [0, 1, 0],
        [0, -1, 0],
      ]),
    ).toEqual([true, true, false]);
  });
});

describe('boxInImage', () => {
  const k = [
    [1000, 0, 800],
    [0, 1000, 450],
    [0, 0, 1],
  ];
  it('accepts a box in front of the camera and rejects one behind it', () => {
    const ahead = new Box([0, 0, 20], [2, 4, 2], new Quaternion());
    const behind = new Box([0, 0, -20], [2, 4, 2], new Quaternion());
    expect(boxInImage(ahead, k, [1600, 900], BoxVisibility.ALL)).toBe(true);
    expect(boxInImage(behind, k, [1600, 900], BoxVisibility.ANY)).toBe(false);
    expect(boxInImage(behind, k, [1600, 900], BoxVisibility.NONE)).toBe(true);
  });

  it('ANY needs every corner in front (depth > 0.1 m)', () => {
    // Box straddling the image plane: some corners visible, some behind → ANY rejects it.
    const straddling = new Box([0, 0, 1.5], [1, 4, 1], new Quaternion(s, 0, s, 0));
    expect(boxInImage(straddling, k, [1600, 900], BoxVisibility.ANY)).toBe(false);
    // Partly outside the image but all in front → ANY accepts, ALL rejects.
    const edge = new Box([8, 0, 10], [2, 4, 2], new Quaternion());
    expect(boxInImage(edge, k, [1600, 900], BoxVisibility.ANY)).toBe(true);
    expect(boxInImage(edge, k, [1600, 900], BoxVisibility.ALL)).toBe(false);
  });
});
