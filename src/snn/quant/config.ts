import { z } from 'zod';
import { SpikedriveError } from '../../util/errors.ts';
import type { SnnModule } from '../layers/module.ts';
import type { StateQuantSpec } from './state.ts';
import type { ActivationQuantSpec, WeightQuantSpec } from './weight.ts';

/**
 * Per-layer quantisation, resolved. `undefined` leaves a setting as it is; `null` switches it back to float32.
 * `weights`/`activations` act on conv and linear layers, `state` on spiking neurons (SQUAT).
 */
export interface LayerQuantSpec {
  weights?: WeightQuantSpec | null;
  activations?: ActivationQuantSpec | null;
  state?: StateQuantSpec | null;
}

const bitsSchema = z.number().int().min(2).max(16);
const weightSchema = z.union([
  z.enum(['float32', 'int8', 'int4', 'int2', 'ternary']),
  z.strictObject({ bits: bitsSchema, perChannel: z.boolean().optional() }),
]);
const activationSchema = z.union([z.enum(['float32', 'int8', 'int4']), z.strictObject({ bits: bitsSchema })]);
const stateSchema = z.union([
  z.literal('float32'),
  z.strictObject({
    bits: z.number().int().min(1).max(16),
    uniform: z.boolean().optional(),
    thresholdCentered: z.boolean().optional(),
    threshold: z.number().positive().optional(),
    lowerLimit: z.number().min(0).optional(),
    upperLimit: z.number().min(0).optional(),
    multiplier: z.number().positive().optional(),
  }),
]);
const entrySchema = z.strictObject({
  weights: weightSchema.optional(),
  activations: activationSchema.optional(),
  state: stateSchema.optional(),
});

/** One entry of a user's quantisation config, as written in YAML/JSON. */
export type QuantConfigEntry = z.input<typeof entrySchema>;

/**
 * Quantisation by layer name: keys are glob patterns over checkpoint names (`*` any run of characters, dots
 * included; `?` one character), values say what to quantise. Later keys override earlier ones field by field.
 * Example: `{ 'encoder.*': { weights: 'int8' }, 'planning.*': { weights: 'ternary' } }`. `ternary` weights
 * bring 8-bit activations with them (the MatMul-free recipe) unless `activations` is given.
 */
export type QuantConfig = Record<string, QuantConfigEntry>;

function resolveEntry(entry: z.output<typeof entrySchema>): LayerQuantSpec {
  const out: LayerQuantSpec = {};
  const w = entry.weights;
  if (w !== undefined) {
    if (w === 'float32') out.weights = null;
    else if (w === 'ternary') out.weights = { scheme: 'ternary' };
    else if (typeof w === 'string')
      out.weights = { scheme: 'symmetric', bits: Number(w.slice(3)), perChannel: true };
    else out.weights = { scheme: 'symmetric', bits: w.bits, perChannel: w.perChannel ?? true };
  }
  const a = entry.activations;
  if (a !== undefined) {
    if (a === 'float32') out.activations = null;
    else if (typeof a === 'string') out.activations = { bits: Number(a.slice(3)) };
    else out.activations = { bits: a.bits };
  } else if (w === 'ternary') {
    out.activations = { bits: 8 };
  }
  const s = entry.state;
  if (s !== undefined) out.state = s === 'float32' ? null : { ...s };
  return out;
}

/** Validates a user config; errors name the offending pattern and field. */
export function parseQuantConfig(
  config: unknown,
  source = 'quantisation config',
): [RegExp, string, LayerQuantSpec][] {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new SpikedriveError(`${source} must be a mapping from layer-name patterns to settings`, {
      subject: source,
      fix: "Write e.g. { 'encoder.*': { weights: 'int8' } }.",
    });
  }
  const out: [RegExp, string, LayerQuantSpec][] = [];
  for (const [pattern, value] of Object.entries(config as Record<string, unknown>)) {
    const parsed = entrySchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
      throw new SpikedriveError(`${source} entry "${pattern}"${where} is invalid: ${issue.message}`, {
        subject: `${source}: ${pattern}`,
        fix: 'Use weights: float32|int8|int4|int2|ternary|{bits, perChannel}, activations: float32|int8|int4|{bits}, state: float32|{bits, uniform, thresholdCentered, lowerLimit, upperLimit, multiplier}.',
      });
    }
    out.push([globToRegExp(pattern), pattern, resolveEntry(parsed.data)]);
  }
  return out;
}

/** `*` → any characters (dots included), `?` → one character; everything else literal. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** What a config did to one layer. */
export interface AppliedQuant {
  name: string;
  kind: string;
  patterns: string[];
  spec: LayerQuantSpec;
}

/**
 * Applies a quantisation config to every matching layer under `root`. Returns what was applied, per layer; a
 * pattern that matches no quantisable layer is an error (usually a typo in the name).
 */
export function applyQuantConfig(
  root: SnnModule,
  config: QuantConfig | unknown,
  source?: string,
): AppliedQuant[] {
  const rules = parseQuantConfig(config, source);
  const applied: AppliedQuant[] = [];
  const used = new Set<string>();
  for (const module of root.modules()) {
    if (!isQuantisable(module)) continue;
    const merged: LayerQuantSpec = {};
    const patterns: string[] = [];
    for (const [regexp, pattern, spec] of rules) {
      if (!regexp.test(module.name)) continue;
      Object.assign(merged, spec);
      patterns.push(pattern);
      used.add(pattern);
    }
    if (patterns.length === 0) continue;
    module.applyQuant(merged);
    applied.push({ name: module.name, kind: module.kind, patterns, spec: merged });
  }
  const unused = rules.map(([, p]) => p).filter((p) => !used.has(p));
  if (unused.length > 0) {
    throw new SpikedriveError(
      `Quantisation pattern(s) ${unused.map((p) => `"${p}"`).join(', ')} match no layer`,
      {
        subject: source ?? 'quantisation config',
        fix: 'Patterns match checkpoint names such as encoder.patch_embed.downsample2.encode_conv; use * for any run of characters.',
      },
    );
  }
  return applied;
}

const QUANTISABLE_KINDS = new Set(['conv2d', 'linear', 'lif', 'if']);

function isQuantisable(module: SnnModule): boolean {
  return QUANTISABLE_KINDS.has(module.kind);
}
