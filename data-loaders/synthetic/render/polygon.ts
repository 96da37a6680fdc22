// Hand-written convex-polygon clipping and scanline filling: the rasteriser's inner loops, where a general
// canvas library would cost an allocation or an anti-aliasing pass per shape and give no exact pixel counts.

/** Up to this many vertices: a quad or an 8-point hull, plus one per clip. */
const MAX_VERTICES = 16;

/** A convex polygon in camera coordinates with its projection; reused scratch, never reallocated. */
export class ScratchPolygon {
  n = 0;
  readonly x = new Float64Array(MAX_VERTICES);
  readonly y = new Float64Array(MAX_VERTICES);
  readonly z = new Float64Array(MAX_VERTICES);
  /** Which box corner a vertex is (−1 for a clip point): orders shared-edge clips identically for both faces. */
  readonly key = new Int32Array(MAX_VERTICES);
  readonly u = new Float64Array(MAX_VERTICES);
  readonly v = new Float64Array(MAX_VERTICES);

  push(x: number, y: number, z: number, key: number): void {
    const i = this.n++;
    this.x[i] = x;
    this.y[i] = y;
    this.z[i] = z;
    this.key[i] = key;
  }
}

/**
 * Sutherland–Hodgman against the plane z = near, keeping z ≥ near. The crossing point of an edge is
 * always computed from its lower-keyed end, so two faces sharing a clipped edge get bit-identical points
 * and the fill rule below neither double-counts nor drops pixels along it.
 */
export function clipNear(src: ScratchPolygon, near: number, dst: ScratchPolygon): void {
  dst.n = 0;
  const n = src.n;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    const zi = src.z[i];
    const zj = src.z[j];
    const inI = zi >= near;
    const inJ = zj >= near;
    if (inI) dst.push(src.x[i], src.y[i], zi, src.key[i]);
    if (inI !== inJ) {
      let a = i;
      let b = j;
      if (src.key[a] > src.key[b]) {
        a = j;
        b = i;
      }
      const t = (near - src.z[a]) / (src.z[b] - src.z[a]);
      dst.push(src.x[a] + t * (src.x[b] - src.x[a]), src.y[a] + t * (src.y[b] - src.y[a]), near, -1);
    }
  }
}

/** Pinhole projection of every vertex (K = [fx s cx; 0 fy cy; 0 0 1]). */
export function project(
  poly: ScratchPolygon,
  fx: number,
  skew: number,
  cx: number,
  fy: number,
  cy: number,
): void {
  for (let i = 0; i < poly.n; i++) {
    const iz = 1 / poly.z[i];
    poly.u[i] = (fx * poly.x[i] + skew * poly.y[i]) * iz + cx;
    poly.v[i] = fy * poly.y[i] * iz + cy;
  }
}

/**
 * Calls `span(y, x0, x1)` for each image row of a convex polygon's projection, covering pixels whose
 * centre (x + ½, y + ½) lies inside, with left/top edges inclusive and right/bottom exclusive (so faces
 * that share an edge partition its pixels), clipped to the image. x1 is exclusive; empty spans are skipped.
 */
export function fillSpans(
  poly: ScratchPolygon,
  width: number,
  height: number,
  span: (y: number, x0: number, x1: number) => void,
): void {
  const n = poly.n;
  if (n < 3) return;
  const us = poly.u;
  const vs = poly.v;
  let vMin = vs[0];
  let vMax = vs[0];
  for (let i = 1; i < n; i++) {
    if (vs[i] < vMin) vMin = vs[i];
    if (vs[i] > vMax) vMax = vs[i];
  }
  let y0 = Math.ceil(vMin - 0.5);
  let y1 = Math.ceil(vMax - 0.5);
  if (y0 < 0) y0 = 0;
  if (y1 > height) y1 = height;
  for (let y = y0; y < y1; y++) {
    const yc = y + 0.5;
    let xl = Number.POSITIVE_INFINITY;
    let xr = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const j = i + 1 === n ? 0 : i + 1;
      let ua = us[i];
      let va = vs[i];
      let ub = us[j];
      let vb = vs[j];
      if (va === vb) continue;
      if (va > vb) {
        const tu = ua;
        ua = ub;
        ub = tu;
        const tv = va;
        va = vb;
        vb = tv;
      }
      if (yc < va || yc >= vb) continue;
      const xc = ua + ((yc - va) * (ub - ua)) / (vb - va);
      if (xc < xl) xl = xc;
      if (xc > xr) xr = xc;
    }
    if (!(xr > xl)) continue;
    let x0 = Math.ceil(xl - 0.5);
    let x1 = Math.ceil(xr - 0.5);
    if (x0 < 0) x0 = 0;
    if (x1 > width) x1 = width;
    if (x1 > x0) span(y, x0, x1);
  }
}
