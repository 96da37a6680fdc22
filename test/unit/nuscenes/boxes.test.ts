import { describe, expect, it } from 'vitest';
import { type Box, BoxVisibility, boxInImage, Quaternion } from '../../../data-loaders/nuscenes/index.ts';
import { fixture, type GoldenBox, golden } from './helpers.ts';

const TOL = 1e-6;

function expectClose(actual: readonly number[], expected: readonly (number | null)[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  actual.forEach((v, i) => {
    const e = expected[i];
    if (e === null) expect(Number.isNaN(v), `${what}[${i}] NaN`).toBe(true);
    else expect(Math.abs(v - e), `${what}[${i}]: ${v} vs ${e}`).toBeLessThanOrEqual(TOL);
  });
}

function expectBoxes(actual: Box[], expected: GoldenBox[], what: string): void {
  expect(
    actual.map((b) => b.token),
    what,
  ).toEqual(expected.map((b) => b.token));
  actual.forEach((box, i) => {
    const e = expected[i];
    expect(box.name).toBe(e.name);
    expectClose(box.center, e.center, `${what} ${e.token} center`);
    expectClose(box.wlh, e.wlh, `${what} ${e.token} wlh`);
    expectClose(box.orientation.elements, e.orientation, `${what} ${e.token} orientation`);
    expectClose(box.velocity, e.velocity, `${what} ${e.token} velocity`);
    box.corners().forEach((row, r) => {
      expectClose(row, e.corners[r], `${what} ${e.token} corners row ${r}`);
    });
  });
}

describe('getSampleData against the Python devkit (1e-6)', () => {
  const g = golden();
  it(`matches all ${g.get_sample_data.length} cases: cameras at ANY/ALL/NONE, lidar, radar, flat, selected annotations`, () => {
    const nusc = fixture();
    const kinds = new Set<string>();
    for (const c of g.get_sample_data) {
      const sd = nusc.get('sample_data', c.sample_data_token);
      const result = nusc.getSampleData(c.sample_data_token, {
        boxVisLevel: c.options.box_vis_level,
        useFlatVehicleCoordinates: c.options.use_flat_vehicle_coordinates,
        selectedAnnTokens: c.options.selected_anntokens,
      });
      const what = `${sd.channel} ${sd.is_key_frame ? 'key' : 'sweep'} ${JSON.stringify(c.options)}`;
      kinds.add(`${sd.sensor_modality}:${JSON.stringify(c.options).replace(/"[0-9a-f]{32}"/g, 'T')}`);
      expect(result.path.endsWith(c.path)).toBe(true);
      if (c.camera_intrinsic === null) expect(result.cameraIntrinsic).toBeUndefined();
      else expect(result.cameraIntrinsic).toEqual(c.camera_intrinsic);
      expectBoxes(result.boxes, c.boxes, what);
    }
    // The golden set covers each mode.
    expect(kinds).toContain('camera:{}');
    expect(kinds).toContain('lidar:{"use_flat_vehicle_coordinates":true}');
    expect(kinds).toContain('radar:{}');
    expect(kinds).toContain('camera:{"box_vis_level":0}');
    expect(kinds).toContain('camera:{"selected_anntokens":[T]}');
  });

  it('drops camera boxes by visibility: NONE keeps all, ALL keeps no more than ANY', () => {
    const nusc = fixture();
    const sd = nusc.firstSample(nusc.scenes[0].token).data.CAM_FRONT as string;
    const none = nusc.getSampleData(sd, { boxVisLevel: BoxVisibility.NONE }).boxes.length;
    const any = nusc.getSampleData(sd).boxes.length;
    const all = nusc.getSampleData(sd, { boxVisLevel: BoxVisibility.ALL }).boxes.length;
    expect(none).toBe(nusc.firstSample(nusc.scenes[0].token).anns.length);
    expect(any).toBeLessThanOrEqual(none);
    expect(all).toBeLessThanOrEqual(any);
    expect(any).toBeGreaterThan(0);
  });

  it('puts the car 15 m ahead at about (15, 0.4, 0.9) in flat ego axes and (−0.4, 14, −0.6) in LIDAR_TOP', () => {
    const nusc = fixture();
    const sample = nusc.firstSample(nusc.scenes[0].token);
    const car = (boxes: Box[]) => boxes.find((b) => b.name === 'vehicle.car') as Box;
    const flat = car(
      nusc.getSampleData(sample.data.LIDAR_TOP as string, { useFlatVehicleCoordinates: true }).boxes,
    );
    expect(flat.center[0]).toBeCloseTo(15, 0);
    expect(flat.center[1]).toBeCloseTo(0.4, 0);
    expect(flat.center[2]).toBeCloseTo(0.9, 1);
    // Lidar x right, y forward; its origin is 0.94 m ahead and 1.84 m up.
    const lidar = car(nusc.getSampleData(sample.data.LIDAR_TOP as string).boxes);
    expect(lidar.center[1]).toBeCloseTo(14.06, 1);
    expect(lidar.center[0]).toBeCloseTo(-0.36, 1);
    expect(lidar.center[2]).toBeCloseTo(-0.6, 1);
  });
});

describe('getBoxes interpolation for sweeps', () => {
  it(`matches the devkit on all ${Object.keys(golden().get_boxes).length} sweeps (1e-6)`, () => {
    const nusc = fixture();
    for (const [token, expected] of Object.entries(golden().get_boxes)) {
      expectBoxes(nusc.getBoxes(token), expected, `sweep ${token}`);
    }
  });

  it('interpolates shared instances, keeps new ones, drops vanished ones', () => {
    const nusc = fixture();
    const samples = [...nusc.sceneSamples(nusc.scenes[0].token)];
    // Between sample 2 and 3 the truck vanishes (only in prev) and the car is stored as −q at sample 2.
    const [prev, curr] = [samples[2], samples[3]];
    const sweep = nusc.sweeps(curr.token, 'LIDAR_TOP')[0];
    const boxes = nusc.getBoxes(sweep.token);
    expect(boxes.map((b) => b.token)).toEqual(curr.anns);
    expect(boxes.some((b) => b.name === 'vehicle.truck')).toBe(false);
    const t = (sweep.timestamp - prev.timestamp) / (curr.timestamp - prev.timestamp);
    expect(t).toBeGreaterThan(0);
    expect(t).toBeLessThan(1);
    const car = boxes.find((b) => b.name === 'vehicle.car') as Box;
    const carNow = nusc.get('sample_annotation', car.token);
    const carPrev = nusc.get('sample_annotation', carNow.prev);
    carNow.translation.forEach((c1, k) => {
      expect(car.center[k]).toBeCloseTo(carPrev.translation[k] + t * (c1 - carPrev.translation[k]), 9);
    });
    // Short-way slerp although the two stored quaternions have opposite signs.
    const q0 = Quaternion.fromArray(carPrev.rotation);
    const q1 = Quaternion.fromArray(carNow.rotation);
    expect(q0.w * q1.w + q0.x * q1.x + q0.y * q1.y + q0.z * q1.z).toBeLessThan(0);
    expect(Math.abs(car.orientation.yawPitchRoll[0] - q1.yawPitchRoll[0])).toBeLessThan(0.1);
    expect(car.wlh).toEqual(carNow.size);
    // A keyframe gives the sample's own boxes.
    expect(nusc.getBoxes(curr.data.LIDAR_TOP as string).map((b) => b.center)).toEqual(
      curr.anns.map((a) => nusc.get('sample_annotation', a).translation),
    );
  });

  it('keeps the current box of an instance that the previous sample lacks', () => {
    const nusc = fixture();
    const samples = [...nusc.sceneSamples(nusc.scenes[0].token)];
    const sweep = nusc.sweeps(samples[1].token, 'LIDAR_TOP')[1];
    const ped = nusc.getBoxes(sweep.token).find((b) => b.name === 'human.pedestrian.adult') as Box;
    expect(ped.center).toEqual(nusc.get('sample_annotation', ped.token).translation);
  });
});

describe('boxVelocity', () => {
  it('matches the devkit for every annotation, with max 1.5 s and 0.3 s (NaN where the devkit gives NaN)', () => {
    const nusc = fixture();
    let nans = 0;
    for (const [token, expected] of Object.entries(golden().box_velocity)) {
      const v = nusc.boxVelocity(token);
      expectClose(v, expected.default, `velocity ${token}`);
      expectClose(nusc.boxVelocity(token, 0.3), expected['max_0.3'], `velocity ${token} (0.3 s)`);
      if (expected.default[0] === null) nans++;
    }
    expect(nans).toBe(1); // the single barrier annotation
  });

  it('uses a central difference in the middle and one-sided differences at the ends', () => {
    const nusc = fixture();
    const samples = [...nusc.sceneSamples(nusc.scenes[0].token)];
    const car = (s: (typeof samples)[number]) =>
      s.anns.map((a) => nusc.get('sample_annotation', a)).find((a) => a.category_name === 'vehicle.car');
    const [a0, a1, a2] = [car(samples[0]), car(samples[1]), car(samples[2])];
    if (!a0 || !a1 || !a2) throw new Error('fixture car missing');
    // As the devkit: each timestamp is converted to seconds before subtracting (1.5e9 s in float64, so the
    // difference carries ~1e-7 relative error; replicated, not fixed).
    const dt = 1e-6 * samples[2].timestamp - 1e-6 * samples[0].timestamp;
    const v = nusc.boxVelocity(a1.token);
    expect(v[0]).toBeCloseTo((a2.translation[0] - a0.translation[0]) / dt, 9);
    const first = nusc.boxVelocity(a0.token);
    const dt01 = 1e-6 * samples[1].timestamp - 1e-6 * samples[0].timestamp;
    expect(first[1]).toBeCloseTo((a1.translation[1] - a0.translation[1]) / dt01, 9);
    // The car moves at 5.1 m/s in the start ego frame, plus the ego-relative offsets: about 5.1 m/s.
    expect(Math.hypot(v[0], v[1])).toBeCloseTo(5.1, 1);
    // 0.3 s is shorter than one keyframe gap (0.5 s), but a central difference may take 0.6 s: still NaN (1 s gap).
    expect(nusc.boxVelocity(a1.token, 0.3).every(Number.isNaN)).toBe(true);
    expect(nusc.boxVelocity(a1.token, 0.6).every(Number.isNaN)).toBe(false);
  });
});

describe('boxInImage on real camera geometry', () => {
  it('agrees with the devkit for every box in every camera of every sample', () => {
    const nusc = fixture();
    const cases = golden().box_in_image;
    expect(cases.length).toBeGreaterThan(100);
    for (const c of cases) {
      const { boxes, cameraIntrinsic } = nusc.getSampleData(c.sample_data_token, {
        boxVisLevel: BoxVisibility.NONE,
        selectedAnnTokens: [c.token],
      });
      const sd = nusc.get('sample_data', c.sample_data_token);
      const k = cameraIntrinsic as number[][];
      expect(boxInImage(boxes[0], k, [sd.width, sd.height], BoxVisibility.ALL)).toBe(c.ALL);
      expect(boxInImage(boxes[0], k, [sd.width, sd.height], BoxVisibility.ANY)).toBe(c.ANY);
    }
    expect(cases.some((c) => c.ANY)).toBe(true);
    expect(cases.some((c) => !c.ANY)).toBe(true);
  });
});
