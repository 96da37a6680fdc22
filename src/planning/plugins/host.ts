// The host side of planner plugins: each plugin runs in its own worker thread, so one that throws, hangs, crashes
// or returns garbage fails that call with a report, and the caller (the evaluator, the app) carries on. The host
// times every call (inside the worker: the planner's own time; around it: the round trip), stops a worker that
// exceeds the per-call limit, and starts a fresh one for the next call.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { SpikedriveError } from '../../util/errors.ts';
import {
  type HostObservation,
  type PlannerContext,
  type PlannerContextInit,
  type PlannerInputName,
  plannerContext,
  validatePlanResult,
  type Waypoint,
} from '../planner.ts';
import type {
  HostMessage,
  PlanFailureKind,
  PlannerDescription,
  WorkerData,
  WorkerMessage,
} from './protocol.ts';

export type { PlanFailureKind } from './protocol.ts';

/** A plan that passed validation, with its timing. */
export interface PlanSuccess {
  ok: true;
  trajectory: Waypoint[];
  meta: Record<string, number | string | boolean>;
  /** The planner's own time (inside the worker for plugins), ms. */
  planMs: number;
  /** The whole call as the caller saw it (for plugins: transfer to the worker and back included), ms. */
  callMs: number;
}

/** A call that produced no usable trajectory: what went wrong, in words a plugin author can act on. */
export interface PlanFailure {
  ok: false;
  kind: PlanFailureKind;
  message: string;
  fix?: string;
  /** The plugin's stack trace where there is one. */
  stack?: string;
  planMs?: number;
  callMs: number;
}

export type PlanOutcome = PlanSuccess | PlanFailure;

export interface PluginPlannerOptions {
  /** Limit on one `plan` call, round trip, ms (default 10 000). */
  timeoutMs?: number;
  /** Limit on importing the module and running `init`, ms (default 60 000: tsx compiles TypeScript on first load). */
  initTimeoutMs?: number;
  /** The run's facts handed to `init` and `plan` (grid, F, …); SAD's values where absent. */
  context?: PlannerContextInit;
  /** Heap limit of the worker, MB (default 4096): a runaway plugin dies alone. */
  memoryLimitMb?: number;
  /** Consecutive failed restarts after which every further call fails at once as 'unavailable' (default 3). */
  maxRestarts?: number;
  /** Where the plugin's console output goes (default: stderr, each line prefixed with the planner's name). */
  onOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
}

const PLUGIN_EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'];
const ENTRY = new URL('./worker-entry.mjs', import.meta.url);

/** Checks a plugin path before a worker is started: it exists, is a file, and has a module extension. */
export function resolvePluginPath(path: string): string {
  const absolute = resolve(path);
  const info = (() => {
    try {
      return statSync(absolute);
    } catch {
      return null;
    }
  })();
  if (!info) {
    throw new SpikedriveError(`planner plugin ${path} does not exist`, {
      subject: path,
      fix: 'Pass the path of a .js or .ts module whose default export is a planner (see docs/plugins.md), or a built-in name: sad, cost-only, constant-velocity, expert.',
    });
  }
  if (!info.isFile()) {
    throw new SpikedriveError(`planner plugin ${path} is not a file`, {
      subject: path,
      fix: 'Pass the module file itself (e.g. examples/planners/keep-lane.ts), not its folder.',
    });
  }
  if (!PLUGIN_EXTENSIONS.includes(extname(absolute))) {
    throw new SpikedriveError(`planner plugin ${path} is not a JavaScript or TypeScript module`, {
      subject: path,
      fix: `Use a file ending in ${PLUGIN_EXTENSIONS.join(', ')}.`,
    });
  }
  return absolute;
}

function describeCrash(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

type ResolvedOptions = Required<Omit<PluginPlannerOptions, 'onOutput' | 'context'>> &
  Pick<PluginPlannerOptions, 'onOutput' | 'context'>;

interface LiveWorker {
  worker: Worker;
  alive: boolean;
  pending: {
    id: number;
    settle: (message: WorkerMessage | { type: 'crash'; message: string }) => void;
  } | null;
}

/** A planner plugin running in a worker thread. Create with {@link PluginPlanner.load}. */
export class PluginPlanner {
  readonly modulePath: string;
  /** SHA-256 of the module file as loaded (recorded in run manifests). */
  readonly sha256: string;
  readonly name: string;
  readonly version: string | undefined;
  readonly description: string | undefined;
  /** Declared inputs; null when the plugin is a plain object without `inputs` (it gets every input). */
  readonly inputs: readonly PlannerInputName[] | null;
  readonly apiVersion: number;
  /** The context the plugin's `init` received. */
  readonly context: PlannerContext;
  /** Time the first import + `init` took, ms. */
  readonly initMs: number;
  readonly #options: ResolvedOptions;
  #live: LiveWorker | null;
  #nextId = 1;
  #restarts = 0;
  #failedRestarts = 0;
  #lastRestartError = '';
  #queue: Promise<unknown> = Promise.resolve();
  #disposed = false;

  private constructor(
    modulePath: string,
    sha256: string,
    description: PlannerDescription,
    live: LiveWorker,
    initMs: number,
    options: ResolvedOptions,
  ) {
    this.modulePath = modulePath;
    this.sha256 = sha256;
    this.name = description.name;
    this.version = description.version;
    this.description = description.description;
    this.inputs = description.inputs ? Object.freeze([...description.inputs]) : null;
    this.apiVersion = description.apiVersion;
    this.context = plannerContext(options.context);
    this.initMs = initMs;
    this.#options = options;
    this.#live = live;
  }

  /**
   * Starts a worker, imports the plugin there (TypeScript compiled on the fly), checks its default export and runs
   * its `init`. A plugin that cannot load is a SpikedriveError here (nothing can be evaluated with it); failures
   * after this point are per call.
   */
  static async load(path: string, options: PluginPlannerOptions = {}): Promise<PluginPlanner> {
    const modulePath = resolvePluginPath(path);
    const sha256 = createHash('sha256').update(readFileSync(modulePath)).digest('hex');
    const resolved: ResolvedOptions = {
      timeoutMs: options.timeoutMs ?? 10_000,
      initTimeoutMs: options.initTimeoutMs ?? 60_000,
      memoryLimitMb: options.memoryLimitMb ?? 4096,
      maxRestarts: options.maxRestarts ?? 3,
      onOutput: options.onOutput,
      context: options.context,
    };
    for (const [key, value] of Object.entries({
      timeoutMs: resolved.timeoutMs,
      initTimeoutMs: resolved.initTimeoutMs,
      memoryLimitMb: resolved.memoryLimitMb,
    })) {
      if (!(Number.isFinite(value) && value > 0)) {
        throw new SpikedriveError(`plugin option ${key} must be a positive number, got ${value}`, {
          subject: key,
          fix: `Give ${key} in ${key.endsWith('Mb') ? 'megabytes' : 'milliseconds'}, e.g. 10000.`,
        });
      }
    }
    const started = await startWorker(modulePath, resolved);
    return new PluginPlanner(modulePath, sha256, started.description, started.live, started.initMs, resolved);
  }

  /** Workers started after the first (each follows a timeout or a crash). */
  get restarts(): number {
    return this.#restarts;
  }

  /**
   * Plans one observation in the worker. Never throws for what the plugin does: a throw, a timeout, a crash or a
   * malformed trajectory come back as a {@link PlanFailure}. Calls run one at a time, in call order.
   */
  plan(observation: HostObservation): Promise<PlanOutcome> {
    const run = this.#queue.then(() => this.#plan(observation));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #plan(observation: HostObservation): Promise<PlanOutcome> {
    const callStart = performance.now();
    const elapsed = () => performance.now() - callStart;
    if (this.#disposed) {
      throw new SpikedriveError(`planner plugin "${this.name}" was used after dispose()`, {
        subject: this.modulePath,
        fix: 'Load the plugin again.',
      });
    }
    if (!this.#live?.alive) {
      if (this.#failedRestarts >= this.#options.maxRestarts) {
        return {
          ok: false,
          kind: 'unavailable',
          message: `planner "${this.name}" could not be restarted (${this.#failedRestarts} attempts): ${this.#lastRestartError}`,
          fix: 'Fix the plugin so its module loads and its init succeeds reliably.',
          callMs: elapsed(),
        };
      }
      try {
        const started = await startWorker(this.modulePath, this.#options);
        this.#live = started.live;
        this.#restarts += 1;
        this.#failedRestarts = 0;
      } catch (error) {
        this.#failedRestarts += 1;
        this.#lastRestartError = error instanceof Error ? error.message : String(error);
        return {
          ok: false,
          kind: 'unavailable',
          message: `planner "${this.name}" could not be restarted: ${this.#lastRestartError}`,
          fix: 'Fix the plugin so its module loads and its init succeeds reliably.',
          callMs: elapsed(),
        };
      }
    }
    const live = this.#live as LiveWorker;
    const id = this.#nextId++;
    const timeoutMs = this.#options.timeoutMs;
    const answer = await new Promise<
      WorkerMessage | { type: 'crash'; message: string } | { type: 'timeout' }
    >((settle) => {
      const timer = setTimeout(() => {
        live.pending = null;
        settle({ type: 'timeout' });
      }, timeoutMs);
      live.pending = {
        id,
        settle: (message) => {
          clearTimeout(timer);
          live.pending = null;
          settle(message);
        },
      };
      try {
        live.worker.postMessage({ type: 'plan', id, observation } satisfies HostMessage);
      } catch (error) {
        live.pending.settle({
          type: 'crash',
          message: `the observation could not be sent to the worker (${describeCrash(error)})`,
        });
      }
    });
    if (answer.type === 'timeout') {
      // A hung plan cannot be interrupted inside its thread: stop the thread; the next call starts a fresh one.
      live.alive = false;
      await live.worker.terminate().catch(() => undefined);
      return {
        ok: false,
        kind: 'timeout',
        message: `planner "${this.name}" did not answer within ${timeoutMs} ms; its worker was stopped`,
        fix: `Make plan() faster, or raise the limit (--plan-timeout ${Math.ceil(timeoutMs * 2)}).`,
        callMs: elapsed(),
      };
    }
    if (answer.type === 'crash') {
      live.alive = false;
      await live.worker.terminate().catch(() => undefined);
      return {
        ok: false,
        kind: 'crashed',
        message: `planner "${this.name}" crashed its worker: ${answer.message}`,
        fix: 'Check the plugin for process.exit calls, errors thrown in callbacks or timers, or memory use.',
        callMs: elapsed(),
      };
    }
    if (answer.type === 'error') {
      return {
        ok: false,
        kind: answer.kind,
        message: `planner "${this.name}" ${answer.kind === 'threw' ? 'threw' : 'failed'}: ${answer.message}`,
        fix:
          answer.kind === 'missing-input'
            ? 'Declare only inputs this run provides (see docs/plugins.md), or evaluate with a model that provides them.'
            : 'Fix the plugin; the stack trace names the line.',
        ...(answer.stack ? { stack: answer.stack } : {}),
        planMs: answer.planMs,
        callMs: elapsed(),
      };
    }
    if (answer.type !== 'result') {
      return {
        ok: false,
        kind: 'crashed',
        message: `planner "${this.name}" worker sent an unexpected "${answer.type}" message`,
        callMs: elapsed(),
      };
    }
    try {
      const plan = validatePlanResult(answer.result, this.name, this.context.nFutureFrames);
      return { ok: true, ...plan, planMs: answer.planMs, callMs: elapsed() };
    } catch (error) {
      const e = error as SpikedriveError;
      return {
        ok: false,
        kind: 'malformed',
        message: e.message,
        fix: e.fix,
        planMs: answer.planMs,
        callMs: elapsed(),
      };
    }
  }

  /** Runs the plugin's `dispose` (briefly) and stops its worker. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#queue;
    const live = this.#live;
    this.#live = null;
    if (!live?.alive) return;
    await new Promise<void>((done) => {
      const timer = setTimeout(done, Math.min(this.#options.timeoutMs, 5000));
      live.pending = {
        id: -1,
        settle: () => {
          clearTimeout(timer);
          done();
        },
      };
      live.worker.postMessage({ type: 'dispose' } satisfies HostMessage);
    });
    live.alive = false;
    await live.worker.terminate().catch(() => undefined);
  }
}

function forwardLines(
  stream: Readable | null,
  kind: 'stdout' | 'stderr',
  label: () => string,
  onOutput?: (line: string, stream: 'stdout' | 'stderr') => void,
): void {
  if (!stream) return;
  let buffer = '';
  stream.setEncoding('utf8');
  const emit = (line: string) => {
    if (onOutput) onOutput(line, kind);
    else process.stderr.write(`[${label()}] ${line}\n`);
  };
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      emit(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf('\n');
    }
  });
  stream.on('end', () => {
    if (buffer) emit(buffer);
  });
}

/** Starts a worker for the module and waits for its `ready` (or throws a SpikedriveError saying why not). */
async function startWorker(
  modulePath: string,
  options: { initTimeoutMs: number; memoryLimitMb: number; context?: PlannerContextInit } & Pick<
    PluginPlannerOptions,
    'onOutput'
  >,
): Promise<{ live: LiveWorker; description: PlannerDescription; initMs: number }> {
  const data: WorkerData = { modulePath, context: options.context ?? {} };
  let name = modulePath;
  // stdout/stderr are piped (not inherited), so a plugin's console output never mixes into JSON on stdout.
  const worker = new Worker(ENTRY, {
    workerData: data,
    stdout: true,
    stderr: true,
    resourceLimits: { maxOldGenerationSizeMb: options.memoryLimitMb },
  });
  forwardLines(worker.stdout, 'stdout', () => name, options.onOutput);
  forwardLines(worker.stderr, 'stderr', () => name, options.onOutput);
  const live: LiveWorker = { worker, alive: true, pending: null };
  const fail = (message: string, fix: string): SpikedriveError =>
    new SpikedriveError(`planner plugin ${modulePath} ${message}`, { subject: modulePath, fix });
  try {
    const ready = await new Promise<Extract<WorkerMessage, { type: 'ready' }>>((resolveReady, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            fail(
              `did not finish loading within ${options.initTimeoutMs} ms`,
              'Make the module import and init() quicker, or raise the limit (--plugin-init-timeout).',
            ),
          ),
        options.initTimeoutMs,
      );
      const onMessage = (message: WorkerMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolveReady(message);
        } else if (message.type === 'init-failed') {
          clearTimeout(timer);
          const what = {
            import: 'cannot be imported',
            validate: 'does not export a usable planner',
            init: 'failed in init()',
          }[message.stage];
          reject(
            fail(
              `${what}: ${message.message}`,
              message.fix ??
                (message.stage === 'import'
                  ? 'Fix the error in the module (run it with `node bin/run-ts.js FILE` to see it in full).'
                  : message.stage === 'init'
                    ? 'Fix init(); it runs once before the first plan() call.'
                    : 'Export definePlanner({ name, inputs, plan }) (or a plain { name, plan } object) as the default export.'),
            ),
          );
        }
      };
      worker.on('message', onMessage);
      worker.once('error', (error) => {
        clearTimeout(timer);
        reject(
          fail(`crashed while loading: ${describeCrash(error)}`, 'Fix the error the module raises on load.'),
        );
      });
      worker.once('exit', (code) => {
        clearTimeout(timer);
        reject(fail(`exited while loading (code ${code})`, 'Remove process.exit calls from the module.'));
      });
      worker.postMessage({ type: 'init' } satisfies HostMessage);
    });
    name = ready.planner.name;
    worker.removeAllListeners('message');
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    worker.on('message', (message: WorkerMessage) => {
      const pending = live.pending;
      if (!pending) return;
      if (message.type === 'disposed' && pending.id === -1) pending.settle(message);
      else if ((message.type === 'result' || message.type === 'error') && message.id === pending.id) {
        pending.settle(message);
      }
    });
    worker.on('error', (error) => {
      live.alive = false;
      live.pending?.settle({ type: 'crash', message: describeCrash(error) });
    });
    worker.on('exit', (code) => {
      live.alive = false;
      live.pending?.settle({ type: 'crash', message: `the worker exited (code ${code})` });
    });
    return { live, description: ready.planner, initMs: ready.initMs };
  } catch (error) {
    live.alive = false;
    await worker.terminate().catch(() => undefined);
    throw error;
  }
}
