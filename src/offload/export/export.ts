import type { SnnModule } from '../../snn/index.ts';
import { SpikedriveError } from '../../util/errors.ts';
import type { NirGraph, NirMetadata } from '../nir/types.ts';
import { trace } from './layers.ts';
import { type BoundaryEntry, NirTracer, type PartitionEntry, type Sym } from './tracer.ts';

export interface NirExportOptions {
  /** Seconds per SNN step for the τ/R conversion (default 1e-4, as snnTorch, SpikingJelly and Lava). */
  dt?: number;
  /** NIR shapes of the module's inputs per sample and step ([C, H, W] for feature maps). */
  inputShapes: number[][];
  /** Whether each input carries binary spikes (for boundary sizes). Default false (real values). */
  inputSpiking?: boolean[];
  /** Input node names (default `input`, `input_1`, …). */
  inputNames?: string[];
  /** Output node name (default `output`). */
  outputName?: string;
  /** Extra graph metadata (model, checkpoint, config hash). */
  metadata?: NirMetadata;
}

export interface PartitionSummary {
  nirLayers: number;
  hostLayers: number;
  /** Float parameters placed on NIR (folded BN counted with its conv) and on the host. */
  nirParams: number;
  hostParams: number;
  /** Bits crossing between host and NIR per sample and SNN step (spikes 1 bit, real values 32 bits). */
  boundaryBitsPerStep: number;
  nirNodes: number;
  nirEdges: number;
}

export interface PartitionReport {
  module: string;
  dt: number;
  entries: PartitionEntry[];
  boundaries: BoundaryEntry[];
  summary: PartitionSummary;
}

export interface NirExport {
  graph: NirGraph;
  partition: PartitionReport;
}

/** Summary counts of a partition. */
export function summarisePartition(
  entries: PartitionEntry[],
  boundaries: BoundaryEntry[],
  graph: NirGraph,
): PartitionSummary {
  return {
    nirLayers: entries.filter((e) => e.placement === 'nir').length,
    hostLayers: entries.filter((e) => e.placement === 'host').length,
    nirParams: entries.filter((e) => e.placement === 'nir').reduce((s, e) => s + e.params, 0),
    hostParams: entries.filter((e) => e.placement === 'host').reduce((s, e) => s + e.params, 0),
    boundaryBitsPerStep: boundaries.reduce((s, b) => s + b.elements * (b.spiking ? 1 : 32), 0),
    nirNodes: graph.nodes.size,
    nirEdges: graph.edges.length,
  };
}

/**
 * Exports a spiking module (any `src/snn` block, or a stage whose kind has a registered handler) as a NIR graph
 * with BN folded into the convolutions and neurons converted at `dt`, plus the partition report: each layer as
 * NIR-expressible or host-only with the reason, and every host↔NIR crossing with its size.
 */
export function exportToNir(module: SnnModule, options: NirExportOptions): NirExport {
  const dt = options.dt ?? 1e-4;
  if (options.inputShapes.length === 0) {
    throw new SpikedriveError('exportToNir needs the shape of at least one input', {
      subject: 'inputShapes',
      fix: 'Pass the per-sample NIR shape of the module input, e.g. [[48, 56, 120]] for a [T, B, 56, 120, 48] feature map.',
    });
  }
  const tr = new NirTracer(
    { dt },
    { source: 'spikedrive', module: module.name || module.kind, ...options.metadata },
  );
  const inputs: Sym[] = options.inputShapes.map((shape, i) =>
    tr.external(
      options.inputNames?.[i] ?? (i === 0 ? 'input' : `input_${i}`),
      shape,
      options.inputSpiking?.[i] ?? false,
    ),
  );
  const out = trace(tr, module, inputs);
  const graph = tr.finish([[options.outputName ?? 'output', out]]);
  if (out.side === 'host') {
    // The module ends on the host: its last NIR values already left through to_host.* outputs.
  }
  return {
    graph,
    partition: {
      module: module.name || module.kind,
      dt,
      entries: tr.entries,
      boundaries: tr.boundaries,
      summary: summarisePartition(tr.entries, tr.boundaries, graph),
    },
  };
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

/** The partition report as Markdown (what `spikedrive export nir` prints and writes beside the file). */
export function formatPartitionReport(report: PartitionReport): string {
  const s = report.summary;
  const lines = [
    `# NIR partition of \`${report.module}\``,
    '',
    `dt = ${report.dt} s. ${s.nirLayers} layers on NIR (${formatCount(s.nirParams)} parameters), ${s.hostLayers} on the host (${formatCount(s.hostParams)} parameters); ${s.nirNodes} NIR nodes, ${s.nirEdges} edges; ${formatCount(s.boundaryBitsPerStep)} bits cross host↔NIR per sample and step.`,
    '',
    '| layer | kind | placement | reason |',
    '|---|---|---|---|',
  ];
  for (const e of report.entries) {
    lines.push(
      `| \`${e.layer}\` | ${e.kind} | ${e.placement === 'nir' ? 'NIR' : '**host**'} | ${e.reason}${e.caveat ? ` (caveat: ${e.caveat})` : ''} |`,
    );
  }
  lines.push(
    '',
    '## Host ↔ NIR crossings',
    '',
    '| node | direction | shape | elements | bits/step | layer |',
    '|---|---|---|---|---|---|',
  );
  for (const b of report.boundaries) {
    lines.push(
      `| \`${b.node}\` | ${b.direction} | [${b.shape.join(', ')}] | ${b.elements} | ${b.elements * (b.spiking ? 1 : 32)} (${b.spiking ? 'spikes' : 'float32'}) | \`${b.layer}\` |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
