import type { NirNodeType } from './types.ts';

/**
 * The on-disk field sets of each NIR node type, as `nir.read` builds nodes: `hdf2dict` turns every dataset of a
 * node group into a keyword argument and `cls(**kwargs)` (after the type's `from_dict`) rejects any name its
 * dataclass does not declare. `required`: declared without a default (absent → TypeError); `optional`: declared
 * with a default, or filled in by `from_dict`; `ignored`: accepted and then overwritten by `__post_init__`
 * (input/output types). `written` is what `to_dict()` (and our writer) puts in the file. Read from neuromorphs/NIR
 * 7232ada `nir/ir/*.py`.
 */
export interface NirFieldSet {
  required: readonly string[];
  optional: readonly string[];
  ignored: readonly string[];
}

const IO = ['input_type', 'output_type'] as const;

export const NIR_FIELDS: Readonly<Record<NirNodeType, NirFieldSet>> = {
  Input: { required: ['shape'], optional: ['metadata'], ignored: ['input_type'] },
  Output: { required: ['shape'], optional: ['metadata'], ignored: ['output_type'] },
  Affine: { required: ['weight', 'bias'], optional: ['metadata'], ignored: IO },
  Linear: { required: ['weight'], optional: ['metadata'], ignored: [] },
  Scale: { required: ['scale'], optional: ['metadata'], ignored: [] },
  Conv1d: {
    required: ['input_shape', 'weight', 'stride', 'padding', 'dilation', 'groups', 'bias'],
    optional: ['metadata'],
    ignored: IO,
  },
  // Conv2d declares no input_type/output_type fields, unlike Conv1d.
  Conv2d: {
    required: ['input_shape', 'weight', 'stride', 'padding', 'dilation', 'groups', 'bias'],
    optional: ['metadata'],
    ignored: [],
  },
  SumPool2d: { required: ['kernel_size', 'stride', 'padding'], optional: ['metadata'], ignored: IO },
  AvgPool2d: { required: ['kernel_size', 'stride', 'padding'], optional: ['metadata'], ignored: [] },
  // Flatten's from_dict fills input_type (None when absent); start/end dims default to 1 and -1.
  Flatten: {
    required: [],
    optional: ['input_type', 'start_dim', 'end_dim', 'metadata'],
    ignored: ['output_type'],
  },
  Delay: { required: ['delay'], optional: ['metadata'], ignored: IO },
  Threshold: { required: ['threshold'], optional: ['metadata'], ignored: IO },
  I: { required: ['r'], optional: ['metadata'], ignored: IO },
  IF: { required: ['r', 'v_threshold'], optional: ['v_reset', 'metadata'], ignored: IO },
  LI: { required: ['tau', 'r', 'v_leak'], optional: ['metadata'], ignored: IO },
  LIF: {
    required: ['tau', 'r', 'v_leak', 'v_threshold'],
    optional: ['v_reset', 'metadata'],
    ignored: IO,
  },
  CubaLI: {
    required: ['tau_syn', 'tau_mem', 'r', 'v_leak'],
    optional: ['w_in', 'metadata'],
    ignored: IO,
  },
  CubaLIF: {
    required: ['tau_syn', 'tau_mem', 'r', 'v_leak', 'v_threshold'],
    optional: ['v_reset', 'w_in', 'metadata'],
    ignored: IO,
  },
  NIRGraph: { required: ['nodes', 'edges'], optional: ['metadata'], ignored: [...IO, 'type_check'] },
};

/** Fields of each neuron type that must all have one shape (the node's input and output shape). */
export const NEURON_PARAMS: Partial<Record<NirNodeType, readonly string[]>> = {
  I: ['r'],
  IF: ['r', 'v_threshold', 'v_reset'],
  LI: ['tau', 'r', 'v_leak'],
  LIF: ['tau', 'r', 'v_leak', 'v_threshold', 'v_reset'],
  CubaLI: ['tau_syn', 'tau_mem', 'r', 'v_leak'],
  CubaLIF: ['tau_syn', 'tau_mem', 'r', 'v_leak', 'v_threshold', 'v_reset'],
};

/** Every name `nir.read` accepts in a node group of this type (plus `type` itself). */
export function acceptedFields(type: NirNodeType): Set<string> {
  const f = NIR_FIELDS[type];
  return new Set(['type', ...f.required, ...f.optional, ...f.ignored]);
}
