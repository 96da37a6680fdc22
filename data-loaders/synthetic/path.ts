// Planar paths made of straight segments and circular arcs: the shape of every road, lane, lane connector and
// sidewalk of the synthetic world. They map 1:1 onto the map expansion's `arcline_path_3` records and offset
// exactly (an arc offset sideways is still an arc), which keeps lanes, markings and polygons consistent.
// Hand-written because no npm package offers arc-line paths with exact offsets and arc-length queries.

/** A pose in the plane: position in metres, heading in radians (0 = east, counter-clockwise). */
export interface Pose2 {
  x: number;
  y: number;
  heading: number;
}

/** One primitive: a straight segment (curvature 0) or a circular arc (curvature = ±1/radius, + = left). */
export interface PathSegment {
  start: Pose2;
  /** 1/m, positive turns left (counter-clockwise). */
  curvature: number;
  lengthM: number;
}

const TWO_PI = 2 * Math.PI;

/** Angle wrapped to [−π, π), as the devkit's `principal_value`. */
export function principalAngle(angle: number): number {
  return ((((angle + Math.PI) % TWO_PI) + TWO_PI) % TWO_PI) - Math.PI;
}

/** Pose reached after `s` metres along one segment. */
export function segmentPoseAt(segment: PathSegment, s: number): Pose2 {
  const { x, y, heading } = segment.start;
  const k = segment.curvature;
  if (Math.abs(k) < 1e-12) {
    return { x: x + s * Math.cos(heading), y: y + s * Math.sin(heading), heading };
  }
  const h = heading + k * s;
  return {
    x: x + (Math.sin(h) - Math.sin(heading)) / k,
    y: y - (Math.cos(h) - Math.cos(heading)) / k,
    heading: h,
  };
}

/** A continuous chain of segments with arc-length queries. Immutable. */
export class Path {
  readonly segments: readonly PathSegment[];
  /** Cumulative length at the start of each segment, plus the total at the end. */
  private readonly cumulative: Float64Array;

  constructor(segments: readonly PathSegment[]) {
    const kept = segments.filter((segment) => segment.lengthM > 1e-9);
    if (kept.length === 0) throw new RangeError('a path needs at least one segment of positive length');
    this.segments = kept;
    this.cumulative = new Float64Array(kept.length + 1);
    for (let i = 0; i < kept.length; i++) this.cumulative[i + 1] = this.cumulative[i] + kept[i].lengthM;
  }

  /** Builds a path from a start pose and a list of [curvature, length] steps. */
  static fromSteps(start: Pose2, steps: ReadonlyArray<readonly [number, number]>): Path {
    const segments: PathSegment[] = [];
    let pose = start;
    for (const [curvature, lengthM] of steps) {
      if (lengthM <= 1e-9) continue;
      const segment = { start: pose, curvature, lengthM };
      segments.push(segment);
      pose = segmentPoseAt(segment, lengthM);
    }
    return new Path(segments);
  }

  /** A straight path from a to b. */
  static line(ax: number, ay: number, bx: number, by: number): Path {
    const lengthM = Math.hypot(bx - ax, by - ay);
    return new Path([
      { start: { x: ax, y: ay, heading: Math.atan2(by - ay, bx - ax) }, curvature: 0, lengthM },
    ]);
  }

  get lengthM(): number {
    return this.cumulative[this.segments.length];
  }

  get startPose(): Pose2 {
    return this.segments[0].start;
  }

  get endPose(): Pose2 {
    const last = this.segments[this.segments.length - 1];
    return segmentPoseAt(last, last.lengthM);
  }

  /** Index of the segment holding arc length s (clamped to the path). */
  segmentIndexAt(s: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.cumulative[mid] <= s) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Arc length at the start of segment i. */
  segmentStartS(i: number): number {
    return this.cumulative[i];
  }

  /** Pose at arc length s, clamped to [0, length]. */
  poseAt(s: number): Pose2 {
    const clamped = Math.min(Math.max(s, 0), this.lengthM);
    const i = this.segmentIndexAt(clamped);
    return segmentPoseAt(this.segments[i], clamped - this.cumulative[i]);
  }

  /** Signed curvature at arc length s. */
  curvatureAt(s: number): number {
    return this.segments[this.segmentIndexAt(Math.min(Math.max(s, 0), this.lengthM))].curvature;
  }

  /**
   * The path shifted sideways by `offsetM` (positive = left of travel). Arcs keep their centre: radius and
   * length scale by (1 − κ·d). Throws if an arc would collapse (|d| ≥ radius on its inner side).
   */
  offset(offsetM: number): Path {
    if (offsetM === 0) return this;
    return new Path(
      this.segments.map((segment) => {
        const { x, y, heading } = segment.start;
        const scale = 1 - segment.curvature * offsetM;
        if (scale <= 1e-6)
          throw new RangeError(`offset ${offsetM} m collapses an arc of radius ${1 / segment.curvature} m`);
        return {
          start: { x: x - offsetM * Math.sin(heading), y: y + offsetM * Math.cos(heading), heading },
          curvature: segment.curvature / scale,
          lengthM: segment.lengthM * scale,
        };
      }),
    );
  }

  /** The same curve travelled the other way. */
  reversed(): Path {
    const out: PathSegment[] = [];
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const segment = this.segments[i];
      const end = segmentPoseAt(segment, segment.lengthM);
      out.push({
        start: { x: end.x, y: end.y, heading: end.heading + Math.PI },
        curvature: -segment.curvature,
        lengthM: segment.lengthM,
      });
    }
    return new Path(out);
  }

  /** The part of the path between arc lengths s0 < s1. */
  slice(s0: number, s1: number): Path {
    const a = Math.max(0, s0);
    const b = Math.min(this.lengthM, s1);
    if (b - a <= 1e-9) throw new RangeError(`empty slice [${s0}, ${s1}] of a ${this.lengthM} m path`);
    const out: PathSegment[] = [];
    for (let i = 0; i < this.segments.length; i++) {
      const segStart = this.cumulative[i];
      const segEnd = this.cumulative[i + 1];
      const lo = Math.max(a, segStart);
      const hi = Math.min(b, segEnd);
      if (hi - lo <= 1e-9) continue;
      const segment = this.segments[i];
      out.push({
        start: segmentPoseAt(segment, lo - segStart),
        curvature: segment.curvature,
        lengthM: hi - lo,
      });
    }
    return new Path(out);
  }

  /** Appends another path (which should start where this one ends). */
  concat(other: Path): Path {
    return new Path([...this.segments, ...other.segments]);
  }

  /**
   * Arc lengths at which to sample the path as a polyline: both ends, every segment boundary and, inside arcs,
   * steps of at most `maxArcStepM`. Straight segments need only their ends.
   */
  stations(maxArcStepM = 2): number[] {
    const out: number[] = [0];
    for (let i = 0; i < this.segments.length; i++) {
      const segment = this.segments[i];
      const start = this.cumulative[i];
      if (Math.abs(segment.curvature) > 1e-12) {
        const steps = Math.max(1, Math.ceil(segment.lengthM / maxArcStepM));
        for (let k = 1; k < steps; k++) out.push(start + (segment.lengthM * k) / steps);
      }
      out.push(this.cumulative[i + 1]);
    }
    return out;
  }

  /** The path as a polyline of [x, y] points (see `stations`). */
  polyline(maxArcStepM = 2): Array<[number, number]> {
    return this.stations(maxArcStepM).map((s) => {
      const p = this.poseAt(s);
      return [p.x, p.y];
    });
  }
}

/** The point at lateral offset `d` (left positive) from a pose. */
export function offsetPoint(pose: Pose2, d: number): [number, number] {
  return [pose.x - d * Math.sin(pose.heading), pose.y + d * Math.cos(pose.heading)];
}
