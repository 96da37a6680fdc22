// Traffic in the synthetic town: vehicles follow lanes and lane connectors with the Intelligent Driver Model
// (IDM: car following, free-road acceleration, comfortable braking), slow for curves, take turns at
// intersections by reserving a conflict-free connector (as at an all-way yield), and stop for pedestrians on
// zebra crossings; pedestrians walk the sidewalks, stand about and cross the roads; cars stand parked in the
// car parks; the ego vehicle follows a planned route (straight on, left and right turns) under the same rules.
// A fixed time step and a fixed update order make the run a pure function of the seed.

import type { Rng } from '../../src/util/index.ts';
import type { Vec3 } from '../nuscenes/types.ts';
import { AGENT_CLASSES, type AgentKind, drawAgentLook } from './classes.ts';
import type { Lane, SyntheticNetwork, Turn } from './network.ts';
import type { Path } from './path.ts';

/** The ego car: a Renault Zoe as in nuScenes (SAD's ego box is 4.084 × 1.85 m). */
export const EGO_LENGTH_M = 4.084;
export const EGO_WIDTH_M = 1.85;
export const EGO_WHEELBASE_M = 2.588;
/** Distance from the rear axle (the ego frame's origin) to the middle of the body. */
export const EGO_REAR_AXLE_TO_CENTRE_M = 1.4;

export interface AgentTrack {
  id: number;
  kind: AgentKind;
  category: string;
  wlh: Vec3;
  colorRgb: [number, number, number];
  /** Recorded steps [firstStep, lastStep]; a static agent stores a single pose. */
  firstStep: number;
  lastStep: number;
  isStatic: boolean;
  x: Float64Array;
  y: Float64Array;
  yaw: Float64Array;
  speed: Float64Array;
}

/** The ego's rear-axle pose and motion at every recorded step. */
export interface EgoTrack {
  x: Float64Array;
  y: Float64Array;
  yaw: Float64Array;
  speed: Float64Array;
  accel: Float64Array;
  /** Curvature of the path at the rear axle (1/m, + = left). */
  curvature: Float64Array;
}

export interface SimulationResult {
  dtS: number;
  /** Time of recorded step 0, in seconds relative to the scene's first keyframe. */
  startS: number;
  stepCount: number;
  agents: AgentTrack[];
  ego: EgoTrack;
  /** Turns the ego's route takes at successive intersections. */
  egoTurns: Turn[];
}

export interface SimulationOptions {
  network: SyntheticNetwork;
  rng: Rng;
  /** Used to alternate the ego's first turn between scenes. */
  sceneIndex: number;
  /** From the first to the last keyframe (s). */
  durationS: number;
  /** Recorded before the first and after the last keyframe (s); CAN messages need some. */
  marginS?: number;
  dtS?: number;
  warmupS?: number;
}

/** A pose of an agent's box: centre on the ground plane plus yaw, and its speed. */
export interface AgentPose {
  x: number;
  y: number;
  yaw: number;
  speed: number;
}

function lerpAngle(a: number, b: number, t: number): number {
  let d = b - a;
  while (d > Math.PI) d -= 2 * Math.PI;
  while (d < -Math.PI) d += 2 * Math.PI;
  return a + d * t;
}

/** An agent's pose at time t (s, relative to the first keyframe), or undefined when it does not exist then. */
export function agentPoseAt(sim: SimulationResult, track: AgentTrack, t: number): AgentPose | undefined {
  const f = (t - sim.startS) / sim.dtS;
  if (track.isStatic) {
    if (f < track.firstStep - 1e-9 || f > track.lastStep + 1e-9) return undefined;
    return { x: track.x[0], y: track.y[0], yaw: track.yaw[0], speed: 0 };
  }
  if (f < track.firstStep - 1e-9 || f > track.lastStep + 1e-9) return undefined;
  const local = Math.min(Math.max(f - track.firstStep, 0), track.lastStep - track.firstStep);
  const i = Math.min(Math.floor(local), track.lastStep - track.firstStep - 1);
  if (i < 0) return { x: track.x[0], y: track.y[0], yaw: track.yaw[0], speed: track.speed[0] };
  const u = local - i;
  return {
    x: track.x[i] + (track.x[i + 1] - track.x[i]) * u,
    y: track.y[i] + (track.y[i + 1] - track.y[i]) * u,
    yaw: lerpAngle(track.yaw[i], track.yaw[i + 1], u),
    speed: track.speed[i] + (track.speed[i + 1] - track.speed[i]) * u,
  };
}

/** The ego's rear-axle state at time t (linear between steps, clamped to the recording). */
export function egoStateAt(
  sim: SimulationResult,
  t: number,
): { x: number; y: number; yaw: number; speed: number; accel: number; curvature: number } {
  const f = Math.min(Math.max((t - sim.startS) / sim.dtS, 0), sim.stepCount - 1);
  const i = Math.min(Math.floor(f), sim.stepCount - 2);
  const u = f - i;
  const e = sim.ego;
  const mix = (arr: Float64Array) => arr[i] + (arr[i + 1] - arr[i]) * u;
  return {
    x: mix(e.x),
    y: mix(e.y),
    yaw: lerpAngle(e.yaw[i], e.yaw[i + 1], u),
    speed: mix(e.speed),
    accel: mix(e.accel),
    curvature: u < 0.5 ? e.curvature[i] : e.curvature[i + 1],
  };
}

// ---------------------------------------------------------------------------------------------------------
// Simulation internals

interface Link {
  path: Path;
  lengthM: number;
  /** Lane id, or −1 for a connector. */
  lane: number;
  /** Connector id, or −1 for a lane. */
  connector: number;
}

interface Vehicle {
  agent: number;
  isEgo: boolean;
  kind: AgentKind;
  link: number;
  s: number;
  v: number;
  a: number;
  lengthM: number;
  centreOffsetM: number;
  desiredSpeed: number;
  maxAccel: number;
  comfortDecel: number;
  headwayS: number;
  /** On a lane: the chosen connector's link id (−1 at a dead end). */
  nextLink: number;
  committed: boolean;
  alive: boolean;
  route: number[] | null;
  routeIndex: number;
  /** Speed cap from curves ahead, refreshed every few steps (−1: not yet computed). */
  speedCap: number;
  /** Step at which it started waiting for its connector (−1: not waiting). */
  requestStep: number;
  /** Creation order (ties between requests of the same step). */
  order: number;
}

interface Pedestrian {
  agent: number;
  link: number;
  u: number;
  dir: 1 | -1;
  speed: number;
  lateral: number;
  state: 'walk' | 'stand' | 'wait';
  timer: number;
  heading: number;
  nextLink: number;
}

interface Recorder {
  kind: AgentKind;
  wlh: Vec3;
  colorRgb: [number, number, number];
  firstStep: number;
  lastStep: number;
  isStatic: boolean;
  x: number[];
  y: number[];
  yaw: number[];
  speed: number[];
}

const IDM_MIN_GAP_M = 2;
const GREEN_S = 11;
const ALL_RED_S = 2;
const MIN_GREEN_S = 4;
const LATERAL_ACCEL_LIMIT = 2.0;
const LOOKAHEAD_M = 80;

export function simulateScene(options: SimulationOptions): SimulationResult {
  const { network, rng } = options;
  const dt = options.dtS ?? 0.05;
  const margin = options.marginS ?? 0.6;
  const warmup = options.warmupS ?? 6;
  const rngSpawn = rng.fork('spawn');
  const rngChoice = rng.fork('choice');
  const rngPed = rng.fork('pedestrians');
  const rngLook = rng.fork('look');
  const respawnQueue: number[] = [];

  const laneCount = network.lanes.length;
  const links: Link[] = [
    ...network.lanes.map((lane) => ({
      path: lane.path,
      lengthM: lane.path.lengthM,
      lane: lane.id,
      connector: -1,
    })),
    ...network.connectors.map((c) => ({ path: c.path, lengthM: c.path.lengthM, lane: -1, connector: c.id })),
  ];
  const connectorLink = (c: number) => laneCount + c;
  const occupants = new Int32Array(network.connectors.length);
  const crossingPeds = new Int32Array(network.crossings.length);
  const connectorsByCrossing: number[][] = network.crossings.map(() => []);
  for (const c of network.connectors) {
    connectorsByCrossing[c.crossings[0]].push(c.id);
    if (c.crossings[1] !== c.crossings[0]) connectorsByCrossing[c.crossings[1]].push(c.id);
  }
  const incomingLanesByCrossing: number[][] = network.crossings.map(() => []);
  const crossingIndex = new Map(network.crossings.map((c) => [`${c.intersection}/${c.arm}`, c.id]));
  for (const lane of network.lanes) {
    if (lane.toIntersection !== null) {
      incomingLanesByCrossing[crossingIndex.get(`${lane.toIntersection}/${lane.toArm}`)!].push(lane.id);
    }
  }

  const stepCount = Math.ceil((options.durationS + 2 * margin) / dt) + 1;
  const startS = -margin;
  const totalSteps = Math.round(warmup / dt) + stepCount;
  const recordOffset = totalSteps - stepCount;

  const recorders: Recorder[] = [];
  const newAgent = (kind: AgentKind, isStatic = false): number => {
    const look = drawAgentLook(kind, rngLook);
    recorders.push({
      kind,
      wlh: look.wlh,
      colorRgb: look.colorRgb,
      firstStep: -1,
      lastStep: -1,
      isStatic,
      x: [],
      y: [],
      yaw: [],
      speed: [],
    });
    return recorders.length - 1;
  };

  // ---- The ego's route: a chain of lanes and connectors long enough for the whole recording.
  const ego = planEgoRoute(network, rngChoice, options.sceneIndex, links, connectorLink);
  const egoDesired = rngChoice.uniform(8.5, 11);

  // ---- Vehicles along every lane, at random gaps; a scene-wide density varies the traffic.
  const density = rngSpawn.uniform(0.7, 1.3);
  const vehicles: Vehicle[] = [];
  let vehicleOrder = 0;
  const candidates: Vehicle[] = [];
  const waitingConnectors: number[] = [];
  const requestedCrossings = new Int32Array(network.crossings.length).fill(-1);
  let currentStep = 0;
  const conflictSets = network.connectorConflicts.map((list) => new Set(list));
  // Traffic lights: north–south green, all red, east–west green, all red; random offsets. A light shortens
  // its green (after a minimum) to serve the ego, like a bus-priority detector, so ego scenes keep moving.
  const signals = network.intersections.map(() => ({
    phase: rngSpawn.int(0, 4),
    timer: rngSpawn.uniform(0, GREEN_S),
  }));
  const greenFor = (intersection: number, arm: number): boolean => {
    const phase = signals[intersection].phase;
    return (phase === 0 && arm % 2 === 1) || (phase === 2 && arm % 2 === 0);
  };
  const pickKind = (): AgentKind => {
    const r = rngSpawn.next();
    if (r < 0.68) return 'car';
    if (r < 0.8) return 'truck';
    if (r < 0.86) return 'bus';
    if (r < 0.93) return 'motorcycle';
    return 'bicycle';
  };
  const makeVehicle = (kind: AgentKind, link: number, s: number, speedFactor: number): Vehicle => {
    const spec = AGENT_CLASSES[kind];
    const agent = newAgent(kind);
    const vehicle: Vehicle = {
      agent,
      isEgo: false,
      kind,
      link,
      s,
      v: 0,
      a: 0,
      lengthM: recorders[agent].wlh[1],
      centreOffsetM: 0,
      desiredSpeed: rngSpawn.uniform(spec.speed[0], spec.speed[1]),
      maxAccel: spec.maxAccel,
      comfortDecel: spec.comfortDecel,
      headwayS: spec.headwayS,
      nextLink: -1,
      committed: false,
      alive: true,
      route: null,
      routeIndex: 0,
      speedCap: -1,
      requestStep: -1,
      order: vehicleOrder++,
    };
    vehicle.v = vehicle.desiredSpeed * speedFactor;
    chooseNext(vehicle);
    return vehicle;
  };
  const chooseNext = (vehicle: Vehicle) => {
    vehicle.committed = false;
    if (vehicle.route) {
      vehicle.nextLink = vehicle.route[vehicle.routeIndex + 1] ?? -1;
      return;
    }
    const lane = links[vehicle.link].lane;
    if (lane < 0) {
      vehicle.nextLink = -1;
      return;
    }
    const options = network.connectorsFromLane[lane];
    if (options.length === 0) {
      vehicle.nextLink = -1;
      return;
    }
    const weights = options.map((c) => (network.connectors[c].turn === 'straight' ? 2 : 1));
    vehicle.nextLink = connectorLink(options[weightedPick(rngChoice, weights)]);
  };
  for (const lane of network.lanes) {
    let s = rngSpawn.uniform(2, 25);
    while (s < lane.path.lengthM - 3) {
      const kind = pickKind();
      const vehicle = makeVehicle(kind, lane.id, s, rngSpawn.uniform(0.5, 0.9));
      vehicles.push(vehicle);
      s += vehicle.lengthM + rngSpawn.uniform(25, 70) / density;
    }
  }

  // ---- Parked cars in the car parks near the route; pedestrians on the sidewalks near the route.
  const routePoints = ego.routePolyline;
  const nearRoute = (x: number, y: number, radius: number) => {
    const r2 = radius * radius;
    for (const [px, py] of routePoints) if ((px - x) ** 2 + (py - y) ** 2 <= r2) return true;
    return false;
  };
  const parkedPoses: Array<{ agent: number; x: number; y: number; yaw: number }> = [];
  for (const carpark of network.carparks) {
    for (const slot of carpark.slots) {
      if (!nearRoute(slot.x, slot.y, 160) || !rngSpawn.chance(0.65)) continue;
      const agent = newAgent('parked', true);
      const yaw = slot.heading + (rngSpawn.chance(0.5) ? Math.PI : 0) + rngSpawn.uniform(-0.05, 0.05);
      parkedPoses.push({ agent, x: slot.x, y: slot.y, yaw });
    }
  }

  const pedestrians: Pedestrian[] = [];
  const pedDensity = rngPed.uniform(0.6, 1.5);
  const graph = network.pedGraph;
  for (const link of graph.links) {
    if (link.crossing >= 0) continue;
    const mid = link.path.poseAt(link.path.lengthM / 2);
    if (!nearRoute(mid.x, mid.y, 130)) continue;
    const expected = (link.path.lengthM / 28) * pedDensity;
    const count = Math.floor(expected + rngPed.next());
    for (let k = 0; k < count; k++) {
      const agent = newAgent('pedestrian');
      const standing = rngPed.chance(0.2);
      pedestrians.push({
        agent,
        link: link.id,
        u: rngPed.uniform(0, link.path.lengthM),
        dir: rngPed.chance(0.5) ? 1 : -1,
        speed: rngPed.uniform(AGENT_CLASSES.pedestrian.speed[0], AGENT_CLASSES.pedestrian.speed[1]),
        lateral: rngPed.uniform(-0.9, 0.9),
        state: standing ? 'stand' : 'walk',
        timer: standing ? rngPed.uniform(2, 20) : 0,
        heading: 0,
        nextLink: -1,
      });
    }
  }
  // A tenth of the people are children (smaller boxes, same behaviour).
  for (const ped of pedestrians) {
    if (rngPed.chance(0.1)) {
      const rec = recorders[ped.agent];
      rec.wlh = [0.48, 0.5, 1.25].map(
        (v) => Math.round(v * rngPed.uniform(0.92, 1.08) * 1000) / 1000,
      ) as Vec3;
    }
  }

  // ---- Per-step bookkeeping.
  const onLink: number[][] = links.map(() => []);
  const used: number[] = [];
  const bySOrder = (a: number, b: number) => vehicles[a].s - vehicles[b].s || a - b;
  const rebuildLinks = () => {
    for (const link of used) onLink[link].length = 0;
    used.length = 0;
    for (let i = 0; i < vehicles.length; i++) {
      const v = vehicles[i];
      if (!v.alive) continue;
      const list = onLink[v.link];
      if (list.length === 0) used.push(v.link);
      list.push(i);
    }
    for (const link of used) if (onLink[link].length > 1) onLink[link].sort(bySOrder);
  };
  const rear = (v: Vehicle) => v.s + v.centreOffsetM - v.lengthM / 2;
  const front = (v: Vehicle) => v.s + v.centreOffsetM + v.lengthM / 2;

  /** Free space (m) at the start of a lane before its last vehicle's rear. */
  const laneEntrySpace = (lane: number) => {
    const list = onLink[lane];
    return list.length === 0 ? Number.POSITIVE_INFINITY : rear(vehicles[list[0]]);
  };
  /** 'go', or why not: 'wait' (a conflicting vehicle or a pedestrian is in the way), 'full' (no room after). */
  const commitCheck = (vehicle: Vehicle): 'go' | 'wait' | 'full' => {
    const c = links[vehicle.nextLink].connector;
    for (const other of network.connectorConflicts[c]) {
      if (occupants[other] === 0) continue;
      // Vehicles committed to the other connector but not yet on it block; those on it block until clear.
      const inside = onLink[connectorLink(other)];
      if (inside.length < occupants[other]) return 'wait';
      const clear = network.connectorClearM[other].get(c)!;
      for (const j of inside) if (rear(vehicles[j]) <= clear + 0.5) return 'wait';
    }
    const connector = network.connectors[c];
    if (crossingPeds[connector.crossings[0]] > 0 || crossingPeds[connector.crossings[1]] > 0) return 'wait';
    const needed = (occupants[c] + 1) * 9;
    return laneEntrySpace(connector.toLane) > needed ? 'go' : 'full';
  };

  /** Speed cap from curves ahead: v² ≤ v_curve² + 2·b·d. */
  const curveSpeedCap = (vehicle: Vehicle): number => {
    let cap = vehicle.desiredSpeed;
    let link = vehicle.link;
    let from = vehicle.s + vehicle.centreOffsetM;
    let travelled = 0;
    for (let hop = 0; hop < 3 && link >= 0 && travelled < 60; hop++) {
      const path = links[link].path;
      for (let i = path.segmentIndexAt(Math.max(0, from)); i < path.segments.length; i++) {
        const segment = path.segments[i];
        const segStart = path.segmentStartS(i);
        const distance = Math.max(0, segStart - from) + travelled;
        if (distance > 60) break;
        if (Math.abs(segment.curvature) > 1e-9) {
          const vCurve = Math.sqrt(LATERAL_ACCEL_LIMIT / Math.abs(segment.curvature));
          cap = Math.min(cap, Math.sqrt(vCurve * vCurve + 2 * 1.5 * distance));
        }
      }
      travelled += path.lengthM - from;
      from = 0;
      if (links[link].lane >= 0) {
        if (link !== vehicle.link) break;
        link = vehicle.nextLink;
      } else {
        link = network.connectors[links[link].connector].toLane;
      }
    }
    return cap;
  };

  /** Gap to the nearest thing ahead (vehicle or stop line) and its speed. */
  const leaderAhead = (index: number): { gap: number; speed: number } => {
    const vehicle = vehicles[index];
    const myFront = front(vehicle);
    let link = vehicle.link;
    let base = 0; // link coordinate offset relative to the vehicle's current link
    for (let hop = 0; hop < 3; hop++) {
      const list = onLink[link];
      for (const j of list) {
        if (j === index) continue;
        const other = vehicles[j];
        if (hop === 0 && (other.s < vehicle.s || (other.s === vehicle.s && j < index))) continue;
        const gap = base + rear(other) - myFront;
        return { gap, speed: other.v };
      }
      const length = links[link].lengthM;
      if (links[link].lane >= 0) {
        if (hop > 0) break;
        if (vehicle.nextLink < 0) break; // dead end: drive off the map
        if (!vehicle.committed) return { gap: base + length - 0.5 - myFront, speed: 0 };
        base += length;
        link = vehicle.nextLink;
      } else {
        base += length;
        link = network.connectors[links[link].connector].toLane;
      }
      if (base - myFront > LOOKAHEAD_M) break;
    }
    return { gap: Number.POSITIVE_INFINITY, speed: 0 };
  };

  const idm = (vehicle: Vehicle, gap: number, leaderSpeed: number, refreshCap: boolean): number => {
    if (refreshCap || vehicle.speedCap < 0) vehicle.speedCap = curveSpeedCap(vehicle);
    const v0 = Math.max(0.1, vehicle.speedCap);
    const free = 1 - (vehicle.v / v0) ** 4;
    if (!Number.isFinite(gap)) return vehicle.maxAccel * free;
    const dv = vehicle.v - leaderSpeed;
    const sStar =
      IDM_MIN_GAP_M +
      Math.max(
        0,
        vehicle.v * vehicle.headwayS +
          (vehicle.v * dv) / (2 * Math.sqrt(vehicle.maxAccel * vehicle.comfortDecel)),
      );
    const g = Math.max(gap, 0.05);
    return vehicle.maxAccel * (free - (sStar / g) ** 2);
  };

  // ---- Pedestrian helpers.
  const crossingOpen = (crossing: number): boolean => {
    if (requestedCrossings[crossing] === currentStep) return false;
    for (const c of connectorsByCrossing[crossing]) if (occupants[c] > 0) return false;
    for (const lane of incomingLanesByCrossing[crossing]) {
      for (const j of onLink[lane]) {
        const v = vehicles[j];
        const toEnd = links[lane].lengthM - front(v);
        if (toEnd < (v.v * v.v) / (2 * 2.0) + 3) return false;
      }
    }
    return true;
  };
  const pedPose = (ped: Pedestrian) => {
    const path = graph.links[ped.link].path;
    const p = path.poseAt(ped.u);
    return {
      x: p.x - ped.lateral * Math.sin(p.heading),
      y: p.y + ped.lateral * Math.cos(p.heading),
      heading: ped.dir === 1 ? p.heading : p.heading + Math.PI,
    };
  };
  const choosePedLink = (ped: Pedestrian, vertex: number): number => {
    const options = graph.linksAt[vertex].filter((l) => l !== ped.link);
    if (options.length === 0) return ped.link;
    const weights = options.map((l) => (graph.links[l].crossing >= 0 ? 0.8 : 1));
    return options[weightedPick(rngPed, weights)];
  };
  const enterPedLink = (ped: Pedestrian, link: number, vertex: number) => {
    const l = graph.links[link];
    ped.link = link;
    ped.dir = l.a === vertex ? 1 : -1;
    ped.u = ped.dir === 1 ? 0 : l.path.lengthM;
    if (l.crossing >= 0) crossingPeds[l.crossing]++;
  };

  // ---- The ego joins one second before recording starts (traffic has warmed up by then).
  const egoJoinStep = recordOffset - Math.round(1 / dt);
  let egoVehicle: Vehicle | null = null;
  const egoRecord = {
    x: new Float64Array(stepCount),
    y: new Float64Array(stepCount),
    yaw: new Float64Array(stepCount),
    speed: new Float64Array(stepCount),
    accel: new Float64Array(stepCount),
    curvature: new Float64Array(stepCount),
  };

  for (let step = 0; step < totalSteps; step++) {
    currentStep = step;
    if (step === egoJoinStep) {
      egoVehicle = {
        agent: -1,
        isEgo: true,
        kind: 'car',
        link: ego.route[0],
        s: ego.startS,
        v: Math.min(egoDesired, 7),
        a: 0,
        lengthM: EGO_LENGTH_M,
        centreOffsetM: EGO_REAR_AXLE_TO_CENTRE_M,
        desiredSpeed: egoDesired,
        maxAccel: 1.5,
        comfortDecel: 2.0,
        headwayS: 1.5,
        nextLink: ego.route[1],
        committed: false,
        alive: true,
        route: ego.route,
        routeIndex: 0,
        speedCap: -1,
        requestStep: -1,
        order: vehicleOrder++,
      };
      // Clear room around the ego on its lane; vehicles removed here simply never existed for the recording.
      for (const v of vehicles) {
        if (!v.alive || v.link !== egoVehicle.link) continue;
        if (v.s > ego.startS - 18 && v.s < ego.startS + 30) {
          v.alive = false;
          if (v.committed && links[v.nextLink].connector >= 0) occupants[links[v.nextLink].connector]--;
          recorders[v.agent].firstStep = -2; // never recorded
        }
      }
      vehicles.push(egoVehicle);
    }
    rebuildLinks();

    // Commitments at intersections, first come first served: a vehicle near its stop line asks for its
    // connector; requests are granted in arrival order, and a later request may go ahead only if it conflicts
    // with no earlier one still waiting (so nobody starves). The ego asks from further away (45 m).
    for (const signal of signals) {
      signal.timer += dt;
      const duration = signal.phase % 2 === 0 ? GREEN_S : ALL_RED_S;
      if (signal.timer >= duration) {
        signal.phase = (signal.phase + 1) % 4;
        signal.timer = 0;
      }
    }
    if (egoVehicle && links[egoVehicle.link].lane >= 0) {
      const lane = network.lanes[links[egoVehicle.link].lane];
      const toEnd = links[egoVehicle.link].lengthM - front(egoVehicle);
      if (lane.toIntersection !== null && toEnd < 45 && !greenFor(lane.toIntersection, lane.toArm!)) {
        const signal = signals[lane.toIntersection];
        if (signal.phase % 2 === 0 && signal.timer >= MIN_GREEN_S) signal.timer = GREEN_S;
      }
    }
    candidates.length = 0;
    for (const link of used) {
      if (links[link].lane < 0) continue;
      const lane = network.lanes[links[link].lane];
      if (lane.toIntersection === null || !greenFor(lane.toIntersection, lane.toArm!)) continue;
      // Only the front-most vehicle of a lane that has not committed yet may ask (a queue does not hold
      // reservations while it waits behind its own leader).
      const list = onLink[link];
      for (let n = list.length - 1; n >= 0; n--) {
        const vehicle = vehicles[list[n]];
        if (vehicle.committed) continue;
        if (vehicle.nextLink < 0) break;
        const toEnd = links[vehicle.link].lengthM - front(vehicle);
        const commitDistance = vehicle.isEgo ? 45 : Math.max(10, (vehicle.v * vehicle.v) / (2 * 2.0) + 8);
        if (toEnd <= commitDistance) {
          if (vehicle.requestStep < 0) vehicle.requestStep = step;
          candidates.push(vehicle);
        }
        break;
      }
    }
    // The ego goes first and never waits for earlier requests, only for vehicles physically in its way.
    candidates.sort(
      (a, b) => Number(b.isEgo) - Number(a.isEgo) || a.requestStep - b.requestStep || a.order - b.order,
    );
    waitingConnectors.length = 0;
    for (const vehicle of candidates) {
      const c = links[vehicle.nextLink].connector;
      let blockedByEarlier = false;
      for (const w of waitingConnectors) {
        if (
          w !== c &&
          network.connectors[w].intersection === network.connectors[c].intersection &&
          conflictSets[c].has(w)
        ) {
          blockedByEarlier = true;
          break;
        }
      }
      const check = blockedByEarlier ? 'wait' : commitCheck(vehicle);
      // A vehicle waiting at a green light keeps new pedestrians off the crossings it will drive over.
      const connector = network.connectors[c];
      requestedCrossings[connector.crossings[0]] = step;
      requestedCrossings[connector.crossings[1]] = step;
      if (check === 'go') {
        vehicle.committed = true;
        vehicle.requestStep = -1;
        occupants[c]++;
      } else if (check === 'wait') {
        // Next in line: later requests that conflict must let it go first. A vehicle with no room after
        // the intersection ('full') does not hold others up.
        waitingConnectors.push(c);
      }
    }

    // Accelerations from the current state, then integrate.
    for (let i = 0; i < vehicles.length; i++) {
      const vehicle = vehicles[i];
      if (!vehicle.alive) continue;
      const { gap, speed } = leaderAhead(i);
      vehicle.a = Math.max(-8, Math.min(vehicle.maxAccel, idm(vehicle, gap, speed, (step + i) % 3 === 0)));
    }
    for (const vehicle of vehicles) {
      if (!vehicle.alive) continue;
      const vNew = Math.max(0, vehicle.v + vehicle.a * dt);
      vehicle.s += 0.5 * (vehicle.v + vNew) * dt;
      vehicle.a = (vNew - vehicle.v) / dt;
      vehicle.v = vNew;
      while (vehicle.alive && vehicle.s > links[vehicle.link].lengthM) {
        const overshoot = vehicle.s - links[vehicle.link].lengthM;
        const link = links[vehicle.link];
        if (link.lane >= 0) {
          if (vehicle.nextLink < 0) {
            vehicle.alive = false;
            respawnQueue.push(step + Math.round(rngSpawn.uniform(1, 5) / dt));
            break;
          }
          if (!vehicle.committed) {
            // Could not stop in time (should be rare): take the connector anyway.
            occupants[links[vehicle.nextLink].connector]++;
          }
          vehicle.link = vehicle.nextLink;
          vehicle.speedCap = -1;
          vehicle.committed = false;
          if (vehicle.route) vehicle.routeIndex++;
          vehicle.nextLink = -1;
        } else {
          occupants[link.connector]--;
          vehicle.link = network.connectors[link.connector].toLane;
          vehicle.speedCap = -1;
          if (vehicle.route) vehicle.routeIndex++;
          chooseNext(vehicle);
        }
        vehicle.s = overshoot;
      }
    }

    // Respawns at the stub entries (roads coming in from the map border).
    while (respawnQueue.length > 0 && respawnQueue[0] <= step) {
      respawnQueue.shift();
      const entries = network.lanes.filter((l: Lane) => l.fromIntersection === null);
      const lane = entries[rngSpawn.int(0, entries.length)];
      if (laneEntrySpace(lane.id) > 25) {
        const vehicle = makeVehicle(pickKind(), lane.id, 0, 0.7);
        vehicles.push(vehicle);
        onLink[lane.id].unshift(vehicles.length - 1);
      }
    }

    // Pedestrians.
    for (const ped of pedestrians) {
      const link = graph.links[ped.link];
      if (ped.state === 'stand') {
        ped.timer -= dt;
        if (ped.timer <= 0) ped.state = 'walk';
        continue;
      }
      if (ped.state === 'wait') {
        ped.timer += dt;
        if (crossingOpen(graph.links[ped.nextLink].crossing)) {
          const vertex = ped.dir === 1 ? link.b : link.a;
          enterPedLink(ped, ped.nextLink, vertex);
          ped.state = 'walk';
        } else if (ped.timer > 25) {
          const vertex = ped.dir === 1 ? link.b : link.a;
          const options = graph.linksAt[vertex].filter((l) => graph.links[l].crossing < 0);
          ped.nextLink = -1;
          ped.state = 'walk';
          if (options.length > 0) enterPedLink(ped, options[rngPed.int(0, options.length)], vertex);
        }
        continue;
      }
      if (link.crossing < 0 && rngPed.chance(0.002)) {
        ped.state = 'stand';
        ped.timer = rngPed.uniform(2, 9);
        continue;
      }
      ped.u += ped.dir * ped.speed * dt;
      if (ped.u < 0 || ped.u > link.path.lengthM) {
        const vertex = ped.u > link.path.lengthM ? link.b : link.a;
        ped.u = Math.min(Math.max(ped.u, 0), link.path.lengthM);
        if (link.crossing >= 0) crossingPeds[link.crossing]--;
        const next = choosePedLink(ped, vertex);
        const nextCrossing = graph.links[next].crossing;
        if (next === ped.link) {
          ped.dir = ped.dir === 1 ? -1 : 1;
          if (link.crossing >= 0) crossingPeds[link.crossing]++;
        } else if (nextCrossing >= 0 && !crossingOpen(nextCrossing)) {
          ped.state = 'wait';
          ped.timer = 0;
          ped.nextLink = next;
        } else {
          enterPedLink(ped, next, vertex);
        }
      }
    }

    // Record.
    const k = step - recordOffset;
    if (k >= 0) {
      for (const vehicle of vehicles) {
        if (!vehicle.alive) continue;
        const pose = links[vehicle.link].path.poseAt(vehicle.s);
        if (vehicle.isEgo) {
          egoRecord.x[k] = pose.x;
          egoRecord.y[k] = pose.y;
          egoRecord.yaw[k] = pose.heading;
          egoRecord.speed[k] = vehicle.v;
          egoRecord.accel[k] = vehicle.a;
          egoRecord.curvature[k] = links[vehicle.link].path.curvatureAt(vehicle.s);
          continue;
        }
        record(recorders[vehicle.agent], k, pose.x, pose.y, pose.heading, vehicle.v);
      }
      for (const ped of pedestrians) {
        const p = pedPose(ped);
        if (ped.state === 'walk') ped.heading = p.heading;
        else if (k === 0) ped.heading = p.heading;
        record(recorders[ped.agent], k, p.x, p.y, ped.heading, ped.state === 'walk' ? ped.speed : 0);
      }
      if (k === 0) {
        for (const parked of parkedPoses)
          record(recorders[parked.agent], 0, parked.x, parked.y, parked.yaw, 0);
      }
    }
  }
  for (const parked of parkedPoses) recorders[parked.agent].lastStep = stepCount - 1;

  const agents: AgentTrack[] = [];
  recorders.forEach((rec, id) => {
    if (rec.firstStep < 0) return;
    agents.push({
      id,
      kind: rec.kind,
      category: AGENT_CLASSES[rec.kind].category,
      wlh: rec.wlh,
      colorRgb: rec.colorRgb,
      firstStep: rec.firstStep,
      lastStep: rec.lastStep,
      isStatic: rec.isStatic,
      x: Float64Array.from(rec.x),
      y: Float64Array.from(rec.y),
      yaw: Float64Array.from(rec.yaw),
      speed: Float64Array.from(rec.speed),
    });
  });
  // Children are pedestrians with child-sized boxes.
  for (const agent of agents) {
    if (agent.kind === 'pedestrian' && agent.wlh[2] < 1.45) agent.category = 'human.pedestrian.child';
  }
  return { dtS: dt, startS, stepCount, agents, ego: egoRecord, egoTurns: ego.turns };
}

function record(rec: Recorder, k: number, x: number, y: number, yaw: number, speed: number): void {
  if (rec.firstStep === -2) return;
  if (rec.firstStep < 0) rec.firstStep = k;
  rec.lastStep = k;
  rec.x.push(x);
  rec.y.push(y);
  rec.yaw.push(yaw);
  rec.speed.push(speed);
}

function weightedPick(rng: Rng, weights: readonly number[]): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let r = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i];
    if (r < 0) return i;
  }
  return weights.length - 1;
}

/**
 * The ego's route: from a lane between two intersections, through intersections (never into a dead-end stub),
 * until it is long enough for the scene. The first turn alternates left/right between scenes so every small
 * world has both turn commands; later turns are random (straight 40 %, left 30 %, right 30 %).
 */
function planEgoRoute(
  network: SyntheticNetwork,
  rng: Rng,
  sceneIndex: number,
  links: Link[],
  connectorLink: (c: number) => number,
): { route: number[]; startS: number; turns: Turn[]; routePolyline: Array<[number, number]> } {
  const inner = network.lanes.filter((l) => l.fromIntersection !== null && l.toIntersection !== null);
  const start = inner[rng.int(0, inner.length)];
  const startS = Math.max(0, start.path.lengthM - rng.uniform(22, 60));
  const route = [start.id];
  const turns: Turn[] = [];
  let length = start.path.lengthM - startS;
  let lane = start.id;
  const firstTurn: Turn = sceneIndex % 2 === 0 ? 'left' : 'right';
  while (length < 520) {
    const options = network.connectorsFromLane[lane].filter(
      (c) => network.lanes[network.connectors[c].toLane].toIntersection !== null,
    );
    if (options.length === 0) break;
    const preferred = turns.length === 0 && rng.chance(0.85) ? firstTurn : null;
    const weights = options.map((c) => {
      const turn = network.connectors[c].turn;
      if (preferred) return turn === preferred ? 10 : 0.01;
      return turn === 'straight' ? 4 : 3;
    });
    const connector = network.connectors[options[weightedPick(rng, weights)]];
    turns.push(connector.turn);
    route.push(connectorLink(connector.id), connector.toLane);
    length += connector.path.lengthM + links[connector.toLane].lengthM;
    lane = connector.toLane;
  }
  const routePolyline: Array<[number, number]> = [];
  for (const link of route) routePolyline.push(...links[link].path.polyline(10));
  return { route, startS, turns, routePolyline };
}
