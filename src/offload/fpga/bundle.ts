import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { SpikedriveError } from '../../util/errors.ts';
import { writeFileAtomic, writeJsonAtomic } from '../../util/fs.ts';
import type { FixedModel, FixedPopulation, FixedProjection } from './model.ts';

/**
 * The FPGA weight bundle: one little-endian binary blob plus a JSON manifest that says where every array is and
 * how to read it. Arrays start on 16-byte boundaries. Weights are int8 (2–8-bit symmetric codes stored one per
 * byte) or packed ternary (2 bits each, four per byte, first weight in the low bits; 00 = 0, 01 = +1, 11 = −1);
 * biases, thresholds, resets and requantisation multipliers are int32; scales float32.
 */

export const FPGA_MANIFEST_VERSION = 1;

export interface BlobRef {
  offset: number;
  bytes: number;
  dtype: 'int8' | 'ternary2' | 'int32' | 'float32';
  shape: number[];
}

export interface ManifestProjection {
  source: string;
  sourceSpiking: boolean;
  via: string | null;
  path: string[];
  kind: 'conv2d' | 'dense' | 'one-to-one';
  conv?: {
    inChannels: number;
    outChannels: number;
    kernel: [number, number];
    stride: [number, number];
    padding: [number, number];
    dilation: [number, number];
    inputSize: [number, number];
    outputSize: [number, number];
  };
  dense?: { inFeatures: number; outFeatures: number };
  weights?: BlobRef;
  requant?: { multipliers: BlobRef; shift: number };
}

export interface ManifestPopulation {
  name: string;
  type: FixedPopulation['type'];
  shape: number[];
  neurons: number;
  stateBits: number;
  firing: 'geq' | 'gt';
  reset: 'hard' | 'subtract';
  leak: FixedPopulation['leak'];
  scale: BlobRef;
  bias: BlobRef;
  threshold: BlobRef;
  vReset: BlobRef;
  projections: ManifestProjection[];
}

export interface FpgaManifest {
  format: 'spikedrive-fpga';
  version: number;
  /** The binary file, relative to the manifest. */
  blob: string;
  blobBytes: number;
  sha256: string;
  weights: { scheme: 'symmetric' | 'ternary'; bits: number };
  stateBits: number;
  inputs: { name: string; shape: number[]; scale: number; dtype: 'int8' }[];
  outputs: { name: string; source: string }[];
  populations: ManifestPopulation[];
  totals: { weightBytes: number; weights: number; neurons: number; populations: number };
  notes: string[];
}

class BlobWriter {
  private parts: Uint8Array[] = [];
  private size = 0;

  add(data: Uint8Array, dtype: BlobRef['dtype'], shape: number[]): BlobRef {
    const pad = (16 - (this.size % 16)) % 16;
    if (pad > 0) {
      this.parts.push(new Uint8Array(pad));
      this.size += pad;
    }
    const ref: BlobRef = { offset: this.size, bytes: data.byteLength, dtype, shape };
    this.parts.push(data);
    this.size += data.byteLength;
    return ref;
  }

  int32(values: Int32Array, shape: number[]): BlobRef {
    const out = new Uint8Array(values.length * 4);
    const view = new DataView(out.buffer);
    for (let i = 0; i < values.length; i++) view.setInt32(i * 4, values[i], true);
    return this.add(out, 'int32', shape);
  }

  float32(values: Float32Array, shape: number[]): BlobRef {
    const out = new Uint8Array(values.length * 4);
    const view = new DataView(out.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
    return this.add(out, 'float32', shape);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}

/** Packs ternary codes four per byte (2 bits each, low bits first): 0 → 00, +1 → 01, −1 → 11. */
export function packTernary(values: Int8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 4));
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < -1 || v > 1) {
      throw new SpikedriveError(`ternary weight ${v} at ${i} is not in {−1, 0, +1}`, {
        subject: 'packTernary',
        fix: 'Quantise with the ternary scheme first.',
      });
    }
    const code = v === 0 ? 0 : v === 1 ? 1 : 3;
    out[i >> 2] |= code << ((i & 3) * 2);
  }
  return out;
}

export function unpackTernary(bytes: Uint8Array, count: number): Int8Array {
  const out = new Int8Array(count);
  for (let i = 0; i < count; i++) {
    const code = (bytes[i >> 2] >> ((i & 3) * 2)) & 3;
    out[i] = code === 0 ? 0 : code === 1 ? 1 : code === 3 ? -1 : 0;
  }
  return out;
}

function projectionEntry(p: FixedProjection, blob: BlobWriter, ternary: boolean): ManifestProjection {
  const entry: ManifestProjection = {
    source: p.source,
    sourceSpiking: p.sourceSpiking,
    via: p.via,
    path: p.path,
    kind: p.conv !== null ? 'conv2d' : p.dense !== null ? 'dense' : 'one-to-one',
  };
  if (p.conv !== null) {
    const c = p.conv;
    entry.conv = {
      inChannels: c.inChannels,
      outChannels: c.outChannels,
      kernel: c.kernel,
      stride: c.stride,
      padding: c.padding,
      dilation: c.dilation,
      inputSize: c.inputSize,
      outputSize: c.outputSize,
    };
  }
  if (p.dense !== null) entry.dense = p.dense;
  if (p.weights !== null) {
    const shape =
      p.conv !== null
        ? [p.conv.outChannels, p.conv.inChannels, ...p.conv.kernel]
        : [p.dense?.outFeatures ?? 0, p.dense?.inFeatures ?? 0];
    entry.weights = ternary
      ? blob.add(packTernary(p.weights), 'ternary2', shape)
      : blob.add(new Uint8Array(p.weights.buffer, p.weights.byteOffset, p.weights.byteLength), 'int8', shape);
  }
  if (p.requant !== null)
    entry.requant = {
      multipliers: blob.int32(p.requant.multipliers, [p.requant.multipliers.length]),
      shift: p.requant.shift,
    };
  return entry;
}

/** The manifest and blob of a fixed-point model. */
export function fpgaBundle(
  model: FixedModel,
  blobName: string,
): { manifest: FpgaManifest; blob: Uint8Array } {
  const blob = new BlobWriter();
  const ternary = model.scheme.kind === 'ternary';
  const populations: ManifestPopulation[] = model.populations.map((p) => ({
    name: p.name,
    type: p.type,
    shape: p.shape,
    neurons: p.neurons,
    stateBits: p.stateBits,
    firing: p.firing,
    reset: p.reset,
    leak: p.leak,
    scale: blob.float32(p.scale, [p.channels]),
    bias: blob.int32(p.bias, [p.channels]),
    threshold: blob.int32(p.threshold, [p.channels]),
    vReset: blob.int32(p.vReset, [p.channels]),
    projections: p.projections.map((q) => projectionEntry(q, blob, ternary)),
  }));
  const bytes = blob.finish();
  const weights = model.populations.reduce(
    (s, p) => s + p.projections.reduce((t, q) => t + (q.weights?.length ?? 0), 0),
    0,
  );
  const weightBytes = populations.reduce(
    (s, p) => s + p.projections.reduce((t, q) => t + (q.weights?.bytes ?? 0), 0),
    0,
  );
  return {
    manifest: {
      format: 'spikedrive-fpga',
      version: FPGA_MANIFEST_VERSION,
      blob: blobName,
      blobBytes: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      weights: {
        scheme: ternary ? 'ternary' : 'symmetric',
        bits: ternary ? 2 : (model.scheme as { bits: number }).bits,
      },
      stateBits: model.stateBits,
      inputs: model.inputs.map((i) => ({ name: i.name, shape: i.shape, scale: i.scale, dtype: 'int8' })),
      outputs: model.outputs,
      populations,
      totals: {
        weightBytes,
        weights,
        neurons: model.populations.reduce((s, p) => s + p.neurons, 0),
        populations: populations.length,
      },
      notes: [
        'Membrane of population P in units of scale[c] per output channel; weights quantised at the same scale.',
        'Real-valued inputs: x_int = clamp(round(x / scale), −128, 127); graded projections add (acc·m + 2^(k−1)) ≫ k.',
        'LIF: H = V + ((X − V + V_reset) ≫ shift) (or ·multiplier ≫ 16); fire when H ≥ θ (firing "geq") or H > θ; saturate to stateBits.',
        'Conv weights are OIHW, dense weights [out, in]; NIR shapes are channels first.',
      ],
    },
    blob: bytes,
  };
}

/** Writes `<path>.json` and `<path>.bin` (atomically, the blob first). */
export async function writeFpgaBundle(path: string, model: FixedModel): Promise<FpgaManifest> {
  const base = path.replace(/\.(json|bin)$/i, '');
  const blobName = `${base.split('/').pop()}.bin`;
  const { manifest, blob } = fpgaBundle(model, blobName);
  await writeFileAtomic(`${base}.bin`, blob);
  await writeJsonAtomic(`${base}.json`, manifest);
  return manifest;
}

/** Reads a bundle back and checks the blob against the manifest's size and SHA-256. */
export async function readFpgaBundle(
  manifestPath: string,
): Promise<{ manifest: FpgaManifest; blob: Uint8Array }> {
  let manifest: FpgaManifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as FpgaManifest;
  } catch (error) {
    throw new SpikedriveError(`Cannot read FPGA manifest ${manifestPath}: ${(error as Error).message}`, {
      subject: manifestPath,
      fix: 'Pass the .json written by `spikedrive export fpga`.',
      cause: error,
    });
  }
  if (manifest.format !== 'spikedrive-fpga' || manifest.version !== FPGA_MANIFEST_VERSION) {
    throw new SpikedriveError(
      `${manifestPath} is not a version ${FPGA_MANIFEST_VERSION} spikedrive FPGA manifest`,
      {
        subject: manifestPath,
        fix: 'Re-export with this version of spikedrive.',
      },
    );
  }
  const blobPath = manifestPath.replace(/[^/]*$/, manifest.blob);
  const blob = new Uint8Array(await readFile(blobPath));
  const sha = createHash('sha256').update(blob).digest('hex');
  if (blob.byteLength !== manifest.blobBytes || sha !== manifest.sha256) {
    throw new SpikedriveError(`${blobPath} does not match its manifest (size or SHA-256 differs)`, {
      subject: blobPath,
      fix: 'The weight file was changed or truncated; re-export the bundle.',
    });
  }
  return { manifest, blob };
}

/** Reads one array of a bundle. */
export function blobArray(blob: Uint8Array, ref: BlobRef): Int8Array | Int32Array | Float32Array {
  const view = new DataView(blob.buffer, blob.byteOffset + ref.offset, ref.bytes);
  const count = ref.shape.reduce((a, b) => a * b, 1);
  if (ref.dtype === 'int8')
    return new Int8Array(
      blob.buffer.slice(blob.byteOffset + ref.offset, blob.byteOffset + ref.offset + ref.bytes),
    );
  if (ref.dtype === 'ternary2')
    return unpackTernary(blob.subarray(ref.offset, ref.offset + ref.bytes), count);
  if (ref.dtype === 'int32') return Int32Array.from({ length: count }, (_, i) => view.getInt32(i * 4, true));
  return Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true));
}
