// `npm run bench -- metrics [repeats]`: the evaluation metrics on one paper-sized sample — IoU update over
// 5 frames of 200×200 (present + 4 future), panoptic update over those frames with 30 vehicles, the
// instance post-processing (centres, grouping, temporal matching) over 7 frames (3 past/present + 4
// future), and a 6-step planning update (L2, point and box collision). Times are medians in ms.
import {
  IntersectionOverUnion,
  PanopticMetric,
  PlanningMetric,
  predictInstanceSegmentation,
} from '../src/eval/index.ts';
import { createRng } from '../src/util/index.ts';
import { median } from './_util.ts';

const repeats = Number(process.argv[2] ?? 30);
const round = (x: number, digits = 3) => Number(x.toFixed(digits));
function time(fn: () => unknown, n = repeats): number {
  const start = performance.now();
  for (let i = 0; i < 50 && (i < 3 || performance.now() - start < 300); i++) fn();
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
}
const print = ({ bench, ...rest }: { bench: string } & Record<string, unknown>) =>
  console.log(JSON.stringify({ bench, backend: 'cpu-js', ...rest }));

const rng = createRng('bench-metrics');
const H = 200;
const W = 200;
const plane = H * W;

// 30 vehicles (8×4 cells) moving 1 cell per frame; the prediction is shifted by one cell on a third of them.
function scene(frames: number) {
  const gt = new Int32Array(frames * plane);
  const pred = new Int32Array(frames * plane);
  const segmentation = new Float32Array(frames * 2 * plane).fill(-1);
  const center = new Float32Array(frames * plane);
  const offset = new Float32Array(frames * 2 * plane);
  const flow = new Float32Array(frames * 2 * plane);
  const cars = Array.from({ length: 30 }, () => ({
    r: rng.int(10, 180),
    c: rng.int(10, 185),
    dr: rng.int(-1, 2),
  }));
  for (let t = 0; t < frames; t++) {
    cars.forEach((car, k) => {
      const r0 = car.r + car.dr * t;
      const shift = k % 3 === 0 ? 1 : 0;
      for (let r = r0; r < r0 + 8; r++) {
        for (let c = car.c; c < car.c + 4; c++) {
          gt[t * plane + r * W + c] = k + 1;
          const rp = Math.min(r + shift, H - 1);
          pred[t * plane + rp * W + c] = k + 1;
          segmentation[t * 2 * plane + plane + rp * W + c] = 2;
          offset[t * 2 * plane + rp * W + c] = r0 + 4 - rp;
          offset[t * 2 * plane + plane + rp * W + c] = car.c + 2 - c;
          flow[t * 2 * plane + rp * W + c] = car.dr;
        }
      }
      for (let r = r0; r < r0 + 8; r++) {
        for (let c = car.c - 1; c < car.c + 5; c++) {
          const d2 = (r - r0 - 4) ** 2 + (c - car.c - 2) ** 2;
          const k2 = t * plane + r * W + c;
          center[k2] = Math.max(center[k2], Math.exp(-d2 / 9));
        }
      }
    });
  }
  return { gt, pred, segmentation, center, offset, flow };
}

const future = scene(5);
const iouMs = time(() => new IntersectionOverUnion(2).update(future.pred, future.gt));
print({ bench: 'metrics-iou-update', frames: 5, cells: 5 * plane, update_ms: round(iouMs) });

const panopticMs = time(() =>
  new PanopticMetric(2).update(future.pred, future.gt, { frames: 5, height: H, width: W }),
);
print({ bench: 'metrics-panoptic-update', frames: 5, vehicles: 30, update_ms: round(panopticMs) });

const sequence = scene(7);
const outputs = {
  segmentation: sequence.segmentation,
  instanceCenter: sequence.center,
  instanceOffset: sequence.offset,
  instanceFlow: sequence.flow,
};
let instances = 0;
const instanceMs = time(() => {
  const ids = predictInstanceSegmentation(outputs, { frames: 7, height: H, width: W });
  instances = ids.reduce((a, b) => Math.max(a, b), 0);
});
print({
  bench: 'metrics-instance-postprocess',
  frames: 7,
  vehicles: 30,
  instances,
  postprocess_ms: round(instanceMs),
});

const gtOccupancy = Uint8Array.from(sequence.gt.subarray(0, 6 * plane), (v) => (v > 0 ? 1 : 0));
const gtTrajectory = Float32Array.from({ length: 18 }, (_, k) =>
  k % 3 === 1 ? (Math.floor(k / 3) + 1) * 4 : 0.1,
);
const plannedTrajectory = Float32Array.from(gtTrajectory, (v) => v + rng.normal() * 0.5);
const planning = new PlanningMetric();
const planningMs = time(
  () => planning.update({ plannedTrajectory, gtTrajectory, gtOccupancy }),
  repeats * 10,
);
print({ bench: 'metrics-planning-update', steps: 6, update_ms: round(planningMs, 4) });
