// Messages between the plugin host (main thread) and the planner worker. Plain data only: everything crosses the
// thread boundary by structured clone.
import type { HostObservation, PlannerContextInit, PlannerInputName } from '../planner.ts';

/** Why a plan call produced no trajectory. */
export type PlanFailureKind =
  /** `plan` (or a promise it returned) threw or rejected. */
  | 'threw'
  /** No answer within the per-call limit; the worker was stopped and is restarted for the next call. */
  | 'timeout'
  /** The answer is not F waypoints of three finite numbers (or cannot be sent between threads). */
  | 'malformed'
  /** The worker died during the call (process.exit, an uncaught error in a callback, out of memory). */
  | 'crashed'
  /** The run does not provide an input the planner declared. */
  | 'missing-input'
  /** The worker could not be (re)started, or the plugin's `init` failed on a restart. */
  | 'unavailable';

export interface WorkerData {
  /** Absolute path of the plugin module. */
  modulePath: string;
  context: PlannerContextInit;
}

export type HostMessage =
  | { type: 'init' }
  | { type: 'plan'; id: number; observation: HostObservation }
  | { type: 'dispose' };

export interface PlannerDescription {
  name: string;
  version?: string;
  description?: string;
  /** Declared inputs; null for a plain object without `inputs` (it receives every input the run has). */
  inputs: PlannerInputName[] | null;
  apiVersion: number;
}

export type WorkerMessage =
  | { type: 'ready'; planner: PlannerDescription; initMs: number }
  | {
      type: 'init-failed';
      stage: 'import' | 'validate' | 'init';
      message: string;
      fix?: string;
      stack?: string;
    }
  | { type: 'result'; id: number; result: unknown; planMs: number }
  | {
      type: 'error';
      id: number;
      kind: Exclude<PlanFailureKind, 'timeout' | 'crashed' | 'unavailable'>;
      message: string;
      stack?: string;
      planMs: number;
    }
  | { type: 'disposed'; error?: string };
