/**
 * OpenCV 4.6 `cv2.fillPoly` and `cv2.polylines` (8-connected, shift 0) on a one-channel uint8 image,
 * ported operation for operation from `modules/imgproc/src/drawing.cpp` (CollectPolyEdges,
 * FillEdgeCollection, LineIterator, Line2, FillConvexPoly, Circle, ThickLine, PolyLine, clipLine).
 * Hand-written because no npm package reproduces cv2's integer rasterisation, and the devkit's map masks
 * are defined by it pixel for pixel. 64-bit integer arithmetic is done on JS numbers, which is exact
 * here: every intermediate stays far below 2^53.
 */

const XY_SHIFT = 16;
const XY_ONE = 65536;
const HALF = XY_ONE / 2;

/** A one-channel image, row-major: `data[row * width + col]`. */
export interface Raster {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export function createRaster(height: number, width: number): Raster {
  return { width, height, data: new Uint8Array(width * height) };
}

/** `v >> k` for a signed 64-bit integer (floor division by 2^k). */
function shr(v: number, k: number): number {
  return Math.floor(v / 2 ** k);
}

/** C integer division (truncation towards zero), exact for |a|, |b| < 2^53. */
function idiv(a: number, b: number): number {
  let q = Math.trunc(a / b);
  const r = a - q * b;
  // Correct the rare case where the rounded float quotient crossed an integer.
  if (r !== 0 && Math.sign(r) !== Math.sign(a)) q += a > 0 === b > 0 ? -1 : 1;
  else if (Math.abs(r) >= Math.abs(b)) q += a > 0 === b > 0 ? 1 : -1;
  return q;
}

/** `cvRound`: round half to even (SSE2 cvtsd2si under the default rounding mode). */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

function hline(img: Raster, y: number, xl: number, xr: number, color: number): void {
  if (xr < xl) return;
  const row = y * img.width;
  img.data.fill(color, row + xl, row + xr + 1);
}

interface Pt {
  x: number;
  y: number;
}

/** `clipLine(Size2l, Point2l&, Point2l&)`: Cohen–Sutherland against [0, w-1] × [0, h-1]; in place. */
function clipLine(width: number, height: number, p1: Pt, p2: Pt): boolean {
  const right = width - 1;
  const bottom = height - 1;
  if (width <= 0 || height <= 0) return false;
  const code = (p: Pt) =>
    (p.x < 0 ? 1 : 0) + (p.x > right ? 2 : 0) + (p.y < 0 ? 4 : 0) + (p.y > bottom ? 8 : 0);
  let c1 = code(p1);
  let c2 = code(p2);
  if ((c1 & c2) === 0 && (c1 | c2) !== 0) {
    let a: number;
    if (c1 & 12) {
      a = c1 < 8 ? 0 : bottom;
      p1.x += Math.trunc(((a - p1.y) * (p2.x - p1.x)) / (p2.y - p1.y));
      p1.y = a;
      c1 = (p1.x < 0 ? 1 : 0) + (p1.x > right ? 2 : 0);
    }
    if (c2 & 12) {
      a = c2 < 8 ? 0 : bottom;
      p2.x += Math.trunc(((a - p2.y) * (p2.x - p1.x)) / (p2.y - p1.y));
      p2.y = a;
      c2 = (p2.x < 0 ? 1 : 0) + (p2.x > right ? 2 : 0);
    }
    if ((c1 & c2) === 0 && (c1 | c2) !== 0) {
      if (c1) {
        a = c1 === 1 ? 0 : right;
        p1.y += Math.trunc(((a - p1.x) * (p2.y - p1.y)) / (p2.x - p1.x));
        p1.x = a;
        c1 = 0;
      }
      if (c2) {
        a = c2 === 1 ? 0 : right;
        p2.y += Math.trunc(((a - p2.x) * (p2.y - p1.y)) / (p2.x - p1.x));
        p2.x = a;
        c2 = 0;
      }
    }
  }
  return (c1 | c2) === 0;
}

/** `Line()`: an 8-connected Bresenham line through `LineIterator(img, pt1, pt2, 8, leftToRight=true)`. */
export function drawLine(img: Raster, x1: number, y1: number, x2: number, y2: number, color: number): void {
  const p1 = { x: x1, y: y1 };
  const p2 = { x: x2, y: y2 };
  const { width, height } = img;
  if (
    p1.x < 0 ||
    p1.x >= width ||
    p2.x < 0 ||
    p2.x >= width ||
    p1.y < 0 ||
    p1.y >= height ||
    p2.y < 0 ||
    p2.y >= height
  ) {
    if (!clipLine(width, height, p1, p2)) return;
  }
  let dx = p2.x - p1.x;
  let dy = p2.y - p1.y;
  let sx = p1.x;
  let sy = p1.y;
  let deltaX = 1;
  let deltaY = 1;
  if (dx < 0) {
    dx = -dx;
    dy = -dy;
    sx = p2.x;
    sy = p2.y;
  }
  if (dy < 0) {
    dy = -dy;
    deltaY = -1;
  }
  const vert = dy > dx;
  if (vert) {
    [dx, dy] = [dy, dx];
    [deltaX, deltaY] = [deltaY, deltaX];
  }
  let err = dx - (dy + dy);
  const plusDelta = dx + dx;
  const minusDelta = -(dy + dy);
  // Moves applied on every step ("minus") and additionally when err < 0 ("plus").
  let minusCol: number;
  let minusRow: number;
  let plusCol: number;
  let plusRow: number;
  if (!vert) {
    minusCol = deltaX;
    minusRow = 0;
    plusCol = 0;
    plusRow = deltaY;
  } else {
    minusCol = 0;
    minusRow = deltaX;
    plusCol = deltaY;
    plusRow = 0;
  }
  const count = dx + 1;
  let x = sx;
  let y = sy;
  for (let i = 0; i < count; i++) {
    img.data[y * width + x] = color;
    const plus = err < 0;
    err += minusDelta + (plus ? plusDelta : 0);
    x += minusCol + (plus ? plusCol : 0);
    y += minusRow + (plus ? plusRow : 0);
  }
}

/** `Line2()`: the fixed-point (16.16) line used for polygon outlines with shift > 0. */
function drawLine2(img: Raster, a: Pt, b: Pt, color: number): void {
  const { width, height } = img;
  const pt1 = { x: a.x, y: a.y };
  const pt2 = { x: b.x, y: b.y };
  if (!clipLine(width * XY_ONE, height * XY_ONE, pt1, pt2)) return;
  let dx = pt2.x - pt1.x;
  let dy = pt2.y - pt1.y;
  const ax = Math.abs(dx);
  const ay = Math.abs(dy);
  let xStep: number;
  let yStep: number;
  let ecount: number;
  const swap = () => {
    const tx = pt1.x;
    const ty = pt1.y;
    pt1.x = pt2.x;
    pt1.y = pt2.y;
    pt2.x = tx;
    pt2.y = ty;
  };
  const odd = (v: number) => (v % 2 === 0 ? v + 1 : v);
  if (ax > ay) {
    if (dx < 0) {
      dy = -dy;
      swap();
    }
    xStep = XY_ONE;
    yStep = idiv(dy * XY_ONE, odd(ax));
    ecount = shr(pt2.x - pt1.x, XY_SHIFT);
  } else {
    if (dy < 0) {
      dx = -dx;
      swap();
    }
    xStep = idiv(dx * XY_ONE, odd(ay));
    yStep = XY_ONE;
    ecount = shr(pt2.y - pt1.y, XY_SHIFT);
  }
  pt1.x += HALF;
  pt1.y += HALF;
  const put = (x: number, y: number) => {
    if (x >= 0 && x < width && y >= 0 && y < height) img.data[y * width + x] = color;
  };
  put(shr(pt2.x + HALF, XY_SHIFT), shr(pt2.y + HALF, XY_SHIFT));
  if (ax > ay) {
    pt1.x = shr(pt1.x, XY_SHIFT);
    while (ecount >= 0) {
      put(pt1.x, shr(pt1.y, XY_SHIFT));
      pt1.x++;
      pt1.y += yStep;
      ecount--;
    }
  } else {
    pt1.y = shr(pt1.y, XY_SHIFT);
    while (ecount >= 0) {
      put(shr(pt1.x, XY_SHIFT), pt1.y);
      pt1.x += xStep;
      pt1.y++;
      ecount--;
    }
  }
}

/** `FillConvexPoly()` for 8-connected lines; `v` is in fixed point with `shift` fractional bits. */
function fillConvexPoly(img: Raster, v: readonly Pt[], color: number, shift: number): void {
  const npts = v.length;
  const delta = shift === 0 ? 0 : 2 ** (shift - 1);
  const delta1 = HALF;
  const delta2 = HALF;
  const up = 2 ** (XY_SHIFT - shift);
  const { width, height } = img;
  let imin = 0;
  let edges = npts;
  let xmin = v[0].x;
  let xmax = v[0].x;
  let ymin = v[0].y;
  let ymax = v[0].y;
  let p0 = { x: v[npts - 1].x * up, y: v[npts - 1].y * up };
  for (let i = 0; i < npts; i++) {
    const p = v[i];
    if (p.y < ymin) {
      ymin = p.y;
      imin = i;
    }
    ymax = Math.max(ymax, p.y);
    xmax = Math.max(xmax, p.x);
    xmin = Math.min(xmin, p.x);
    const ps = { x: p.x * up, y: p.y * up };
    if (shift === 0) {
      drawLine(
        img,
        shr(p0.x, XY_SHIFT),
        shr(p0.y, XY_SHIFT),
        shr(ps.x, XY_SHIFT),
        shr(ps.y, XY_SHIFT),
        color,
      );
    } else {
      drawLine2(img, p0, ps, color);
    }
    p0 = ps;
  }
  xmin = shr(xmin + delta, shift);
  xmax = shr(xmax + delta, shift);
  ymin = shr(ymin + delta, shift);
  ymax = shr(ymax + delta, shift);
  if (npts < 3 || xmax < 0 || ymax < 0 || xmin >= width || ymin >= height) return;
  ymax = Math.min(ymax, height - 1);
  const edge = [
    { idx: imin, di: 1, x: -XY_ONE, dx: 0, ye: ymin },
    { idx: imin, di: npts - 1, x: -XY_ONE, dx: 0, ye: ymin },
  ];
  let y = ymin;
  do {
    for (let i = 0; i < 2; i++) {
      if (y >= edge[i].ye) {
        let idx0 = edge[i].idx;
        const di = edge[i].di;
        let idx = idx0 + di;
        if (idx >= npts) idx -= npts;
        for (; edges-- > 0; ) {
          const ty = shr(v[idx].y + delta, shift);
          if (ty > y) {
            const xs = v[idx0].x * up;
            const xe = v[idx].x * up;
            edge[i].ye = ty;
            edge[i].dx = idiv((xe - xs) * 2 + (ty - y), 2 * (ty - y));
            edge[i].x = xs;
            edge[i].idx = idx;
            break;
          }
          idx0 = idx;
          idx += di;
          if (idx >= npts) idx -= npts;
        }
      }
    }
    if (edges < 0) break;
    if (y >= 0) {
      let left = 0;
      let right = 1;
      if (edge[0].x > edge[1].x) {
        left = 1;
        right = 0;
      }
      let xx1 = shr(edge[left].x + delta1, XY_SHIFT);
      let xx2 = shr(edge[right].x + delta2, XY_SHIFT);
      if (xx2 >= 0 && xx1 < width) {
        if (xx1 < 0) xx1 = 0;
        if (xx2 >= width) xx2 = width - 1;
        hline(img, y, xx1, xx2, color);
      }
    }
    edge[0].x += edge[0].dx;
    edge[1].x += edge[1].dx;
  } while (++y <= ymax);
}

/** `Circle()` with integer centre and radius; `fill` draws the disc. */
function drawCircle(img: Raster, cx: number, cy: number, radius: number, color: number, fill: boolean): void {
  const { width, height } = img;
  let err = 0;
  let dx = radius;
  let dy = 0;
  let plus = 1;
  let minus = (radius << 1) - 1;
  const inside = cx >= radius && cx < width - radius && cy >= radius && cy < height - radius;
  const put = (y: number, x: number) => {
    img.data[y * width + x] = color;
  };
  while (dx >= dy) {
    const y11 = cy - dy;
    const y12 = cy + dy;
    const y21 = cy - dx;
    const y22 = cy + dx;
    let x11 = cx - dx;
    let x12 = cx + dx;
    let x21 = cx - dy;
    let x22 = cx + dy;
    if (inside) {
      if (!fill) {
        put(y11, x11);
        put(y12, x11);
        put(y11, x12);
        put(y12, x12);
        put(y21, x21);
        put(y22, x21);
        put(y21, x22);
        put(y22, x22);
      } else {
        hline(img, y11, x11, x12, color);
        hline(img, y12, x11, x12, color);
        hline(img, y21, x21, x22, color);
        hline(img, y22, x21, x22, color);
      }
    } else if (x11 < width && x12 >= 0 && y21 < height && y22 >= 0) {
      if (fill) {
        x11 = Math.max(x11, 0);
        x12 = Math.min(x12, width - 1);
      }
      for (const yy of [y11, y12]) {
        if (yy >= 0 && yy < height) {
          if (!fill) {
            if (x11 >= 0) put(yy, x11);
            if (x12 < width) put(yy, x12);
          } else hline(img, yy, x11, x12, color);
        }
      }
      if (x21 < width && x22 >= 0) {
        if (fill) {
          x21 = Math.max(x21, 0);
          x22 = Math.min(x22, width - 1);
        }
        for (const yy of [y21, y22]) {
          if (yy >= 0 && yy < height) {
            if (!fill) {
              if (x21 >= 0) put(yy, x21);
              if (x22 < width) put(yy, x22);
            } else hline(img, yy, x21, x22, color);
          }
        }
      }
    }
    dy++;
    err += plus;
    plus += 2;
    const mask = (err <= 0 ? 1 : 0) - 1;
    err -= minus & mask;
    dx += mask;
    minus -= mask & 2;
  }
}

/** `ThickLine()` for integer end points (shift 0) and 8-connected lines. */
function thickLine(img: Raster, a: Pt, b: Pt, color: number, thickness: number, flags: number): void {
  let p0 = { x: a.x * XY_ONE, y: a.y * XY_ONE };
  const p1 = { x: b.x * XY_ONE, y: b.y * XY_ONE };
  if (thickness <= 1) {
    drawLine(img, a.x, a.y, b.x, b.y, color);
    return;
  }
  const dx = (p0.x - p1.x) / XY_ONE;
  const dy = (p1.y - p0.y) / XY_ONE;
  let r = dx * dx + dy * dy;
  const oddThickness = thickness & 1;
  const thick = thickness * 2 ** (XY_SHIFT - 1);
  if (Math.abs(r) > Number.EPSILON) {
    r = (thick + oddThickness * XY_ONE * 0.5) / Math.sqrt(r);
    const dpx = roundHalfEven(dy * r);
    const dpy = roundHalfEven(dx * r);
    fillConvexPoly(
      img,
      [
        { x: p0.x + dpx, y: p0.y + dpy },
        { x: p0.x - dpx, y: p0.y - dpy },
        { x: p1.x - dpx, y: p1.y - dpy },
        { x: p1.x + dpx, y: p1.y + dpy },
      ],
      color,
      XY_SHIFT,
    );
  }
  for (let i = 0; i < 2; i++) {
    if (flags & (i + 1)) {
      drawCircle(
        img,
        shr(p0.x + HALF, XY_SHIFT),
        shr(p0.y + HALF, XY_SHIFT),
        shr(thick + HALF, XY_SHIFT),
        color,
        true,
      );
    }
    p0 = p1;
  }
}

/** An integer point list as cv2 takes it: `[[x0, y0], [x1, y1], …]`. */
export type IntPoints = readonly (readonly [number, number])[];

/** `cv2.polylines(img, polylines, isClosed, color, thickness)` with lineType 8 and shift 0. */
export function polylines(
  img: Raster,
  lines: readonly IntPoints[],
  isClosed: boolean,
  color: number,
  thickness: number,
): void {
  for (const v of lines) {
    const count = v.length;
    if (count <= 0) continue;
    let i = isClosed ? count - 1 : 0;
    let flags = 2 + (isClosed ? 0 : 1);
    let p0 = { x: v[i][0], y: v[i][1] };
    for (i = isClosed ? 0 : 1; i < count; i++) {
      const p = { x: v[i][0], y: v[i][1] };
      thickLine(img, p0, p, color, thickness, flags);
      p0 = p;
      flags = 2;
    }
  }
}

interface PolyEdge {
  y0: number;
  y1: number;
  x: number;
  dx: number;
  next: PolyEdge | null;
}

/** `CollectPolyEdges()` for one directed segment of a contour (shift 0, 8-connected): outline + edge. */
function collectSegment(img: Raster, a: Pt, b: Pt, color: number, edges: PolyEdge[]): void {
  drawLine(img, a.x, a.y, b.x, b.y, color);
  if (a.y === b.y) return;
  const ax = a.x * XY_ONE;
  const bx = b.x * XY_ONE;
  const dx = idiv(bx - ax, b.y - a.y);
  if (a.y < b.y) edges.push({ y0: a.y, y1: b.y, x: ax, dx, next: null });
  else edges.push({ y0: b.y, y1: a.y, x: bx, dx, next: null });
}

/** `FillEdgeCollection()`: the even–odd scanline fill over every collected edge at once. */
function fillEdgeCollection(img: Raster, edges: PolyEdge[], color: number): void {
  const total = edges.length;
  const { width, height } = img;
  if (total < 2) return;
  let yMax = -(2 ** 31);
  let yMin = 2 ** 31 - 1;
  let xMax = -1;
  let xMin = Number.MAX_SAFE_INTEGER;
  for (const e1 of edges) {
    const x1 = e1.x + (e1.y1 - e1.y0) * e1.dx;
    yMin = Math.min(yMin, e1.y0);
    yMax = Math.max(yMax, e1.y1);
    xMin = Math.min(xMin, e1.x, x1);
    xMax = Math.max(xMax, e1.x, x1);
  }
  if (yMax < 0 || yMin >= height || xMax < 0 || xMin >= width * XY_ONE) return;
  edges.sort((e1, e2) => (e1.y0 !== e2.y0 ? e1.y0 - e2.y0 : e1.x !== e2.x ? e1.x - e2.x : e1.dx - e2.dx));
  const sentinel: PolyEdge = { y0: 2 ** 31 - 1, y1: 0, x: 0, dx: 0, next: null };
  edges.push(sentinel);
  const tmp: PolyEdge = { y0: 0, y1: 0, x: 0, dx: 0, next: null };
  let i = 0;
  let e = edges[0];
  yMax = Math.min(yMax, height);
  for (let y = e.y0; y < yMax; y++) {
    let draw = false;
    const clipline = y < 0;
    let prelast: PolyEdge = tmp;
    let last = tmp.next;
    while (last || e.y0 === y) {
      if (last && last.y1 === y) {
        // The edge ends on this scanline: drop it from the active list.
        prelast.next = last.next;
        last = last.next;
        continue;
      }
      const keepPrelast = prelast;
      if (last && (e.y0 > y || last.x < e.x)) {
        prelast = last;
        last = last.next;
      } else if (i < total) {
        // The next sorted edge starts on this scanline: insert it.
        prelast.next = e;
        e.next = last;
        prelast = e;
        e = edges[++i];
      } else break;
      if (draw) {
        if (!clipline) {
          let x1: number;
          let x2: number;
          if (keepPrelast.x > prelast.x) {
            x1 = shr(prelast.x + XY_ONE - 1, XY_SHIFT);
            x2 = shr(keepPrelast.x, XY_SHIFT);
          } else {
            x1 = shr(keepPrelast.x + XY_ONE - 1, XY_SHIFT);
            x2 = shr(prelast.x, XY_SHIFT);
          }
          if (x1 < width && x2 >= 0) {
            if (x1 < 0) x1 = 0;
            if (x2 >= width) x2 = width - 1;
            hline(img, y, x1, x2, color);
          }
        }
        keepPrelast.x += keepPrelast.dx;
        prelast.x += prelast.dx;
      }
      draw = !draw;
    }
    // Bubble-sort the active list by x, exactly as OpenCV does.
    let keep: PolyEdge | null = null;
    do {
      let pre: PolyEdge = tmp;
      let cur = tmp.next;
      let lastExchange: PolyEdge | null = null;
      while (cur && cur !== keep && cur.next) {
        const te: PolyEdge = cur.next;
        if (cur.x > te.x) {
          pre.next = te;
          cur.next = te.next;
          te.next = cur;
          pre = te;
          lastExchange = pre;
        } else {
          pre = cur;
          cur = te;
        }
      }
      if (lastExchange === null) break;
      keep = lastExchange;
    } while (keep !== tmp.next && keep !== tmp);
  }
}

/** A directed segment between integer pixel coordinates: `[x0, y0, x1, y1]`. */
export type IntSegment = readonly [number, number, number, number];

/**
 * `cv2.fillPoly(img, contours, color)` expressed over the contours' directed segments (each contour
 * contributes `v[n-1]→v[0], v[0]→v[1], …`): outlines drawn with `Line`, then one even–odd fill over all
 * edges together, as OpenCV does.
 */
export function fillPolySegments(img: Raster, segments: readonly IntSegment[], color: number): void {
  const edges: PolyEdge[] = [];
  for (const s of segments) collectSegment(img, { x: s[0], y: s[1] }, { x: s[2], y: s[3] }, color, edges);
  fillEdgeCollection(img, edges, color);
}

/** `cv2.fillPoly(img, contours, color)` (lineType 8, shift 0, no offset). */
export function fillPoly(img: Raster, contours: readonly IntPoints[], color: number): void {
  const segments: IntSegment[] = [];
  for (const v of contours) {
    const n = v.length;
    for (let i = 0; i < n; i++) {
      const a = v[(i + n - 1) % n];
      const b = v[i];
      segments.push([a[0], a[1], b[0], b[1]]);
    }
  }
  fillPolySegments(img, segments, color);
}
