/**
 * The devkit's hard-coded scene lists for the CAN bus expansion (`can_bus_api.py`), by scene number.
 */

/** Scenes with no CAN bus data at all: the devkit raises for any message of these. */
export const CAN_BLACKLIST: readonly number[] = [
  161, 162, 163, 164, 165, 166, 167, 168, 170, 171, 172, 173, 174, 175, 176, 309, 310, 311, 312, 313, 314,
];

/**
 * Scenes whose ego poses stray more than 5 m from the baseline route (the devkit's precomputed result of
 * `list_misaligned_routes(5.0)`); reading their `route` warns.
 */
export const ROUTE_BLACKLIST: readonly number[] = [
  71, 73, 74, 75, 76, 85, 100, 101, 106, 107, 108, 109, 110, 112, 113, 114, 115, 116, 117, 118, 119, 261, 262,
  263, 264, 276, 302, 303, 304, 305, 306, 334, 388, 389, 390, 436, 499, 500, 501, 502, 504, 505, 506, 507,
  508, 509, 510, 511, 512, 513, 514, 515, 517, 518, 547, 548, 549, 550, 551, 556, 557, 558, 559, 560, 561,
  562, 563, 564, 565, 730, 731, 733, 734, 735, 736, 737, 738, 778, 780, 781, 782, 783, 784, 904, 905, 1073,
  1074,
];

/** Scenes with no `vehicle_monitor` messages (reading them warns); SAD drops these from its splits. */
export const NO_VEHICLE_MONITOR_SCENES: readonly number[] = [419];

/** The default misalignment threshold the devkit's ROUTE_BLACKLIST was computed with, in metres. */
export const DEFAULT_MAX_MISALIGNMENT_M = 5;

const SCENE_NAME = /^scene-\d{4}$/;

/** Whether `name` has the form the CAN bus files use, `scene-0123`. */
export function isCanBusSceneName(name: string): boolean {
  return SCENE_NAME.test(name);
}

/** `scene-0061` → 61. Only for names that pass `isCanBusSceneName`. */
export function sceneNumber(sceneName: string): number {
  return Number.parseInt(sceneName.slice(-4), 10);
}

/** 61 → `scene-0061`. */
export function canBusSceneName(sceneNumber: number): string {
  return `scene-${String(sceneNumber).padStart(4, '0')}`;
}

/** Whether the devkit refuses CAN bus data for this scene (name or number). */
export function isCanBlacklisted(scene: string | number): boolean {
  const n = typeof scene === 'number' ? scene : isCanBusSceneName(scene) ? sceneNumber(scene) : Number.NaN;
  return CAN_BLACKLIST.includes(n);
}
