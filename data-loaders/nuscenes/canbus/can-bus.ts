import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SpikedriveError } from '../../../src/util/index.ts';
import {
  CAN_BLACKLIST,
  DEFAULT_MAX_MISALIGNMENT_M,
  isCanBusSceneName,
  NO_VEHICLE_MONITOR_SCENES,
  ROUTE_BLACKLIST,
  sceneNumber,
} from './blacklist.ts';
import { locateMessage } from './locate.ts';
import {
  ALL_MESSAGES,
  CAN_MESSAGE_SCHEMAS,
  CAN_MESSAGES,
  type CanMessageName,
  type CanMessageStats,
  type CanMessageTypes,
  type CanPoseMessage,
  type CanSteerAngleFeedbackMessage,
  type CanTimedMessageName,
  DERIVED_MESSAGES,
  isCanMessageName,
} from './messages.ts';

export interface NuScenesCanBusOptions {
  /** The nuScenes root; the expansion lives in `<dataroot>/can_bus/`. */
  dataroot: string;
  /**
   * Largest distance in metres any pose may be from the baseline route before the scene's route counts as
   * misaligned. At the default 5 m the devkit's precomputed list is used; otherwise every scene is measured
   * (slow: it reads every pose and route file).
   */
  maxMisalignmentM?: number;
  /** Where warnings about known-bad data go (default: `process.emitWarning`). */
  onWarning?: (message: string) => void;
  /** How many parsed message files to keep in memory (default 32; 0 disables the cache). */
  cacheSize?: number;
}

export interface GetMessagesOptions {
  /** Warn for scenes known to have bad data (misaligned route, no vehicle_monitor). Default true. */
  warnings?: boolean;
}

/** SAD's view of the ego state at a sample: forward speed from `pose` and the steering angle. */
export interface SadEgoState {
  /** pose.vel[0]: forward speed in m/s in the ego frame. */
  v0Mps: number;
  /** steeranglefeedback.value: steering angle in radians, positive = left (SAD flips it in Singapore). */
  steeringRad: number;
  /** The `pose` message nearest the time. */
  pose: CanPoseMessage;
  /** The `steeranglefeedback` message nearest the time. */
  steer: CanSteerAngleFeedbackMessage;
}

/** A message key over time, for plots (the data of the devkit's `plot_message_data`). */
export interface CanMessageSeries {
  /** Seconds since the scene's first message of this type. */
  timesS: Float64Array;
  values: Float64Array;
}

/** The devkit's `route_blacklist` etc. in one place, for callers who filter scenes themselves. */
export interface CanBusBlacklists {
  can: readonly number[];
  route: readonly number[];
  noVehicleMonitor: readonly number[];
}

type Loaded = CanMessageTypes[CanMessageName];

/** Python's json.dump writes NaN and ±Infinity as bare words; JSON.parse rejects them. */
const PYTHON_NON_FINITE = /"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g;
const NON_FINITE_TAG = '\u0000nonfinite:';

function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!/NaN|Infinity/.test(text)) throw error;
    // Only bare tokens outside strings are rewritten; strings match first and are kept.
    const tagged = text.replace(PYTHON_NON_FINITE, (token) =>
      token.startsWith('"') ? token : JSON.stringify(`${NON_FINITE_TAG}${token}`),
    );
    return JSON.parse(tagged, (_key, value: unknown) =>
      typeof value === 'string' && value.startsWith(NON_FINITE_TAG)
        ? Number(value.slice(NON_FINITE_TAG.length))
        : value,
    );
  }
}

/**
 * The devkit's `NuScenesCanBus`: reads `<dataroot>/can_bus/<scene>_<message>.json` for the eight message
 * types, refuses the scenes without CAN data, warns for known-bad ones, and adds what SAD needs (the
 * message nearest a sample's time). Files are parsed once, checked against their type, and cached.
 */
export class NuScenesCanBus {
  readonly dataroot: string;
  /** `<dataroot>/can_bus`. */
  readonly canDir: string;
  /** Scenes (numbers) whose poses stray from the route by more than `maxMisalignmentM`. */
  readonly routeBlacklist: readonly number[];
  /** Scenes (numbers) with no CAN data; `getMessages` throws for them. */
  readonly canBlacklist: readonly number[] = CAN_BLACKLIST;
  readonly canMessages: readonly CanTimedMessageName[] = CAN_MESSAGES;
  readonly derivedMessages: readonly CanMessageName[] = DERIVED_MESSAGES;
  readonly allMessages: readonly CanMessageName[] = ALL_MESSAGES;

  readonly #onWarning: (message: string) => void;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, Loaded>();
  /** Checked, sorted message times per loaded list, so repeated look-ups are a binary search. */
  readonly #utimes = new WeakMap<object, Float64Array>();

  constructor(options: NuScenesCanBusOptions) {
    this.dataroot = options.dataroot;
    this.canDir = join(options.dataroot, 'can_bus');
    this.#onWarning = options.onWarning ?? ((message) => process.emitWarning(message));
    this.#cacheSize = options.cacheSize ?? 32;
    let isDir = false;
    try {
      isDir = statSync(this.canDir).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) {
      throw new SpikedriveError(`CAN bus directory not found: ${this.canDir}`, {
        subject: this.canDir,
        fix: 'Download the CAN bus expansion from https://www.nuscenes.org/download and unpack it so that can_bus/ sits inside the dataroot.',
      });
    }
    const maxMisalignmentM = options.maxMisalignmentM ?? DEFAULT_MAX_MISALIGNMENT_M;
    // The devkit hard-codes the list for the default threshold (computing it reads every file). Unlike the
    // devkit, which ignores a custom threshold here, we pass it on.
    this.routeBlacklist =
      maxMisalignmentM === DEFAULT_MAX_MISALIGNMENT_M
        ? ROUTE_BLACKLIST
        : this.listMisalignedRoutes(maxMisalignmentM).map(sceneNumber);
  }

  get blacklists(): CanBusBlacklists {
    return {
      can: this.canBlacklist,
      route: this.routeBlacklist,
      noVehicleMonitor: NO_VEHICLE_MONITOR_SCENES,
    };
  }

  /** The file holding one scene's messages of one type. */
  messagePath(sceneName: string, messageName: CanMessageName): string {
    return join(this.canDir, `${sceneName}_${messageName}.json`);
  }

  /**
   * The devkit's `get_messages`: every message of one type for one scene, in file (chronological) order;
   * `meta` is an object whose keys are lower-cased, `route` a list of (x, y). Throws for scenes on the CAN
   * blacklist, for a bad scene or message name, and for a missing or malformed file. The result is shared
   * with later calls (cached): do not modify it.
   */
  getMessages<M extends CanMessageName>(
    sceneName: string,
    messageName: M,
    options: GetMessagesOptions = {},
  ): Readonly<CanMessageTypes[M]> {
    if (!isCanBusSceneName(sceneName)) {
      throw new SpikedriveError(`'${sceneName}' is not a nuScenes scene name`, {
        subject: sceneName,
        fix: 'Scene names have the form scene-0123 (four digits).',
      });
    }
    if (!isCanMessageName(messageName)) {
      throw new SpikedriveError(`Invalid CAN bus message name: '${String(messageName)}'`, {
        subject: String(messageName),
        fix: `Use one of ${ALL_MESSAGES.join(', ')}.`,
      });
    }
    const id = sceneNumber(sceneName);
    if (CAN_BLACKLIST.includes(id)) {
      throw new SpikedriveError(`${sceneName} does not have any CAN bus data`, {
        subject: sceneName,
        fix: 'Skip the scenes on the CAN blacklist (161–168, 170–176, 309–314), e.g. with removeSadExcludedScenes.',
      });
    }
    if (options.warnings ?? true) {
      if (messageName === 'route' && this.routeBlacklist.includes(id)) {
        this.#onWarning(`${sceneName} is not well aligned with the baseline route`);
      } else if (messageName === 'vehicle_monitor' && NO_VEHICLE_MONITOR_SCENES.includes(id)) {
        this.#onWarning(`${sceneName} does not have any vehicle_monitor messages`);
      }
    }
    return this.#load(sceneName, messageName) as CanMessageTypes[M];
  }

  #load(sceneName: string, messageName: CanMessageName): Loaded {
    const path = this.messagePath(sceneName, messageName);
    const cached = this.#cache.get(path);
    if (cached !== undefined) {
      // Re-insert to mark it most recently used.
      this.#cache.delete(path);
      this.#cache.set(path, cached);
      return cached;
    }
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new SpikedriveError(
        missing
          ? `CAN bus file not found: ${path}`
          : `Cannot read CAN bus file ${path}: ${(error as Error).message}`,
        {
          subject: path,
          fix: missing
            ? `Unpack the CAN bus expansion (https://www.nuscenes.org/download) into ${this.canDir}, or write ${sceneName}_${messageName}.json there; ${sceneName} may also lack this message type.`
            : 'Check the file permissions.',
          cause: error,
        },
      );
    }
    let raw: unknown;
    try {
      raw = parsePythonJson(text);
    } catch (error) {
      throw new SpikedriveError(`${path} is not valid JSON: ${(error as Error).message}`, {
        subject: path,
        fix: 'Re-extract the file from the CAN bus expansion archive.',
        cause: error,
      });
    }
    if (typeof raw !== 'object' || raw === null) {
      throw new SpikedriveError(
        `${path} must hold a JSON list or object, not ${raw === null ? 'null' : typeof raw}`,
        {
          subject: path,
          fix: 'Re-extract the file from the CAN bus expansion archive.',
        },
      );
    }
    // The devkit lower-cases the keys of object-valued files (meta).
    if (!Array.isArray(raw)) {
      raw = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v]));
    }
    const parsed = CAN_MESSAGE_SCHEMAS[messageName].safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
      const example =
        messageName === 'route' ? '[[x, y], …]' : messageName === 'meta' ? 'an object' : 'a list';
      throw new SpikedriveError(
        `${path}: ${messageName} message field ${where} is invalid: ${issue.message} ` +
          `(${parsed.error.issues.length} problem${parsed.error.issues.length === 1 ? '' : 's'} in all)`,
        {
          subject: path,
          fix: `A ${messageName} file is ${example} with the fields the nuScenes CAN bus README lists; re-extract or regenerate it.`,
        },
      );
    }
    const value = parsed.data as Loaded;
    if (this.#cacheSize > 0) {
      this.#cache.set(path, value);
      if (this.#cache.size > this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value as string);
    }
    return value;
  }

  /**
   * The message of one type nearest `utimeUs` (SAD's `locate_message`: ties go to the later message, and
   * a time outside the recording gives the first or last message, with no range check). The messages must
   * be in time order, as the expansion stores them.
   */
  getMessageNearest<M extends CanTimedMessageName>(
    sceneName: string,
    messageName: M,
    utimeUs: number,
  ): CanMessageTypes[M][number] {
    const messages = this.getMessages(sceneName, messageName, { warnings: false });
    const path = this.messagePath(sceneName, messageName);
    if (messages.length === 0) {
      throw new SpikedriveError(`${path} holds no ${messageName} messages`, {
        subject: path,
        fix: `Use a scene that has ${messageName} messages, or regenerate the file.`,
      });
    }
    let utimes = this.#utimes.get(messages);
    if (utimes === undefined) {
      utimes = new Float64Array(messages.length);
      for (let i = 0; i < messages.length; i++) {
        utimes[i] = messages[i].utime;
        if (i > 0 && utimes[i] < utimes[i - 1]) {
          throw new SpikedriveError(
            `${path}: message ${i} (utime ${utimes[i]}) is earlier than the one before it`,
            {
              subject: path,
              fix: 'CAN bus files list messages in time order; sort the file by utime.',
            },
          );
        }
      }
      this.#utimes.set(messages, utimes);
    }
    return messages[locateMessage(utimes, utimeUs)];
  }

  /**
   * What SAD's planner reads at a sample time: v0 = pose.vel[0] (m/s) and the steering angle from
   * steeranglefeedback, each from the message nearest `utimeUs`.
   */
  getSadEgoState(sceneName: string, utimeUs: number): SadEgoState {
    const pose = this.getMessageNearest(sceneName, 'pose', utimeUs);
    const steer = this.getMessageNearest(sceneName, 'steeranglefeedback', utimeUs);
    return { v0Mps: pose.vel[0], steeringRad: steer.value, pose, steer };
  }

  /** The devkit's `get_pose_and_route`: the route and the poses' (x, y), both in map metres. */
  getPoseAndRoute(
    sceneName: string,
    options: GetMessagesOptions = {},
  ): { route: [number, number][]; pose: [number, number][] } {
    const route = this.getMessages(sceneName, 'route', options).map(([x, y]): [number, number] => [x, y]);
    const pose = this.getMessages(sceneName, 'pose', options).map((p): [number, number] => [
      p.pos[0],
      p.pos[1],
    ]);
    return { route, pose };
  }

  /**
   * The directed Hausdorff distance from the poses to the route, in metres: how far the farthest pose is
   * from its nearest route point. NaN when the scene has no route (about 3 % of scenes) or no poses.
   */
  routeMisalignmentM(sceneName: string): number {
    const { route, pose } = this.getPoseAndRoute(sceneName, { warnings: false });
    if (route.length === 0 || pose.length === 0) return Number.NaN;
    let worst = 0;
    for (const [px, py] of pose) {
      let nearestSq = Number.POSITIVE_INFINITY;
      for (const [rx, ry] of route) {
        const d = (px - rx) * (px - rx) + (py - ry) * (py - ry);
        if (d < nearestSq) nearestSq = d;
      }
      if (nearestSq > worst) worst = nearestSq;
    }
    return Math.sqrt(worst);
  }

  /** Scene names that have at least one file in `can_bus/`, sorted. Files of other names are ignored. */
  listScenes(): string[] {
    const names = new Set<string>();
    for (const file of readdirSync(this.canDir)) {
      const name = file.slice(0, 10);
      if (isCanBusSceneName(name) && file[10] === '_' && file.endsWith('.json')) names.add(name);
    }
    return [...names].sort();
  }

  /**
   * The devkit's `list_misaligned_routes`: scenes whose poses stray from the baseline route by more than
   * `maxMisalignmentM` (directed Hausdorff distance). Scenes without a route are skipped (the devkit fails
   * on them), as are blacklisted ones.
   */
  listMisalignedRoutes(maxMisalignmentM = DEFAULT_MAX_MISALIGNMENT_M): string[] {
    return this.listScenes().filter((name) => {
      if (CAN_BLACKLIST.includes(sceneNumber(name))) return false;
      const distanceM = this.routeMisalignmentM(name);
      return !Number.isNaN(distanceM) && distanceM > maxMisalignmentM;
    });
  }

  /** One message type's statistics from the scene's `meta` (the devkit's `print_message_stats`, as data). */
  getMessageStats(sceneName: string, messageName: CanTimedMessageName): CanMessageStats {
    if (!(CAN_MESSAGES as readonly string[]).includes(messageName)) {
      throw new SpikedriveError(`meta has statistics only for the raw CAN messages, not '${messageName}'`, {
        subject: messageName,
        fix: `Use one of ${CAN_MESSAGES.join(', ')}.`,
      });
    }
    const meta = this.getMessages(sceneName, 'meta');
    const stats = meta[messageName];
    if (stats === undefined) {
      throw new SpikedriveError(
        `${this.messagePath(sceneName, 'meta')} has no statistics for ${messageName}`,
        {
          subject: this.messagePath(sceneName, 'meta'),
          fix: `Its keys are ${Object.keys(meta).join(', ') || '(none)'}; re-extract the file if one is missing.`,
        },
      );
    }
    return stats;
  }

  /**
   * The data behind the devkit's `plot_message_data`: one key of one message type over the scene, times
   * in seconds since its first message. `dimension` picks a component of a vector key, 'norm' gives its
   * Euclidean length; a scalar key needs neither.
   */
  getMessageSeries(
    sceneName: string,
    messageName: CanTimedMessageName,
    key: string,
    dimension?: number | 'norm',
  ): CanMessageSeries {
    const messages = this.getMessages(sceneName, messageName, {
      warnings: false,
    }) as unknown as readonly Record<string, unknown>[];
    const path = this.messagePath(sceneName, messageName);
    const n = messages.length;
    const timesS = new Float64Array(n);
    const values = new Float64Array(n);
    let t0 = Number.POSITIVE_INFINITY;
    for (const m of messages) t0 = Math.min(t0, m.utime as number);
    for (let i = 0; i < n; i++) {
      const m = messages[i];
      timesS[i] = ((m.utime as number) - t0) / 1e6;
      const value = m[key];
      if (typeof value === 'number') {
        if (dimension !== undefined && dimension !== 0 && dimension !== 'norm') {
          throw new SpikedriveError(`${messageName}.${key} is a scalar; it has no dimension ${dimension}`, {
            subject: key,
            fix: 'Leave the dimension out for scalar keys.',
          });
        }
        values[i] = dimension === 'norm' ? Math.abs(value) : value;
      } else if (Array.isArray(value) && value.every((v) => typeof v === 'number')) {
        if (dimension === 'norm') {
          values[i] = Math.hypot(...(value as number[]));
        } else if (
          dimension !== undefined &&
          Number.isInteger(dimension) &&
          dimension >= 0 &&
          dimension < value.length
        ) {
          values[i] = value[dimension] as number;
        } else {
          throw new SpikedriveError(
            `${messageName}.${key} has ${value.length} components; dimension ${String(dimension)} is not one of them`,
            { subject: key, fix: `Pass a dimension in 0..${value.length - 1}, or 'norm'.` },
          );
        }
      } else {
        throw new SpikedriveError(`${path}: message ${i} has no numeric key '${key}'`, {
          subject: key,
          fix: `Use a key of ${messageName}: ${Object.keys(m)
            .filter((k) => k !== 'utime')
            .join(', ')}.`,
        });
      }
    }
    return { timesS, values };
  }

  /** Forgets cached files (e.g. after rewriting them). */
  clearCache(): void {
    this.#cache.clear();
  }
}
