// What lives in the synthetic world, in nuScenes' words: the 23 categories, 8 attributes and 4 visibility
// levels of the real release, and the agent classes we simulate (sizes, speeds, colours per class).

import type { Rng } from '../../src/util/index.ts';
import type { Vec3 } from '../nuscenes/types.ts';

/** The 23 nuScenes categories with their release descriptions (the table is written in full). */
export const NUSCENES_CATEGORIES: ReadonlyArray<{ name: string; description: string }> = [
  { name: 'animal', description: 'All animals, e.g. cats, rats, dogs, deer, birds.' },
  { name: 'human.pedestrian.adult', description: 'Adult subcategory.' },
  { name: 'human.pedestrian.child', description: 'Child subcategory.' },
  { name: 'human.pedestrian.construction_worker', description: 'Construction worker' },
  { name: 'human.pedestrian.personal_mobility', description: 'A small electric or self-propelled vehicle.' },
  { name: 'human.pedestrian.police_officer', description: 'Police officer.' },
  {
    name: 'human.pedestrian.stroller',
    description: 'Strollers. If a person is in the stroller, include in the annotation.',
  },
  {
    name: 'human.pedestrian.wheelchair',
    description: 'Wheelchairs. If a person is in the wheelchair, include in the annotation.',
  },
  {
    name: 'movable_object.barrier',
    description: 'Temporary road barrier placed in the scene in order to redirect traffic.',
  },
  { name: 'movable_object.debris', description: 'Movable object that is left on the driveable surface.' },
  { name: 'movable_object.pushable_pullable', description: 'Objects that a pedestrian may push or pull.' },
  { name: 'movable_object.trafficcone', description: 'All types of traffic cone.' },
  {
    name: 'static_object.bicycle_rack',
    description: 'Area or device intended to park or secure the bicycles in a row.',
  },
  {
    name: 'vehicle.bicycle',
    description: 'Human or electric powered 2-wheeled vehicle designed to travel at lower speeds.',
  },
  {
    name: 'vehicle.bus.bendy',
    description: 'Bendy bus subcategory. Annotate each section of the bendy bus individually.',
  },
  { name: 'vehicle.bus.rigid', description: 'Rigid bus subcategory.' },
  {
    name: 'vehicle.car',
    description: 'Vehicle designed primarily for personal use, e.g. sedans, hatch-backs, wagons, vans.',
  },
  {
    name: 'vehicle.construction',
    description: 'Vehicles primarily designed for construction. Typically very slow moving or stationary.',
  },
  { name: 'vehicle.emergency.ambulance', description: 'All types of ambulances.' },
  {
    name: 'vehicle.emergency.police',
    description: 'All types of police vehicles including police bicycles and motorcycles.',
  },
  {
    name: 'vehicle.motorcycle',
    description: 'Gasoline or electric powered 2-wheeled vehicle designed to move rapidly.',
  },
  { name: 'vehicle.trailer', description: 'Any vehicle trailer, both for trucks, cars and bikes.' },
  {
    name: 'vehicle.truck',
    description:
      'Vehicles primarily designed to haul cargo including pick-ups, lorrys, trucks and semi-tractors.',
  },
];

export const NUSCENES_ATTRIBUTES: ReadonlyArray<{ name: string; description: string }> = [
  { name: 'vehicle.moving', description: 'Vehicle is moving.' },
  {
    name: 'vehicle.stopped',
    description: 'Vehicle, with a driver/rider in/on it, is currently stationary but has an intent to move.',
  },
  {
    name: 'vehicle.parked',
    description: 'Vehicle is stationary (usually for longer duration) with no immediate intent to move.',
  },
  { name: 'cycle.with_rider', description: 'There is a rider on the bicycle or motorcycle.' },
  { name: 'cycle.without_rider', description: 'There is NO rider on the bicycle or motorcycle.' },
  { name: 'pedestrian.sitting_lying_down', description: 'The human is sitting or lying down.' },
  { name: 'pedestrian.standing', description: 'The human is standing.' },
  { name: 'pedestrian.moving', description: 'The human is moving.' },
];

export const NUSCENES_VISIBILITIES = [
  { token: '1', level: 'v0-40', description: 'visibility of whole object is between 0 and 40%' },
  { token: '2', level: 'v40-60', description: 'visibility of whole object is between 40 and 60%' },
  { token: '3', level: 'v60-80', description: 'visibility of whole object is between 60 and 80%' },
  { token: '4', level: 'v80-100', description: 'visibility of whole object is between 80 and 100%' },
] as const;

/** The visibility token of a visible share in [0, 1] (objects no camera sees get '1'). */
export function visibilityToken(visibleShare: number): '1' | '2' | '3' | '4' {
  if (!(visibleShare >= 0.4)) return '1';
  if (visibleShare < 0.6) return '2';
  if (visibleShare < 0.8) return '3';
  return '4';
}

export type AgentKind = 'car' | 'truck' | 'bus' | 'motorcycle' | 'bicycle' | 'pedestrian' | 'parked';

interface AgentClassSpec {
  category: string;
  /** [min, max] of width, length, height (m). */
  wlh: [[number, number], [number, number], [number, number]];
  /** Desired speed range (m/s). */
  speed: [number, number];
  maxAccel: number;
  comfortDecel: number;
  headwayS: number;
  colorRgb: [number, number, number];
}

/** Per-class sizes (typical nuScenes boxes), speeds in town and colours, so classes are told apart by look. */
export const AGENT_CLASSES: Record<AgentKind, AgentClassSpec> = {
  car: {
    category: 'vehicle.car',
    wlh: [
      [1.75, 2.0],
      [4.2, 4.9],
      [1.45, 1.8],
    ],
    speed: [8, 12.5],
    maxAccel: 1.6,
    comfortDecel: 2.2,
    headwayS: 1.4,
    colorRgb: [52, 92, 178],
  },
  truck: {
    category: 'vehicle.truck',
    wlh: [
      [2.3, 2.6],
      [6.2, 9.0],
      [2.8, 3.4],
    ],
    speed: [7, 10],
    maxAccel: 1.0,
    comfortDecel: 1.8,
    headwayS: 1.8,
    colorRgb: [226, 140, 40],
  },
  bus: {
    category: 'vehicle.bus.rigid',
    wlh: [
      [2.8, 2.95],
      [10.5, 12.0],
      [3.2, 3.6],
    ],
    speed: [6.5, 9],
    maxAccel: 0.9,
    comfortDecel: 1.6,
    headwayS: 1.8,
    colorRgb: [196, 52, 44],
  },
  motorcycle: {
    category: 'vehicle.motorcycle',
    wlh: [
      [0.75, 0.95],
      [2.0, 2.3],
      [1.4, 1.6],
    ],
    speed: [9, 13],
    maxAccel: 2.2,
    comfortDecel: 2.6,
    headwayS: 1.2,
    colorRgb: [140, 50, 168],
  },
  bicycle: {
    category: 'vehicle.bicycle',
    wlh: [
      [0.55, 0.7],
      [1.65, 1.85],
      [1.6, 1.8],
    ],
    speed: [3.5, 6],
    maxAccel: 1.0,
    comfortDecel: 1.8,
    headwayS: 1.2,
    colorRgb: [36, 168, 160],
  },
  pedestrian: {
    category: 'human.pedestrian.adult',
    wlh: [
      [0.58, 0.72],
      [0.62, 0.78],
      [1.6, 1.85],
    ],
    speed: [1.05, 1.6],
    maxAccel: 1,
    comfortDecel: 1,
    headwayS: 1,
    colorRgb: [232, 118, 146],
  },
  parked: {
    category: 'vehicle.car',
    wlh: [
      [1.75, 2.0],
      [4.2, 4.9],
      [1.45, 1.8],
    ],
    speed: [0, 0],
    maxAccel: 0,
    comfortDecel: 0,
    headwayS: 0,
    colorRgb: [52, 92, 178],
  },
};

/** Draws a box size and a colour (class hue, brightness varied by ±18 %) for an agent of a class. */
export function drawAgentLook(kind: AgentKind, rng: Rng): { wlh: Vec3; colorRgb: [number, number, number] } {
  const spec = AGENT_CLASSES[kind];
  const wlh: Vec3 = [
    rng.uniform(spec.wlh[0][0], spec.wlh[0][1]),
    rng.uniform(spec.wlh[1][0], spec.wlh[1][1]),
    rng.uniform(spec.wlh[2][0], spec.wlh[2][1]),
  ];
  const scale = rng.uniform(0.82, 1.18);
  const colorRgb = spec.colorRgb.map((c) => Math.max(0, Math.min(255, Math.round(c * scale)))) as [
    number,
    number,
    number,
  ];
  return { wlh: wlh.map((v) => Math.round(v * 1000) / 1000) as Vec3, colorRgb };
}
