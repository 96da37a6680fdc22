/**
 * The devkit's `NuScenesMapExplorer.get_map_mask`, step for step: each record's geometry is clipped to
 * the rotated patch, rotated by -angle about the patch centre and moved to it, clipped again to the
 * axis-aligned local patch, shifted by (w/2, h/2) and scaled to the canvas; polygons are then rounded
 * (half to even) and filled with cv2.fillPoly (exterior 1, holes 0), lines truncated and drawn with
 * cv2.polylines of thickness 2. Row index = local y, column = local x.
 */
import { type Affine, applyAffine, boxRing, patchRing, rotation, scaling, translation } from './affine.ts';
import { type ClippedSegment, clipArea, clipLines, type SubjectSegment } from './clip.ts';
import type { Coord } from './predicates.ts';
import { signedArea2 } from './predicates.ts';
import {
  createRaster,
  fillPolySegments,
  type IntSegment,
  polylines,
  type Raster,
  roundHalfEven,
} from './raster.ts';

/** A patch as the devkit takes it: centre (x, y) in global metres, height along local y, width along local x. */
export interface PatchBox {
  readonly xCenter: number;
  readonly yCenter: number;
  readonly height: number;
  readonly width: number;
}

/** A polygon as closed rings (first point repeated last), like Shapely's `Polygon(shell, holes)`. */
export interface PolygonRings {
  readonly exterior: readonly Coord[];
  readonly interiors: readonly (readonly Coord[])[];
}

/** Polygons of one record, clipped and in local patch coordinates. */
type AreaGeom = ClippedSegment[];

function envelope(points: Iterable<Coord>): [number, number, number, number] {
  let minX = Number.POSITIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (const [x, y] of points) {
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  return [minX, minY, maxX, maxY];
}

function envDisjoint(a: readonly number[], b: readonly number[]): boolean {
  return a[0] > b[2] || a[2] < b[0] || a[1] > b[3] || a[3] < b[1];
}

/** The segments of a Shapely polygon as OverlayNG receives them. */
export function polygonSubject(polygon: PolygonRings): SubjectSegment[] {
  const out: SubjectSegment[] = [];
  const rings = [polygon.exterior, ...polygon.interiors];
  rings.forEach((ring, ringIndex) => {
    const isHole = ringIndex > 0;
    const ccw = signedArea2(ring) > 0;
    const interiorLeft = isHole ? !ccw : ccw;
    for (let i = 0; i + 1 < ring.length; i++) {
      out.push({ a: ring[i], b: ring[i + 1], ring: ringIndex, isHole, interiorLeft });
    }
  });
  return out;
}

function transformSegments(segs: readonly ClippedSegment[], m: Affine): ClippedSegment[] {
  // Each distinct input coordinate maps to one output coordinate, as in Shapely.
  return segs.map((s) => ({
    a: applyAffine(m, s.a),
    b: applyAffine(m, s.b),
    ring: s.ring,
    isHole: s.isHole,
  }));
}

function asSubject(segs: readonly ClippedSegment[], interiorLeft: boolean): SubjectSegment[] {
  return segs.map((s) => ({ a: s.a, b: s.b, ring: s.ring, isHole: s.isHole, interiorLeft }));
}

/** The patch geometry pipeline shared by masks and `getMapGeom`. */
export class PatchTransform {
  readonly globalRing: Coord[];
  readonly globalEnvelope: [number, number, number, number];
  readonly toLocal: [Affine, Affine];
  readonly localRing: Coord[];

  constructor(
    readonly patch: PatchBox,
    readonly angleDeg: number,
  ) {
    const { xCenter, yCenter, height, width } = patch;
    this.globalRing = patchRing(xCenter, yCenter, height, width, angleDeg);
    this.globalEnvelope = envelope(this.globalRing);
    this.toLocal = [rotation(-angleDeg, xCenter, yCenter), translation(-xCenter, -yCenter)];
    // get_patch_coord(local_box): centre (0, 0), rotated by 0 degrees (an exact identity).
    const rot0 = rotation(0.0, 0.0, 0.0);
    this.localRing = boxRing(
      0.0 - width / 2.0,
      0.0 - height / 2.0,
      0.0 + width / 2.0,
      0.0 + height / 2.0,
    ).map((c) => applyAffine(rot0, c));
  }

  private local(segs: readonly ClippedSegment[]): ClippedSegment[] {
    return transformSegments(transformSegments(segs, this.toLocal[0]), this.toLocal[1]);
  }

  /**
   * `polygon ∩ patch`, rotated into the patch frame (the devkit's `_get_layer_polygon`); null if empty.
   * `subject` may pass the polygon's segments ready-made (see `polygonSubject`).
   */
  polygonToLocal(polygon: PolygonRings, subject?: readonly SubjectSegment[]): AreaGeom | null {
    if (envDisjoint(envelope(polygon.exterior), this.globalEnvelope)) return null;
    const clipped = clipArea(subject ?? polygonSubject(polygon), this.globalRing);
    return clipped.length > 0 ? this.local(clipped) : null;
  }

  /** `line ∩ patch`, rotated into the patch frame (the devkit's `_get_layer_line`); null if empty. */
  lineToLocal(line: readonly Coord[]): ClippedSegment[] | null {
    if (line.length === 0 || envDisjoint(envelope(line), this.globalEnvelope)) return null;
    const subject: SubjectSegment[] = [];
    for (let i = 0; i + 1 < line.length; i++) {
      subject.push({ a: line[i], b: line[i + 1], ring: 0, isHole: false, interiorLeft: false });
    }
    const clipped = clipLines(subject, this.globalRing);
    return clipped.length > 0 ? this.local(clipped) : null;
  }

  /** Second clip to the local patch, then shift and scale to canvas pixels (`_polygon_geom_to_mask`). */
  private toCanvas(
    segs: readonly ClippedSegment[],
    area: boolean,
    canvasHeight: number,
    canvasWidth: number,
  ): ClippedSegment[] | null {
    const env = envelope(segs.flatMap((s) => [s.a, s.b]));
    if (envDisjoint(env, envelope(this.localRing))) return null;
    const clipped = area
      ? clipArea(asSubject(segs, false), this.localRing)
      : clipLines(asSubject(segs, false), this.localRing);
    if (clipped.length === 0) return null;
    const { height, width } = this.patch;
    const shift = translation(-0.0 + width / 2.0, -0.0 + height / 2.0);
    const scale = scaling(canvasWidth / width, canvasHeight / height);
    return transformSegments(transformSegments(clipped, shift), scale);
  }

  /** Fills one record's clipped polygons into the mask: exteriors 1, then holes 0 (`mask_for_polygons`). */
  drawArea(mask: Raster, geom: AreaGeom): void {
    const canvas = this.toCanvas(geom, true, mask.height, mask.width);
    if (!canvas) return;
    const round = (s: ClippedSegment): IntSegment => [
      roundHalfEven(s.a[0]),
      roundHalfEven(s.a[1]),
      roundHalfEven(s.b[0]),
      roundHalfEven(s.b[1]),
    ];
    fillPolySegments(mask, canvas.filter((s) => !s.isHole).map(round), 1);
    const holes = canvas.filter((s) => s.isHole);
    if (holes.length > 0) fillPolySegments(mask, holes.map(round), 0);
  }

  /** Draws one record's clipped line (`mask_for_lines`: int32 truncation, polylines of thickness 2). */
  drawLine(mask: Raster, geom: readonly ClippedSegment[]): void {
    const canvas = this.toCanvas(geom, false, mask.height, mask.width);
    if (!canvas) return;
    polylines(
      mask,
      canvas.map((s) => [
        [Math.trunc(s.a[0]), Math.trunc(s.a[1])],
        [Math.trunc(s.b[0]), Math.trunc(s.b[1])],
      ]),
      false,
      1,
      2,
    );
  }
}

export { createRaster, type Raster };
