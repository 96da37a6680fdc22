// Six synced camera panels (nuScenes layout: front row FL F FR, back row BL B BR) with the GT boxes, predicted
// occupancy and the planned, GT and re-planned trajectories projected through each camera.

import { frameArray } from '../../../eval/run-format.ts';
import type { CameraView, ReplanResult, SampleView } from '../../api/protocol.ts';
import { COLORS, hex } from '../colors.ts';
import type { FrameBundle } from '../data.ts';
import {
  BOX_EDGES,
  boxCorners,
  cellCenter,
  project,
  type TrajectoryFrame,
  trajectoryToBev,
} from '../geometry.ts';
import { primaryRun, store } from '../store.ts';

const LAYOUT = [
  'CAM_FRONT_LEFT',
  'CAM_FRONT',
  'CAM_FRONT_RIGHT',
  'CAM_BACK_LEFT',
  'CAM_BACK',
  'CAM_BACK_RIGHT',
];

export class CameraGrid {
  readonly canvases = new Map<string, HTMLCanvasElement>();
  #bundle: FrameBundle | null = null;
  #replan: ReplanResult | null = null;

  constructor(readonly container: HTMLElement) {
    for (const channel of LAYOUT) {
      const cell = document.createElement('figure');
      cell.className = 'camera';
      const canvas = document.createElement('canvas');
      canvas.dataset.channel = channel;
      canvas.width = 480;
      canvas.height = 270;
      const caption = document.createElement('figcaption');
      caption.textContent = channel.replace('CAM_', '').replace('_', ' ');
      cell.append(canvas, caption);
      container.append(cell);
      this.canvases.set(channel, canvas);
    }
  }

  setReplan(result: ReplanResult | null) {
    this.#replan = result;
    this.draw();
  }

  update(bundle: FrameBundle) {
    this.#bundle = bundle;
    this.draw();
  }

  draw() {
    const bundle = this.#bundle;
    for (const [channel, canvas] of this.canvases) {
      const ctx = canvas.getContext('2d');
      if (!ctx) continue;
      ctx.fillStyle = '#0e1014';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      const camera = bundle?.view?.cameras.find((c) => c.channel === channel);
      const image = bundle?.images.get(channel);
      if (!bundle?.view || !camera) {
        ctx.fillStyle = '#667';
        ctx.font = '14px sans-serif';
        ctx.fillText(bundle?.view ? 'no image' : 'no dataset open', 12, 24);
        continue;
      }
      if (image) ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
      this.#overlays(ctx, canvas, camera, bundle.view, bundle);
    }
  }

  #overlays(
    ctx: CanvasRenderingContext2D,
    canvas: HTMLCanvasElement,
    camera: CameraView,
    view: SampleView,
    bundle: FrameBundle,
  ) {
    const s = store.getState();
    const sx = canvas.width / camera.width;
    const sy = canvas.height / camera.height;
    const P = camera.bevToImage;
    const toCanvas = (x: number, y: number, z: number): [number, number] | null => {
      const p = project(P, x, y, z);
      if (
        !p ||
        p[0] < -camera.width ||
        p[0] > 2 * camera.width ||
        p[1] < -camera.height ||
        p[1] > 2 * camera.height
      )
        return null;
      return [p[0] * sx, p[1] * sy];
    };
    const frameMode = (s.preferences.trajectoryFrame ?? 'planner') as TrajectoryFrame;
    const frame = bundle.primary;
    const run = primaryRun(s);
    // Predicted occupancy on the ground (present and the future step), as dots at cell centres.
    if (frame && run && (s.layers.occupancy || s.layers.futureOccupancy)) {
      const seg = frameArray<Uint8Array>(frame, 'segmentation', 'uint8');
      const { rows, cols, xBound, yBound } = run.manifest.bev;
      const cells = rows * cols;
      const draws: [number, string][] = [];
      if (s.layers.occupancy) draws.push([0, 'rgba(61,139,255,0.55)']);
      if (s.layers.futureOccupancy && seg && seg.shape[0] > 1)
        draws.push([Math.min(s.futureStep, seg.shape[0] - 1), 'rgba(255,94,58,0.55)']);
      for (const [f, color] of draws) {
        if (!seg) break;
        ctx.fillStyle = color;
        for (let i = 0; i < cells; i++) {
          if (seg.data[f * cells + i] <= 127) continue;
          const [x, y] = cellCenter(Math.floor(i / cols), i % cols, xBound, yBound);
          if (x < 1) continue;
          const p = toCanvas(x, y, 0);
          if (p) ctx.fillRect(p[0] - 1.5, p[1] - 1.5, 3, 3);
        }
      }
    }
    if (s.layers.gtBoxes) {
      ctx.lineWidth = 1.5;
      for (const box of view.boxes) {
        const corners = boxCorners(box.center, box.size, box.yawRad).map(([x, y, z]) => toCanvas(x, y, z));
        if (corners.some((c) => c === null)) continue;
        ctx.strokeStyle = hex(box.rgb);
        ctx.beginPath();
        for (const [i, j] of BOX_EDGES) {
          const a = corners[i] as [number, number];
          const b = corners[j] as [number, number];
          ctx.moveTo(a[0], a[1]);
          ctx.lineTo(b[0], b[1]);
        }
        ctx.stroke();
      }
    }
    const path = (data: ArrayLike<number>, hasOrigin: boolean, color: number, width: number) => {
      const points: [number, number][] = hasOrigin ? [] : [trajectoryToBev(0, 0, frameMode, view)];
      for (let i = 0; i + 2 < data.length + 1; i += 3)
        points.push(trajectoryToBev(data[i], data[i + 1], frameMode, view));
      ctx.strokeStyle = `#${color.toString(16).padStart(6, '0')}`;
      ctx.lineWidth = width;
      ctx.beginPath();
      let started = false;
      for (const [x, y] of points) {
        const p = toCanvas(x, y, 0);
        if (!p) {
          started = false;
          continue;
        }
        if (started) ctx.lineTo(p[0], p[1]);
        else ctx.moveTo(p[0], p[1]);
        started = true;
      }
      ctx.stroke();
    };
    if (frame && s.layers.gtTrajectory) {
      const gt = frameArray<Float32Array>(frame, 'gtTrajectory', 'float32');
      if (gt) path(gt.data, true, COLORS.gtTrajectory, 3);
    }
    if (frame && s.layers.planned) {
      const planned = frameArray<Float32Array>(frame, 'plannedTrajectory', 'float32');
      if (planned) path(planned.data, false, COLORS.planned, 3);
    }
    if (this.#replan) path(this.#replan.trajectory.flat(), false, COLORS.replanned, 3);
  }
}
