import type { ActivityRecord, LayerActivity } from '../snn/activity.ts';
import { SpikedriveError } from '../util/errors.ts';

/** The numeric count fields of a LayerActivity (everything but name, module, kind and the flag). */
export const COUNT_FIELDS = [
  'inputElements',
  'inputSpikes',
  'outputElements',
  'outputSpikes',
  'synapticOps',
  'denseMacs',
  'equivalentMacs',
  'neuronUpdates',
  'paramBytesRead',
  'stateBytesRead',
  'stateBytesWritten',
  'outputBits',
] as const satisfies readonly (keyof LayerActivity)[];

export type CountField = (typeof COUNT_FIELDS)[number];

/**
 * Optional fields recorders may add to a LayerActivity: `calls` (calls merged into one entry) and
 * `inputRepeatedOverTime` (every step saw the same input). Read through this type so records from
 * recorders that leave them out still type-check.
 */
export type RecordedLayer = LayerActivity & { calls?: number; inputRepeatedOverTime?: boolean };

/** The layer with its optional recorder fields visible. */
export function recorded(layer: LayerActivity): RecordedLayer {
  return layer as RecordedLayer;
}

const INSTRUMENT_FIX =
  'The activity record is malformed: check the instrumentation of the layer named (src/snn), or the file the record was read from.';

function fail(message: string, subject: string): never {
  throw new SpikedriveError(message, { fix: INSTRUMENT_FIX, subject });
}

/** Splits a boundary key `from->to`; a key without the arrow is an error naming it. */
export function parseBoundaryKey(key: string, subject = 'activity record'): { from: string; to: string } {
  const at = key.indexOf('->');
  const from = key.slice(0, at).trim();
  const to = key.slice(at + 2).trim();
  if (at < 0 || from === '' || to === '') {
    fail(`${subject}: boundaryBits key "${key}" is not of the form "from->to"`, subject);
  }
  return { from, to };
}

/**
 * Checks an ActivityRecord before any energy is computed from it: every count a finite non-negative
 * number, names present, spikes no more than elements, boundary keys `from->to`. Errors name the layer
 * (by index and name) and the field.
 */
export function validateActivityRecord(record: ActivityRecord, subject = 'activity record'): void {
  if (record === null || typeof record !== 'object' || !Array.isArray(record.layers)) {
    fail(`${subject} has no layers array`, subject);
  }
  record.layers.forEach((layer, index) => {
    const where = `${subject}, layer ${index} (${typeof layer?.name === 'string' ? layer.name : '?'})`;
    if (layer === null || typeof layer !== 'object') fail(`${where} is not an object`, subject);
    for (const key of ['name', 'module', 'kind'] as const) {
      if (typeof layer[key] !== 'string' || layer[key] === '') fail(`${where}: ${key} is missing`, subject);
    }
    if (typeof layer.inputIsSpiking !== 'boolean') fail(`${where}: inputIsSpiking is not a boolean`, subject);
    for (const key of ['timeSteps', 'batch'] as const) {
      const v = layer[key];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
        fail(`${where}: ${key} is ${String(v)}, expected a positive integer`, subject);
      }
    }
    for (const key of COUNT_FIELDS) {
      const v = layer[key];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        fail(`${where}: ${key} is ${String(v)}, expected a finite number ≥ 0`, subject);
      }
    }
    const { calls, inputRepeatedOverTime } = recorded(layer);
    if (calls !== undefined && !(Number.isInteger(calls) && calls >= 1)) {
      fail(`${where}: calls is ${String(calls)}, expected a positive integer`, subject);
    }
    if (inputRepeatedOverTime !== undefined && typeof inputRepeatedOverTime !== 'boolean') {
      fail(`${where}: inputRepeatedOverTime is not a boolean`, subject);
    }
    if (layer.inputSpikes > layer.inputElements) {
      fail(
        `${where}: inputSpikes ${layer.inputSpikes} exceeds inputElements ${layer.inputElements}`,
        subject,
      );
    }
    if (layer.outputSpikes > layer.outputElements) {
      fail(
        `${where}: outputSpikes ${layer.outputSpikes} exceeds outputElements ${layer.outputElements}`,
        subject,
      );
    }
  });
  if (record.boundaryBits === null || typeof record.boundaryBits !== 'object') {
    fail(`${subject} has no boundaryBits object`, subject);
  }
  for (const [key, bits] of Object.entries(record.boundaryBits)) {
    parseBoundaryKey(key, subject);
    if (typeof bits !== 'number' || !Number.isFinite(bits) || bits < 0) {
      fail(`${subject}: boundaryBits["${key}"] is ${String(bits)}, expected a finite number ≥ 0`, subject);
    }
  }
}

/**
 * Adds records of several forwards (e.g. every sample of an evaluation) into one, so energy per frame
 * is the sum divided by the number of frames. Layers are matched by module, name and occurrence (a
 * layer called twice in one forward appears twice); a layer missing from some records still counts.
 * Unlike a plain field-by-field sum, `timeSteps` stays the steps of one forward, which the sad-paper
 * method's ÷T and the ANN equivalent of repeated-input layers rely on.
 */
export function sumActivityRecords(records: readonly ActivityRecord[]): ActivityRecord {
  if (records.length === 0) {
    throw new SpikedriveError('no activity records to add up', {
      fix: 'Run at least one forward with instrumentation on before computing energy.',
    });
  }
  const byKey = new Map<string, LayerActivity>();
  const boundaryBits: Record<string, number> = {};
  records.forEach((record, r) => {
    validateActivityRecord(record, `activity record ${r}`);
    const seen = new Map<string, number>();
    for (const layer of record.layers) {
      const base = `${layer.module}\u0000${layer.name}`;
      const occurrence = seen.get(base) ?? 0;
      seen.set(base, occurrence + 1);
      const key = `${base}\u0000${occurrence}`;
      const sum = byKey.get(key);
      if (sum === undefined) {
        byKey.set(key, { ...layer });
        continue;
      }
      if (sum.kind !== layer.kind) {
        fail(
          `activity record ${r}: layer ${layer.name} is ${layer.kind} but ${sum.kind} in an earlier record`,
          `activity record ${r}`,
        );
      }
      // Spiking input is read from the values (all non-zero inputs are 1): an all-zero input looks spiking, a
      // real-valued one does not, so one layer may differ between frames. Each record already split its
      // operations into SOPs and MACs; the sum is spiking only if every record was (as within one record).
      sum.inputIsSpiking = sum.inputIsSpiking && layer.inputIsSpiking;
      for (const field of COUNT_FIELDS) sum[field] += layer[field];
      // Steps and batch describe one forward; keep the largest seen so ÷T stays per forward.
      sum.timeSteps = Math.max(sum.timeSteps, layer.timeSteps);
      sum.batch = Math.max(sum.batch, layer.batch);
      const [into, from] = [recorded(sum), recorded(layer)];
      if (into.calls !== undefined || from.calls !== undefined)
        into.calls = (into.calls ?? 1) + (from.calls ?? 1);
      if (into.inputRepeatedOverTime !== undefined || from.inputRepeatedOverTime !== undefined) {
        into.inputRepeatedOverTime =
          into.inputRepeatedOverTime === true && from.inputRepeatedOverTime === true;
      }
    }
    for (const [link, bits] of Object.entries(record.boundaryBits)) {
      boundaryBits[link] = (boundaryBits[link] ?? 0) + bits;
    }
  });
  return { layers: [...byKey.values()], boundaryBits };
}
