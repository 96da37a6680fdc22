// Per-layer activity counting (spikes, synaptic ops, MACs, neuron updates, memory traffic, bits) and roll-ups.
export {
  type ActivityReport,
  FLOAT_BITS,
  Instrument,
  type InstrumentOptions,
  maybeRecord,
} from './recorder.ts';
export {
  type ActivityRollUp,
  type ActivityTotals,
  accumulateActivity,
  emptyTotals,
  isSpikingLayer,
  rollUpActivity,
  rollUpPrefix,
} from './rollup.ts';
