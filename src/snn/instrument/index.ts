// Per-layer activity counting (spikes, synaptic ops, MACs, neuron updates, memory traffic, bits). Roll-ups per
// layer, module and block live in src/energy (`rollUpActivity`, `sumActivityRecords`), which reads these records.
export {
  type ActivityReport,
  FLOAT_BITS,
  Instrument,
  type InstrumentOptions,
  maybeRecord,
} from './recorder.ts';
