/** RGB bytes. */
export type Rgb = [number, number, number];

/**
 * The devkit's `get_colormap()` (utils/color_map.py), keyed by category name: the colours every nuScenes
 * user knows from `render_sample`. Data, copied verbatim.
 */
export const DEVKIT_COLORMAP: Readonly<Record<string, Rgb>> = {
  noise: [0, 0, 0],
  animal: [70, 130, 180],
  'human.pedestrian.adult': [0, 0, 230],
  'human.pedestrian.child': [135, 206, 235],
  'human.pedestrian.construction_worker': [100, 149, 237],
  'human.pedestrian.personal_mobility': [219, 112, 147],
  'human.pedestrian.police_officer': [0, 0, 128],
  'human.pedestrian.stroller': [240, 128, 128],
  'human.pedestrian.wheelchair': [138, 43, 226],
  'movable_object.barrier': [112, 128, 144],
  'movable_object.debris': [210, 105, 30],
  'movable_object.pushable_pullable': [105, 105, 105],
  'movable_object.trafficcone': [47, 79, 79],
  'static_object.bicycle_rack': [188, 143, 143],
  'vehicle.bicycle': [220, 20, 60],
  'vehicle.bus.bendy': [255, 127, 80],
  'vehicle.bus.rigid': [255, 69, 0],
  'vehicle.car': [255, 158, 0],
  'vehicle.construction': [233, 150, 70],
  'vehicle.emergency.ambulance': [255, 83, 0],
  'vehicle.emergency.police': [255, 215, 0],
  'vehicle.motorcycle': [255, 61, 99],
  'vehicle.trailer': [255, 140, 0],
  'vehicle.truck': [255, 99, 71],
  'flat.driveable_surface': [0, 207, 191],
  'flat.other': [175, 0, 75],
  'flat.sidewalk': [75, 0, 75],
  'flat.terrain': [112, 180, 60],
  'static.manmade': [222, 184, 135],
  'static.other': [255, 228, 196],
  'static.vegetation': [0, 175, 0],
  'vehicle.ego': [255, 240, 245],
};

/** Colour for a box of an unknown category (the devkit would raise KeyError; a drawing should not). */
export const UNKNOWN_CATEGORY_RGB: Rgb = [255, 0, 255];

export function categoryColor(name: string): Rgb {
  return DEVKIT_COLORMAP[name] ?? UNKNOWN_CATEGORY_RGB;
}

/**
 * The map-expansion explorer's default layer colours (map_api.py `color_map`), in the order the BEV
 * panel paints them (areas first, lines last).
 */
export const MAP_LAYER_COLORS: Readonly<Record<string, Rgb>> = {
  drivable_area: [0xa6, 0xce, 0xe3],
  road_segment: [0x1f, 0x78, 0xb4],
  road_block: [0xb2, 0xdf, 0x8a],
  lane: [0x33, 0xa0, 0x2c],
  carpark_area: [0xff, 0x7f, 0x00],
  walkway: [0xe3, 0x1a, 0x1c],
  ped_crossing: [0xfb, 0x9a, 0x99],
  stop_line: [0xfd, 0xbf, 0x6f],
  road_divider: [0xca, 0xb2, 0xd6],
  lane_divider: [0x6a, 0x3d, 0x9a],
  traffic_light: [0x7e, 0x77, 0x2e],
};

export function hex([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;
}
