// The three.js BEV/3D view: ground rasters (HD map, predicted present/future occupancy, GT occupancy, cost volume)
// as textured planes, candidate trajectories coloured by cost, the chosen, GT and re-planned trajectories as
// ribbons, GT boxes, the ego path and the ego car. Top (follow-ego), chase (follow-ego) and orbit cameras; two runs
// side by side (one shared camera, so they stay synced) or overlaid.
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { type DecodedFrame, type FrameTypedArray, frameArray } from '../../../eval/run-format.ts';
import type { ReplanResult, RunInfo, SampleView } from '../../api/protocol.ts';
import { COLORS, costColor, type Rgb, turbo } from '../colors.ts';
import type { FrameBundle } from '../data.ts';
import { BOX_EDGES, boxCorners, type TrajectoryFrame, trajectoryToBev } from '../geometry.ts';
import { compareRun, type LayerId, primaryRun, store } from '../store.ts';

const PAPER_GRID = { xBound: [-50, 50, 0.5], yBound: [-50, 50, 0.5], rows: 200, cols: 200 };
type Grid = typeof PAPER_GRID;

class Raster {
  readonly data: Uint8Array;
  readonly texture: THREE.DataTexture;
  readonly mesh: THREE.Mesh;
  constructor(
    readonly grid: Grid,
    z: number,
    order: number,
  ) {
    // Texture u runs along rows (x forward), v along columns (y left): texel (u=row, v=col) at index col·rows + row.
    this.data = new Uint8Array(grid.rows * grid.cols * 4);
    this.texture = new THREE.DataTexture(this.data, grid.rows, grid.cols, THREE.RGBAFormat);
    this.texture.magFilter = THREE.NearestFilter;
    this.texture.minFilter = THREE.LinearFilter;
    this.texture.colorSpace = THREE.SRGBColorSpace;
    const width = grid.xBound[1] - grid.xBound[0];
    const height = grid.yBound[1] - grid.yBound[0];
    const geometry = new THREE.PlaneGeometry(width, height);
    geometry.translate((grid.xBound[0] + grid.xBound[1]) / 2, (grid.yBound[0] + grid.yBound[1]) / 2, z);
    const material = new THREE.MeshBasicMaterial({ map: this.texture, transparent: true, depthWrite: false });
    this.mesh = new THREE.Mesh(geometry, material);
    this.mesh.renderOrder = order;
  }
  /** Fills from a [rows, cols] plane: colour and alpha per cell value (0 = transparent). */
  fill(
    values: FrameTypedArray | null,
    offset: number,
    color: (v: number) => [number, number, number, number] | null,
  ) {
    const { rows, cols } = this.grid;
    this.data.fill(0);
    if (values) {
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const rgba = color(values[offset + r * cols + c]);
          if (!rgba) continue;
          const o = (c * rows + r) * 4;
          this.data[o] = rgba[0];
          this.data[o + 1] = rgba[1];
          this.data[o + 2] = rgba[2];
          this.data[o + 3] = rgba[3];
        }
      }
    }
    this.texture.needsUpdate = true;
  }
  dispose() {
    this.texture.dispose();
    this.mesh.geometry.dispose();
    (this.mesh.material as THREE.Material).dispose();
  }
}

/** A flat ribbon through BEV points (WebGL lines are one pixel wide). */
function ribbon(points: [number, number][], width: number, color: number, z: number): THREE.Mesh {
  const positions: number[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [x0, y0] = points[i];
    const [x1, y1] = points[i + 1];
    const len = Math.hypot(x1 - x0, y1 - y0) || 1;
    const nx = (-(y1 - y0) / len) * (width / 2);
    const ny = ((x1 - x0) / len) * (width / 2);
    positions.push(x0 + nx, y0 + ny, z, x0 - nx, y0 - ny, z, x1 + nx, y1 + ny, z);
    positions.push(x1 + nx, y1 + ny, z, x0 - nx, y0 - ny, z, x1 - nx, y1 - ny, z);
  }
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute('position', new THREE.Float32BufferAttribute(positions, 3));
  const mesh = new THREE.Mesh(
    geometry,
    // Transparent (though opaque to the eye) so three.js draws it in the transparent pass, ordered by renderOrder
    // after the see-through rasters; in the opaque pass the rasters drawn later would paint over it.
    new THREE.MeshBasicMaterial({ color, side: THREE.DoubleSide, depthWrite: false, transparent: true }),
  );
  mesh.renderOrder = 20;
  return mesh;
}

/**
 * Removes a layer's objects and frees their GPU buffers. Their materials are left to the garbage collector instead
 * of disposed: disposing the last material of a kind releases its shader program, and the next frame recompiles it
 * (~200 ms per program under SwiftShader, most of a frame's time). Materials hold no GPU memory of their own here
 * (the raster textures live in RasterLayer).
 */
function disposeChildren(group: THREE.Group) {
  for (const child of [...group.children]) {
    group.remove(child);
    (child as THREE.Mesh).geometry?.dispose();
  }
}

/** One run's layers in one scene. */
class RunScene {
  readonly scene = new THREE.Scene();
  readonly groups: Record<LayerId | 'replanned' | 'ego' | 'overlay', THREE.Group>;
  rasters: Record<
    'hdmap' | 'occupancy' | 'futureOccupancy' | 'gtOccupancy' | 'costVolume' | 'overlay',
    Raster
  >;
  grid: Grid = PAPER_GRID;

  constructor() {
    this.scene.background = new THREE.Color(0x15181d);
    const names = [
      'hdmap',
      'gtBoxes',
      'occupancy',
      'futureOccupancy',
      'gtOccupancy',
      'costVolume',
      'candidates',
      'planned',
      'gtTrajectory',
      'egoPath',
      'replanned',
      'ego',
      'overlay',
    ] as const;
    this.groups = Object.fromEntries(names.map((n) => [n, new THREE.Group()])) as RunScene['groups'];
    for (const g of Object.values(this.groups)) this.scene.add(g);
    const grid = new THREE.GridHelper(100, 10, 0x303640, 0x262b33);
    grid.rotation.x = Math.PI / 2;
    grid.position.z = -0.02;
    this.scene.add(grid);
    this.rasters = this.#makeRasters(PAPER_GRID);
    const ego = new THREE.Mesh(
      new THREE.BoxGeometry(4.084, 1.85, 1.5),
      new THREE.MeshBasicMaterial({ color: COLORS.ego }),
    );
    ego.position.set(0.5, 0, 0.75);
    const edges = new THREE.LineSegments(
      new THREE.EdgesGeometry(ego.geometry),
      new THREE.LineBasicMaterial({ color: 0x222222 }),
    );
    ego.add(edges);
    ego.renderOrder = 30;
    this.groups.ego.add(ego);
  }

  #makeRasters(grid: Grid): RunScene['rasters'] {
    const r = {
      hdmap: new Raster(grid, 0, 1),
      costVolume: new Raster(grid, 0.01, 2),
      occupancy: new Raster(grid, 0.02, 3),
      futureOccupancy: new Raster(grid, 0.03, 4),
      overlay: new Raster(grid, 0.035, 5),
      gtOccupancy: new Raster(grid, 0.04, 6),
    };
    for (const [name, raster] of Object.entries(r)) this.groups[name as 'hdmap'].add(raster.mesh);
    return r;
  }

  setGrid(grid: Grid) {
    if (
      grid.rows === this.grid.rows &&
      grid.cols === this.grid.cols &&
      grid.xBound[0] === this.grid.xBound[0] &&
      grid.yBound[0] === this.grid.yBound[0]
    )
      return;
    for (const raster of Object.values(this.rasters)) {
      raster.mesh.parent?.remove(raster.mesh);
      raster.dispose();
    }
    this.grid = grid;
    this.rasters = this.#makeRasters(grid);
  }
}

function gridOf(run: RunInfo | undefined): Grid {
  if (!run) return PAPER_GRID;
  const b = run.manifest.bev;
  return { xBound: b.xBound, yBound: b.yBound, rows: b.rows, cols: b.cols };
}

export interface BevLabels {
  a: string;
  b: string | null;
}

export class BevView {
  readonly canvas: HTMLCanvasElement;
  readonly renderer: THREE.WebGLRenderer;
  readonly a = new RunScene();
  readonly b = new RunScene();
  readonly top = new THREE.OrthographicCamera(-30, 30, 30, -30, 0.1, 500);
  readonly perspective = new THREE.PerspectiveCamera(50, 1, 0.1, 1000);
  readonly controls: OrbitControls;
  /** Half the visible height of the top view, metres (also read by tests to map metres to pixels). */
  halfHeightM = 30;
  #bundle: FrameBundle | null = null;
  #replan: ReplanResult | null = null;
  lastFrameMs = 0;
  readonly #labels: HTMLElement;

  constructor(readonly container: HTMLElement) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'bev-canvas';
    this.canvas.dataset.testid = 'bev-canvas';
    container.append(this.canvas);
    this.#labels = document.createElement('div');
    this.#labels.className = 'bev-labels';
    container.append(this.#labels);
    this.renderer = new THREE.WebGLRenderer({
      canvas: this.canvas,
      antialias: true,
      preserveDrawingBuffer: true,
    });
    this.renderer.setPixelRatio(1);
    this.top.up.set(1, 0, 0);
    this.top.position.set(0, 0, 100);
    this.top.lookAt(0, 0, 0);
    this.perspective.up.set(0, 0, 1);
    this.perspective.position.set(-22, 0, 16);
    this.perspective.lookAt(12, 0, 0);
    this.controls = new OrbitControls(this.perspective, this.canvas);
    this.controls.target.set(0, 0, 0);
    this.controls.enabled = false;
    this.controls.addEventListener('change', () => this.render());
    this.canvas.addEventListener(
      'wheel',
      (e) => {
        if (store.getState().cameraMode !== 'top') return;
        e.preventDefault();
        this.halfHeightM = Math.max(8, Math.min(60, this.halfHeightM * (e.deltaY > 0 ? 1.1 : 1 / 1.1)));
        this.render();
      },
      { passive: false },
    );
    new ResizeObserver(() => this.render()).observe(container);
  }

  setReplan(result: ReplanResult | null) {
    this.#replan = result;
    this.#update();
    this.render();
  }

  update(bundle: FrameBundle) {
    this.#bundle = bundle;
    this.#update();
    this.render();
  }

  refresh() {
    this.#update();
    this.render();
  }

  #update() {
    const bundle = this.#bundle;
    const s = store.getState();
    const runA = primaryRun(s);
    const runB = compareRun(s);
    const frameMode = (s.preferences.trajectoryFrame ?? 'planner') as TrajectoryFrame;
    this.a.setGrid(gridOf(runA));
    this.fillRun(this.a, bundle?.primary ?? null, runA, bundle, frameMode, true);
    disposeChildren(this.a.groups.overlay);
    this.a.rasters.overlay.fill(null, 0, () => null);
    if (runB && s.compareMode === 'overlay' && bundle?.compare)
      this.#overlay(bundle.compare, runB, bundle.view, frameMode);
    if (runB && s.compareMode === 'side') {
      this.b.setGrid(gridOf(runB));
      this.fillRun(this.b, bundle?.compare ?? null, runB, bundle, frameMode, false);
    }
    for (const scene of [this.a, this.b]) {
      for (const layer of Object.keys(s.layers) as LayerId[]) scene.groups[layer].visible = s.layers[layer];
      scene.groups.replanned.visible = true;
    }
    this.#labels.innerHTML = '';
    if (runB && s.compareMode === 'side') {
      for (const [cls, run] of [
        ['left', runA],
        ['right', runB],
      ] as const) {
        const tag = document.createElement('span');
        tag.className = `bev-tag ${cls}`;
        tag.textContent = run?.label ?? '';
        this.#labels.append(tag);
      }
    }
  }

  #overlay(frame: DecodedFrame, run: RunInfo, view: SampleView | null, frameMode: TrajectoryFrame) {
    const s = store.getState();
    const grid = gridOf(run);
    const cells = grid.rows * grid.cols;
    const seg = frameArray<Uint8Array>(frame, 'segmentation', 'uint8');
    const step = Math.min(s.futureStep, (seg?.shape[0] ?? 1) - 1);
    const [r, g, b] = COLORS.compareOccupancy;
    this.a.rasters.overlay.fill(seg?.data ?? null, step * cells, (v) => (v > 127 ? [r, g, b, 150] : null));
    const planned = frameArray<Float32Array>(frame, 'plannedTrajectory', 'float32');
    if (planned)
      this.a.groups.overlay.add(
        ribbon(this.#path(planned.data, false, frameMode, view), 0.45, COLORS.compare, 0.16),
      );
    this.a.groups.overlay.visible = s.layers.planned;
  }

  #path(
    data: Float32Array,
    hasOrigin: boolean,
    frameMode: TrajectoryFrame,
    view: SampleView | null,
  ): [number, number][] {
    const points: [number, number][] = hasOrigin ? [] : [trajectoryToBev(0, 0, frameMode, view)];
    for (let i = 0; i + 2 < data.length + 1; i += 3)
      points.push(trajectoryToBev(data[i], data[i + 1], frameMode, view));
    return points;
  }

  fillRun(
    scene: RunScene,
    frame: DecodedFrame | null,
    run: RunInfo | undefined,
    bundle: FrameBundle | null,
    frameMode: TrajectoryFrame,
    primary: boolean,
  ) {
    const s = store.getState();
    const grid = scene.grid;
    const cells = grid.rows * grid.cols;
    const view = bundle?.view ?? null;
    // HD map: the run's prediction, else the dataset's map around the ego.
    const hd = frame ? frameArray<Uint8Array>(frame, 'hdmap', 'uint8') : undefined;
    const hdData =
      hd?.data ??
      (grid === PAPER_GRID || (grid.rows === 200 && grid.cols === 200) ? (bundle?.map ?? null) : null);
    const lane = COLORS.lane;
    const drv = COLORS.drivable;
    scene.rasters.hdmap.fill(hdData, 0, () => null);
    if (hdData) {
      const { rows, cols } = grid;
      const d = scene.rasters.hdmap.data;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const i = r * cols + c;
          const o = (c * rows + r) * 4;
          if (hdData[cells + i] > 127) d.set([drv[0], drv[1], drv[2], 255], o);
          if (hdData[i] > 127) d.set([lane[0], lane[1], lane[2], 255], o);
        }
      }
      scene.rasters.hdmap.texture.needsUpdate = true;
    }
    const seg = frame ? frameArray<Uint8Array>(frame, 'segmentation', 'uint8') : undefined;
    const ped = frame ? frameArray<Uint8Array>(frame, 'pedestrian', 'uint8') : undefined;
    const frames = seg?.shape[0] ?? 1;
    const step = Math.max(1, Math.min(s.futureStep, frames - 1));
    const [or, og, ob] = COLORS.occupancy;
    const [fr, fg, fb] = COLORS.future;
    const occ = (base: Rgb) => (v: number) =>
      v > 25
        ? ([base[0], base[1], base[2], Math.min(230, 40 + v)] as [number, number, number, number])
        : null;
    scene.rasters.occupancy.fill(seg?.data ?? null, 0, occ([or, og, ob]));
    if (ped && seg) {
      // Pedestrians over vehicles, same colour family.
      const d = scene.rasters.occupancy.data;
      for (let i = 0; i < cells; i++)
        if (ped.data[i] > 127)
          d.set([120, 200, 255, 230], ((i % grid.cols) * grid.rows + Math.floor(i / grid.cols)) * 4);
    }
    scene.rasters.futureOccupancy.fill(
      frames > 1 ? (seg?.data ?? null) : null,
      step * cells,
      occ([fr, fg, fb]),
    );
    const gtSeg = frame ? frameArray<Uint8Array>(frame, 'gtSegmentation', 'uint8') : undefined;
    scene.rasters.gtOccupancy.fill(gtSeg?.data ?? null, 0, (v) => (v ? [245, 245, 245, 110] : null));
    const cost = frame ? frameArray<Uint8Array>(frame, 'costVolume', 'uint8') : undefined;
    if (cost) {
      const f = Math.min(step - 1, cost.shape[0] - 1);
      let max = 1;
      for (let i = 0; i < cells; i++) max = Math.max(max, cost.data[f * cells + i]);
      scene.rasters.costVolume.fill(cost.data, f * cells, (v) => {
        if (v === 0) return null;
        const [r, g, b] = turbo(v / max);
        return [r, g, b, 170];
      });
    } else scene.rasters.costVolume.fill(null, 0, () => null);

    // Trajectories.
    for (const name of ['candidates', 'planned', 'gtTrajectory', 'replanned', 'gtBoxes', 'egoPath'] as const)
      disposeChildren(scene.groups[name]);
    const cands = frame ? frameArray<Float32Array>(frame, 'candidates', 'float32') : undefined;
    const costs = frame ? frameArray<Float32Array>(frame, 'candidateCosts', 'float32') : undefined;
    if (cands && cands.shape[0] > 0) {
      const [M, F] = cands.shape;
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      const values = costs?.data ?? new Float32Array(M);
      for (const v of values) {
        if (Number.isFinite(v)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
      // Draw the cheapest last so they sit on top.
      const order = [...values.keys()].sort((i, j) => values[j] - values[i]);
      const positions: number[] = [];
      const colors: number[] = [];
      for (const m of order) {
        const [r, g, b] = costColor(hi > lo ? (values[m] - lo) / (hi - lo) : 0);
        let prev = trajectoryToBev(0, 0, frameMode, view);
        for (let t = 0; t < F; t++) {
          const o = (m * F + t) * 3;
          const p = trajectoryToBev(cands.data[o], cands.data[o + 1], frameMode, view);
          positions.push(prev[0], prev[1], 0.08, p[0], p[1], 0.08);
          colors.push(r / 255, g / 255, b / 255, r / 255, g / 255, b / 255);
          prev = p;
        }
      }
      const geometry = new THREE.BufferGeometry();
      geometry.setAttribute('position', new THREE.Float32BufferAttribute(positions, 3));
      geometry.setAttribute('color', new THREE.Float32BufferAttribute(colors, 3));
      const lines = new THREE.LineSegments(
        geometry,
        new THREE.LineBasicMaterial({
          vertexColors: true,
          transparent: true,
          opacity: 0.55,
          depthWrite: false,
        }),
      );
      lines.renderOrder = 10;
      scene.groups.candidates.add(lines);
    }
    const planned = frame ? frameArray<Float32Array>(frame, 'plannedTrajectory', 'float32') : undefined;
    if (planned)
      scene.groups.planned.add(
        ribbon(this.#path(planned.data, false, frameMode, view), 0.6, COLORS.planned, 0.15),
      );
    const gt = frame ? frameArray<Float32Array>(frame, 'gtTrajectory', 'float32') : undefined;
    if (gt)
      scene.groups.gtTrajectory.add(
        ribbon(this.#path(gt.data, true, frameMode, view), 0.35, COLORS.gtTrajectory, 0.14),
      );
    if (primary && this.#replan && bundle && this.#replan) {
      const data = Float32Array.from(this.#replan.trajectory.flat());
      scene.groups.replanned.add(
        ribbon(this.#path(data, false, frameMode, view), 0.5, COLORS.replanned, 0.17),
      );
    }
    // Boxes and ego path from the dataset.
    if (view) {
      const positions: number[] = [];
      const colors: number[] = [];
      for (const box of view.boxes) {
        const corners = boxCorners(box.center, box.size, box.yawRad);
        for (const [i, j] of BOX_EDGES) {
          positions.push(...corners[i], ...corners[j]);
          colors.push(...box.rgb.map((v) => v / 255), ...box.rgb.map((v) => v / 255));
        }
      }
      const geometry = new THREE.BufferGeometry();
      geometry.setAttribute('position', new THREE.Float32BufferAttribute(positions, 3));
      geometry.setAttribute('color', new THREE.Float32BufferAttribute(colors, 3));
      scene.groups.gtBoxes.add(
        new THREE.LineSegments(geometry, new THREE.LineBasicMaterial({ vertexColors: true })),
      );
      if (view.egoPath.length > 1) {
        const pathGeometry = new THREE.BufferGeometry().setFromPoints(
          view.egoPath.map(([x, y]) => new THREE.Vector3(x, y, 0.05)),
        );
        scene.groups.egoPath.add(
          new THREE.Line(
            pathGeometry,
            new THREE.LineDashedMaterial({ color: COLORS.egoPath, dashSize: 1, gapSize: 0.6 }),
          ),
        );
        (scene.groups.egoPath.children[0] as THREE.Line).computeLineDistances();
      }
    }
    void run;
  }

  /** Metres per pixel of the top view (tests map BEV metres to pixels with it). */
  get metresPerPixel(): number {
    return (2 * this.halfHeightM) / Math.max(1, this.canvas.clientHeight);
  }

  render() {
    const started = performance.now();
    const s = store.getState();
    const width = Math.max(1, this.container.clientWidth);
    const height = Math.max(1, this.container.clientHeight);
    if (this.canvas.width !== width || this.canvas.height !== height)
      this.renderer.setSize(width, height, true);
    const side = s.compareMode === 'side' && compareRun(s) !== undefined;
    const viewWidth = side ? Math.floor(width / 2) : width;
    const aspect = viewWidth / height;
    this.controls.enabled = s.cameraMode === 'orbit';
    let camera: THREE.Camera;
    if (s.cameraMode === 'top') {
      const h = this.halfHeightM;
      Object.assign(this.top, { left: -h * aspect, right: h * aspect, top: h, bottom: -h });
      this.top.updateProjectionMatrix();
      camera = this.top;
    } else {
      this.perspective.aspect = aspect;
      this.perspective.updateProjectionMatrix();
      if (s.cameraMode === 'chase') {
        this.perspective.position.set(-22, 0, 16);
        this.perspective.lookAt(12, 0, 0);
      }
      camera = this.perspective;
    }
    this.canvas.dataset.metresPerPixel = String(this.metresPerPixel);
    this.canvas.dataset.cameraMode = s.cameraMode;
    this.renderer.setScissorTest(true);
    this.renderer.setViewport(0, 0, viewWidth, height);
    this.renderer.setScissor(0, 0, viewWidth, height);
    this.renderer.render(this.a.scene, camera);
    if (side) {
      this.renderer.setViewport(viewWidth, 0, width - viewWidth, height);
      this.renderer.setScissor(viewWidth, 0, width - viewWidth, height);
      this.renderer.render(this.b.scene, camera);
    }
    this.renderer.setScissorTest(false);
    this.lastFrameMs = performance.now() - started;
  }
}
