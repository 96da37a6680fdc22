import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
import type { Instrument } from '../instrument/recorder.ts';
import type { LayerQuantSpec } from '../quant/config.ts';
import { hwioToOihw, ioToLinear, linearToIo, oihwToHwio } from './layout.ts';

/** What a forward pass may carry besides tensors. Everything is optional; `{}` is plain inference. */
export interface ForwardContext {
  /** Records per-layer activity when present; absent means no counting work at all. */
  instrument?: Instrument | null;
}

/**
 * How a parameter is stored here versus in a PyTorch checkpoint. `conv-hwio`: kept HWIO for tfjs, OIHW in the
 * checkpoint; `linear-io`: kept [in, out], [out, in] in the checkpoint; `plain`: the same in both.
 */
export type ParamLayout = 'plain' | 'conv-hwio' | 'linear-io';

/** One tensor of a checkpoint in PyTorch layout. */
export interface StateTensor {
  shape: number[];
  dtype: 'float32' | 'int64';
  data: Float32Array | BigInt64Array;
}

/** A parameter or buffer as a checkpoint names it. */
export interface ParameterInfo {
  /** Full dotted name, e.g. `encoder.patch_embed.downsample1_1.encode_conv.weight`. */
  name: string;
  /** Shape in PyTorch layout (OIHW for conv weights); [] for a scalar. */
  shape: number[];
  dtype: 'float32' | 'int64';
  /** Learned by the optimiser (weights, biases) rather than tracked (running statistics, counters). */
  trainable: boolean;
}

export interface LoadReport {
  loaded: string[];
  /** Names this module expects that the checkpoint lacks. */
  missing: string[];
  /** Names in the checkpoint that no parameter here claims. */
  unexpected: string[];
}

interface ParamEntry {
  variable: tf.Variable;
  layout: ParamLayout;
  trainable: boolean;
}

function toTorch(t: tf.Tensor, layout: ParamLayout): tf.Tensor {
  if (layout === 'conv-hwio') return hwioToOihw(t);
  if (layout === 'linear-io') return ioToLinear(t);
  return t.clone();
}

function fromTorch(t: tf.Tensor, layout: ParamLayout): tf.Tensor {
  if (layout === 'conv-hwio') return oihwToHwio(t);
  if (layout === 'linear-io') return linearToIo(t);
  return t.clone();
}

function torchShape(shape: number[], layout: ParamLayout): number[] {
  if (layout === 'conv-hwio') return [shape[3], shape[2], shape[0], shape[1]];
  if (layout === 'linear-io') return [shape[1], shape[0]];
  return [...shape];
}

function joinName(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}.${key}`;
}

/**
 * A named layer in the tfjs-layers spirit: built once with explicit child names that match the reference
 * checkpoint, called many times. It owns its parameters (tf.Variables) and any neuron state, which `reset()`
 * clears. Layers start in eval mode (running BN statistics, no dropout); `train()` switches the whole subtree.
 */
export abstract class SnnModule {
  /** What the layer is (`conv2d`, `lif`, `ms_conv_block`, …); instrumentation reports it for leaf layers. */
  abstract readonly kind: string;
  /** Whether the layer is in training mode (batch statistics, dropout). */
  training = false;
  /** Bumped whenever parameters are replaced or the mode changes, so caches (folded BN) know to rebuild. */
  version = 0;
  private path = '';
  private owner = 'unassigned';
  private readonly childModules = new Map<string, SnnModule>();
  private readonly paramEntries = new Map<string, ParamEntry>();
  private readonly counterEntries = new Map<string, number>();

  /** Full dotted checkpoint name of this layer ('' for an unnamed root). */
  get name(): string {
    return this.path;
  }

  /** The pipeline module (`perception`, `prediction`, `planning`, …) that activity is rolled up under. */
  get pipelineModule(): string {
    return this.owner;
  }

  /** Registers a child under `key` (which may contain dots, e.g. `conv1.0.0`) and names it. */
  protected register<M extends SnnModule>(key: string, child: M): M {
    if (this.childModules.has(key) || this.paramEntries.has(key)) {
      throw new SpikedriveError(`Layer ${joinName(this.path, key)} is registered twice`, {
        subject: joinName(this.path, key),
        fix: 'Give each child layer a distinct name.',
      });
    }
    this.childModules.set(key, child);
    child.setPath(joinName(this.path, key));
    // A parent without a module yet leaves the child's own assignment alone.
    if (this.owner !== 'unassigned') child.setPipelineModule(this.owner);
    return child;
  }

  /** Adds a parameter (`trainable`) or a float buffer such as `running_mean` (not trainable). */
  protected addParam(key: string, initial: tf.Tensor, layout: ParamLayout, trainable: boolean): tf.Variable {
    const variable = tf.variable(initial, trainable);
    initial.dispose();
    this.paramEntries.set(key, { variable, layout, trainable });
    return variable;
  }

  /** Adds an int64 counter buffer such as `num_batches_tracked`. */
  protected addCounter(key: string, initial = 0): void {
    this.counterEntries.set(key, initial);
  }

  protected getCounter(key: string): number {
    return this.counterEntries.get(key) ?? 0;
  }

  protected setCounter(key: string, value: number): void {
    this.counterEntries.set(key, value);
  }

  /** Renames this layer and all below it (a parent built after its children calls this). */
  setPath(path: string): void {
    this.path = path;
    for (const [key, child] of this.childModules) child.setPath(joinName(path, key));
  }

  /** Sets the pipeline module name for this layer and all below it. */
  setPipelineModule(name: string): this {
    this.owner = name;
    for (const child of this.childModules.values()) child.setPipelineModule(name);
    return this;
  }

  /** Training mode on (or off) for the whole subtree. */
  train(on = true): this {
    this.training = on;
    this.version++;
    for (const child of this.childModules.values()) child.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Clears neuron state (membranes) in the whole subtree, as SpikingJelly's `functional.reset_net`. */
  reset(): void {
    this.resetState();
    for (const child of this.childModules.values()) child.reset();
  }

  /** Layers with state override this to dispose it. */
  protected resetState(): void {}

  /** Direct children with their keys. */
  children(): [string, SnnModule][] {
    return [...this.childModules.entries()];
  }

  /** This layer and all below it, depth first, in registration order. */
  modules(): SnnModule[] {
    const out: SnnModule[] = [this];
    for (const child of this.childModules.values()) out.push(...child.modules());
    return out;
  }

  /** Applies a per-layer quantisation spec; layers that can be quantised override this. */
  applyQuant(_spec: LayerQuantSpec): void {}

  /** Parameters and buffers of the subtree under their checkpoint names, in registration order. */
  namedParameters(): ParameterInfo[] {
    const out: ParameterInfo[] = [];
    for (const module of this.modules()) {
      for (const [key, entry] of module.paramEntries) {
        out.push({
          name: joinName(module.path, key),
          shape: torchShape(entry.variable.shape, entry.layout),
          dtype: 'float32',
          trainable: entry.trainable,
        });
      }
      for (const key of module.counterEntries.keys()) {
        out.push({ name: joinName(module.path, key), shape: [], dtype: 'int64', trainable: false });
      }
    }
    return out;
  }

  /** The tf.Variables an optimiser should update. */
  trainableVariables(): tf.Variable[] {
    const out: tf.Variable[] = [];
    for (const module of this.modules()) {
      for (const entry of module.paramEntries.values()) if (entry.trainable) out.push(entry.variable);
    }
    return out;
  }

  /** Total parameter count (trainable and buffers, float only). */
  parameterCount(): number {
    return this.namedParameters()
      .filter((p) => p.dtype === 'float32')
      .reduce((sum, p) => sum + p.shape.reduce((a, b) => a * b, 1), 0);
  }

  /** Every parameter and buffer in PyTorch layout, keyed by checkpoint name (reads tensors synchronously). */
  stateDict(): Map<string, StateTensor> {
    const out = new Map<string, StateTensor>();
    for (const module of this.modules()) {
      for (const [key, entry] of module.paramEntries) {
        const torch = toTorch(entry.variable, entry.layout);
        out.set(joinName(module.path, key), {
          shape: [...torch.shape],
          dtype: 'float32',
          data: torch.dataSync() as Float32Array,
        });
        torch.dispose();
      }
      for (const [key, value] of module.counterEntries) {
        out.set(joinName(module.path, key), {
          shape: [],
          dtype: 'int64',
          data: BigInt64Array.of(BigInt(value)),
        });
      }
    }
    return out;
  }

  /**
   * Loads PyTorch-layout tensors by checkpoint name. Every shape is checked before anything is assigned, so a bad
   * checkpoint leaves the layer unchanged. `strict` (default) rejects missing names; unexpected names are reported
   * (a full-model checkpoint holds other modules' tensors too).
   */
  loadStateDict(
    entries: Map<string, StateTensor> | Record<string, StateTensor>,
    options: { strict?: boolean; source?: string } = {},
  ): LoadReport {
    const strict = options.strict ?? true;
    const source = options.source ?? 'checkpoint';
    const map = entries instanceof Map ? entries : new Map(Object.entries(entries));
    const plan: (() => void)[] = [];
    const loaded: string[] = [];
    const missing: string[] = [];
    const claimed = new Set<string>();
    for (const module of this.modules()) {
      for (const [key, entry] of module.paramEntries) {
        const name = joinName(module.path, key);
        const tensor = map.get(name);
        if (tensor === undefined) {
          missing.push(name);
          continue;
        }
        claimed.add(name);
        const expected = torchShape(entry.variable.shape, entry.layout);
        const size = expected.reduce((a, b) => a * b, 1);
        const sameShape =
          tensor.shape.length === expected.length && tensor.shape.every((d, i) => d === expected[i]);
        if (!sameShape || tensor.data.length !== size) {
          throw new SpikedriveError(
            `Tensor ${name} in ${source} has shape [${tensor.shape.join(', ')}] but the layer needs [${expected.join(', ')}]`,
            {
              subject: name,
              fix: 'Use a checkpoint trained with the same configuration (channels, kernel sizes) as this model.',
            },
          );
        }
        if (tensor.dtype !== 'float32' || !(tensor.data instanceof Float32Array)) {
          throw new SpikedriveError(`Tensor ${name} in ${source} is ${tensor.dtype}, expected float32`, {
            subject: name,
            fix: 'Convert the checkpoint tensors to float32 before loading.',
          });
        }
        const data = tensor.data;
        plan.push(() => {
          tf.tidy(() => entry.variable.assign(fromTorch(tf.tensor(data, expected, 'float32'), entry.layout)));
        });
        loaded.push(name);
      }
      for (const key of module.counterEntries.keys()) {
        const name = joinName(module.path, key);
        const tensor = map.get(name);
        if (tensor === undefined) {
          missing.push(name);
          continue;
        }
        claimed.add(name);
        const value = tensor.data[0];
        plan.push(() => module.counterEntries.set(key, Number(value)));
        loaded.push(name);
      }
    }
    if (strict && missing.length > 0) {
      throw new SpikedriveError(
        `${source} lacks ${missing.length} tensor(s) this model needs, e.g. ${missing.slice(0, 3).join(', ')}`,
        {
          subject: missing[0],
          fix: 'Check the checkpoint belongs to this model and stage, or load with strict: false (missing tensors keep their initial values).',
        },
      );
    }
    for (const step of plan) step();
    for (const module of this.modules()) module.version++;
    const unexpected = [...map.keys()].filter((name) => !claimed.has(name));
    return { loaded, missing, unexpected };
  }

  /** Frees every parameter and neuron state of the subtree. The layer is unusable afterwards. */
  dispose(): void {
    this.reset();
    this.disposeCaches();
    for (const module of this.modules()) {
      if (module !== this) module.disposeCaches();
      for (const entry of module.paramEntries.values()) entry.variable.dispose();
      module.paramEntries.clear();
    }
  }

  /** Layers that cache derived tensors (e.g. folded BN weights) override this. */
  protected disposeCaches(): void {}
}

/** Reads the element count of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
