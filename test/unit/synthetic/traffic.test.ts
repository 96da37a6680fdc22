// Traffic in the default world (seed 0, 10 scenes × 40 keyframes), simulated without rendering: the ego's
// planning commands as SAD derives them (all three occur), no vehicles driving through each other, plausible
// speeds per class, pedestrians only on sidewalks and crossings.
import polygonClipping from 'polygon-clipping';
import { beforeAll, describe, expect, it } from 'vitest';
import { multiplyMatrices, Quaternion, transformMatrix } from '../../../data-loaders/nuscenes/index.ts';
import { AGENT_CLASSES } from '../../../data-loaders/synthetic/classes.ts';
import { sceneLocation, simulateWorldScene, worldNetwork } from '../../../data-loaders/synthetic/generate.ts';
import { GroundClass, groundClassAt, paintGroundClasses } from '../../../data-loaders/synthetic/ground.ts';
import type { SyntheticNetwork } from '../../../data-loaders/synthetic/network.ts';
import { RIG_LIDAR } from '../../../data-loaders/synthetic/rig.ts';
import {
  agentPoseAt,
  EGO_LENGTH_M,
  EGO_REAR_AXLE_TO_CENTRE_M,
  EGO_WIDTH_M,
  egoStateAt,
  type SimulationResult,
} from '../../../data-loaders/synthetic/traffic.ts';

const SCENES = 10;
const SAMPLES = 40;

/** SAD's command for keyframe k: the ego 6 keyframes (3 s) ahead, in the LIDAR_TOP frame at k; x is right. */
function sadCommand(sim: SimulationResult, k: number): 'LEFT' | 'RIGHT' | 'FORWARD' {
  const lidarToEgo = transformMatrix(RIG_LIDAR.translation, Quaternion.fromArray(RIG_LIDAR.rotation));
  const lidarPose = (t: number) => {
    const e = egoStateAt(sim, t);
    return multiplyMatrices(transformMatrix([e.x, e.y, 0], Quaternion.fromYaw(e.yaw)), lidarToEgo);
  };
  const now = lidarPose(k * 0.5);
  const future = lidarPose((k + 6) * 0.5);
  // inv(now) · future, translation only: Rᵀ (t_future − t_now).
  const d = [0, 1, 2].map((i) => future[i][3] - now[i][3]);
  const x = now[0][0] * d[0] + now[1][0] * d[1] + now[2][0] * d[2];
  if (x >= 2) return 'RIGHT';
  if (x <= -2) return 'LEFT';
  return 'FORWARD';
}

function footprint(
  x: number,
  y: number,
  yaw: number,
  length: number,
  width: number,
): Array<[number, number]> {
  const c = Math.cos(yaw);
  const s = Math.sin(yaw);
  return [
    [length / 2, width / 2],
    [-length / 2, width / 2],
    [-length / 2, -width / 2],
    [length / 2, -width / 2],
    [length / 2, width / 2],
  ].map(([a, b]) => [x + a * c - b * s, y + a * s + b * c] as [number, number]);
}

function area(multi: Array<Array<Array<[number, number]>>>): number {
  let total = 0;
  for (const polygon of multi) {
    polygon.forEach((ring, i) => {
      let a = 0;
      for (let k = 0; k + 1 < ring.length; k++)
        a += ring[k][0] * ring[k + 1][1] - ring[k + 1][0] * ring[k][1];
      total += (i === 0 ? 1 : -1) * Math.abs(a / 2);
    });
  }
  return total;
}

describe('the default world (simulation only)', () => {
  const sims: SimulationResult[] = [];
  const networks = new Map<string, SyntheticNetwork>();
  beforeAll(() => {
    for (let i = 0; i < SCENES; i++) {
      const location = sceneLocation(i);
      if (!networks.has(location)) networks.set(location, worldNetwork(0, location));
      sims.push(simulateWorldScene(0, networks.get(location)!, i, SAMPLES));
    }
  });

  it('gives SAD all three planning commands, FORWARD most often', () => {
    const counts = { LEFT: 0, RIGHT: 0, FORWARD: 0 };
    for (const sim of sims) {
      // SAD's planning samples: 3 past/present keyframes and 6 future ones inside the scene.
      for (let k = 2; k + 6 < SAMPLES; k++) counts[sadCommand(sim, k)]++;
    }
    expect(counts.LEFT).toBeGreaterThan(0);
    expect(counts.RIGHT).toBeGreaterThan(0);
    expect(counts.FORWARD).toBeGreaterThan(counts.LEFT);
    expect(counts.FORWARD).toBeGreaterThan(counts.RIGHT);
  });

  it('moves the ego at town speeds and the ego turns in most scenes', () => {
    for (const sim of sims) {
      let maxSpeed = 0;
      let travelled = 0;
      for (let k = 1; k < SAMPLES; k++) {
        const a = egoStateAt(sim, (k - 1) * 0.5);
        const b = egoStateAt(sim, k * 0.5);
        travelled += Math.hypot(b.x - a.x, b.y - a.y);
        maxSpeed = Math.max(maxSpeed, b.speed);
      }
      expect(maxSpeed).toBeLessThan(13);
      expect(travelled).toBeGreaterThan(20);
    }
  });

  it('keeps vehicles (and the ego) from driving through each other', () => {
    let pairs = 0;
    for (const sim of sims) {
      for (let k = 0; k < SAMPLES; k += 2) {
        const t = k * 0.5;
        const ego = egoStateAt(sim, t);
        const boxes = [
          footprint(
            ego.x + EGO_REAR_AXLE_TO_CENTRE_M * Math.cos(ego.yaw),
            ego.y + EGO_REAR_AXLE_TO_CENTRE_M * Math.sin(ego.yaw),
            ego.yaw,
            EGO_LENGTH_M,
            EGO_WIDTH_M,
          ),
        ];
        for (const agent of sim.agents) {
          if (agent.kind === 'pedestrian') continue;
          const pose = agentPoseAt(sim, agent, t);
          if (!pose || Math.hypot(pose.x - ego.x, pose.y - ego.y) > 60) continue;
          boxes.push(footprint(pose.x, pose.y, pose.yaw, agent.wlh[1], agent.wlh[0]));
        }
        for (let i = 0; i < boxes.length; i++) {
          for (let j = i + 1; j < boxes.length; j++) {
            if (Math.hypot(boxes[i][0][0] - boxes[j][0][0], boxes[i][0][1] - boxes[j][0][1]) > 15) continue;
            pairs++;
            const overlap = area(polygonClipping.intersection([boxes[i]], [boxes[j]]) as never);
            expect(overlap, `scene ${sims.indexOf(sim)} t=${t}`).toBeLessThan(0.5);
          }
        }
      }
    }
    expect(pairs).toBeGreaterThan(50);
  });

  it('never drives through a pedestrian and brakes within what a car can do', () => {
    let near = 0;
    for (const sim of sims) {
      const people = sim.agents.filter((a) => a.kind === 'pedestrian');
      const vehicles = sim.agents.filter((a) => a.kind !== 'pedestrian' && a.kind !== 'parked');
      for (const v of vehicles) {
        for (let k = 1; k < v.speed.length; k++) {
          const a = (v.speed[k] - v.speed[k - 1]) / sim.dtS;
          if (a < -8.001 || a > 2.3) expect.fail(`${v.kind} ${v.id} accelerates at ${a} m/s²`);
        }
      }
      for (let k = 0; k < SAMPLES; k += 2) {
        const t = k * 0.5;
        const poses = people.map((p) => agentPoseAt(sim, p, t)).filter((p) => p !== undefined);
        for (const v of vehicles) {
          const q = agentPoseAt(sim, v, t);
          if (!q) continue;
          for (const p of poses) {
            const dx = p.x - q.x;
            const dy = p.y - q.y;
            if (Math.abs(dx) > 8 || Math.abs(dy) > 8) continue;
            near++;
            const along = dx * Math.cos(q.yaw) + dy * Math.sin(q.yaw);
            const across = -dx * Math.sin(q.yaw) + dy * Math.cos(q.yaw);
            if (Math.abs(along) < v.wlh[1] / 2 + 0.2 && Math.abs(across) < v.wlh[0] / 2 + 0.2) {
              expect.fail(`${v.kind} ${v.id} drives through a pedestrian at t=${t}`);
            }
          }
        }
      }
    }
    expect(near).toBeGreaterThan(100);
  });

  it('drives each class within its speed range and walks people on sidewalks and crossings only', () => {
    const grounds = new Map([...networks.entries()].map(([k, n]) => [k, paintGroundClasses(n, 0.25)]));
    let people = 0;
    for (const [i, sim] of sims.entries()) {
      const ground = grounds.get(sceneLocation(i))!;
      for (const agent of sim.agents) {
        const limit = AGENT_CLASSES[agent.kind].speed[1];
        let fastest = 0;
        for (const v of agent.speed) fastest = Math.max(fastest, v);
        if (fastest > limit + 1e-9)
          expect.fail(`${agent.kind} ${agent.id} drove ${fastest} m/s (limit ${limit})`);
        if (agent.kind !== 'pedestrian') continue;
        for (let k = 0; k < SAMPLES; k += 4) {
          const pose = agentPoseAt(sim, agent, k * 0.5);
          if (!pose) continue;
          people++;
          // On a sidewalk, or on the road only where a zebra crossing is (white paint or asphalt between bars).
          const cls = groundClassAt(ground, pose.x, pose.y);
          const onWalk = cls === GroundClass.sidewalk || cls === GroundClass.curb;
          const onCrossing = networks
            .get(sceneLocation(i))!
            .crossings.some((c) => pointInPolygon(pose.x, pose.y, c.polygon, 1.2));
          if (!onWalk && !onCrossing)
            expect.fail(`pedestrian ${agent.id} at (${pose.x}, ${pose.y}) on class ${cls}`);
        }
      }
    }
    expect(people).toBeGreaterThan(100);
  });
});

/** Point in a convex quad, grown by `margin` metres (pedestrians walk slightly off the painted strip). */
function pointInPolygon(x: number, y: number, polygon: Array<[number, number]>, margin: number): boolean {
  const cx = polygon.reduce((s, p) => s + p[0], 0) / polygon.length;
  const cy = polygon.reduce((s, p) => s + p[1], 0) / polygon.length;
  for (let i = 0; i < polygon.length; i++) {
    const [ax, ay] = polygon[i];
    const [bx, by] = polygon[(i + 1) % polygon.length];
    const nx = by - ay;
    const ny = -(bx - ax);
    const len = Math.hypot(nx, ny);
    const side = ((x - ax) * nx + (y - ay) * ny) / len;
    const centre = ((cx - ax) * nx + (cy - ay) * ny) / len;
    if (Math.sign(side) !== Math.sign(centre) && Math.abs(side) > margin) return false;
  }
  return true;
}
