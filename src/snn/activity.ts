/**
 * The activity a spiking layer records on one forward pass. `snn` layers fill these in (when
 * instrumentation is on); `energy` turns them into joules under a hardware profile; `eval` and the viewer
 * show them. Counts are totals over the whole forward (all SNN time steps, all batch items) unless a
 * field says otherwise.
 */
export interface LayerActivity {
  /** Checkpoint-style dotted name, e.g. `encoder.backbone.downsample1_a.encode_conv`. */
  name: string;
  /** The pipeline module the layer belongs to: `perception`, `prediction`, `planning`, or another name. */
  module: string;
  /** What the layer is: `conv2d`, `linear`, `lif`, `if`, `heaviside`, `batchnorm`, `pool`, `upsample`, … */
  kind: string;
  /** SNN time steps this forward covered (T for sequence repetition, frames for sequence alignment). */
  timeSteps: number;
  /** Batch items (B·S·N for the encoder, B for the decoder) this forward covered. */
  batch: number;
  /** Elements of the input tensor, over all steps and batch items. */
  inputElements: number;
  /** Non-zero input elements where the input is binary spikes; equal to inputElements for real input. */
  inputSpikes: number;
  /** Whether the input was binary spikes (counted as ACs) or real-valued (counted as MACs). */
  inputIsSpiking: boolean;
  outputElements: number;
  /** Spikes emitted (non-zero outputs) by a spiking layer; 0 for a non-spiking one. */
  outputSpikes: number;
  /** Synaptic operations: each input spike × the number of outputs it reaches (accumulates). */
  synapticOps: number;
  /** Dense multiply-accumulates where the input is real-valued. */
  denseMacs: number;
  /** The MACs the same layer would do densely (the ANN equivalent), spiking input or not. */
  equivalentMacs: number;
  /** Membrane updates (one per neuron per time step). */
  neuronUpdates: number;
  /** Bytes of parameters (weights, biases, BN statistics) read. */
  paramBytesRead: number;
  /** Bytes of neuron state (membrane potentials) read and written. */
  stateBytesRead: number;
  stateBytesWritten: number;
  /** Bits the layer's output sends onwards (spikes as bits; real values at their precision). */
  outputBits: number;
  /** Calls merged into this entry: a layer reused in one forward, or a single-step neuron run once per step. */
  calls?: number;
  /**
   * Sequence repetition: every time step saw the same input, so a dense first layer could compute once instead
   * of T times (its counts here are for all T steps, as the reference computes them).
   */
  inputRepeatedOverTime?: boolean;
}

/** Everything recorded on one forward, in execution order, plus bits crossing module boundaries. */
export interface ActivityRecord {
  layers: LayerActivity[];
  /** Bits sent from one named module to the next, keyed `from->to` (e.g. `perception->prediction`). */
  boundaryBits: Record<string, number>;
}

/** Derived firing rates of one layer. */
export function firingRates(layer: LayerActivity): { input: number; output: number } {
  return {
    input: layer.inputElements === 0 ? 0 : layer.inputSpikes / layer.inputElements,
    output: layer.outputElements === 0 ? 0 : layer.outputSpikes / layer.outputElements,
  };
}
