// Trajectories planned elsewhere (another model, another codebase), scored by spikedrive's metrics against the same
// ground truth: `spikedrive eval --trajectories FILE.json`. The schema is documented in docs/evaluation.md.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SpikedriveError } from '../util/index.ts';

export const TRAJECTORIES_SCHEMA = 'spikedrive-trajectories';

const point = z.union([z.tuple([z.number(), z.number()]), z.tuple([z.number(), z.number(), z.number()])]);
const trajectoriesFileSchema = z.object({
  schema: z.literal(TRAJECTORIES_SCHEMA),
  version: z.literal(1),
  /** Who produced the trajectories (shown in the report and the run manifest). */
  model: z.string().optional(),
  /** Only "lidar" in version 1: the present LIDAR_TOP frame, x right, y forward (metres), as nuScenes GT. */
  frame: z.literal('lidar').optional(),
  /** Seconds between waypoints; only 0.5 (nuScenes keyframes). */
  stepS: z.literal(0.5).optional(),
  trajectories: z.record(z.string(), z.array(point)),
});

export interface TrajectoriesFile {
  path: string;
  sha256: string;
  model: string | undefined;
  /** Present-frame sample token → waypoints [x right, y forward(, heading)], without the origin. */
  trajectories: Map<string, number[][]>;
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 4)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

/**
 * Reads a trajectories file: `{ schema: "spikedrive-trajectories", version: 1, model?, trajectories: { TOKEN: [[x, y],
 * …] } }`, or just the `trajectories` object. Structure errors name the field; counts and values are checked per
 * sample by {@link checkTrajectory} once the horizon is known.
 */
export function readTrajectoriesFile(path: string): TrajectoriesFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new SpikedriveError(`trajectories file ${path} cannot be read`, {
      subject: path,
      fix: 'Pass the JSON file of planned trajectories (see docs/evaluation.md, "Scoring other models").',
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new SpikedriveError(`trajectories file ${path} is not valid JSON (${(error as Error).message})`, {
      subject: path,
      fix: 'Write the file with a JSON serialiser (json.dump, JSON.stringify).',
    });
  }
  const bare =
    typeof json === 'object' &&
    json !== null &&
    !Array.isArray(json) &&
    !('schema' in json) &&
    !('trajectories' in json);
  const parsed = trajectoriesFileSchema.safeParse(
    bare ? { schema: TRAJECTORIES_SCHEMA, version: 1, trajectories: json } : json,
  );
  if (!parsed.success) {
    throw new SpikedriveError(
      `trajectories file ${path} does not match the schema: ${describe(parsed.error)}`,
      {
        subject: path,
        fix: `Write { "schema": "${TRAJECTORIES_SCHEMA}", "version": 1, "trajectories": { "<sample token>": [[x, y], …] } } with the present LIDAR_TOP frame (x right, y forward, metres) and one point per 0.5 s, without the origin.`,
      },
    );
  }
  const trajectories = new Map(
    Object.entries(parsed.data.trajectories).map(([k, v]) => [k, v as number[][]]),
  );
  if (trajectories.size === 0) {
    throw new SpikedriveError(`trajectories file ${path} holds no trajectories`, {
      subject: path,
      fix: 'Add one entry per evaluated sample, keyed by its present-frame sample token.',
    });
  }
  return {
    path,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    model: parsed.data.model,
    trajectories,
  };
}

/** Checks one sample's waypoints against the horizon and returns them as [F, 3] (heading 0 where absent). */
export function checkTrajectory(
  file: TrajectoriesFile,
  token: string,
  points: number[][],
  nFuture: number,
): Float32Array {
  const where = `${file.path}: trajectories["${token}"]`;
  if (points.length === nFuture + 1 && points[0][0] === 0 && points[0][1] === 0) {
    throw new SpikedriveError(`${where} has ${points.length} points starting at the origin`, {
      subject: where,
      fix: `Drop the origin: give the ${nFuture} future waypoints at 0.5 s, 1.0 s, … only.`,
    });
  }
  if (points.length < nFuture) {
    throw new SpikedriveError(`${where} has ${points.length} waypoints; this evaluation needs ${nFuture}`, {
      subject: where,
      fix: `Give ${nFuture} waypoints (one per 0.5 s up to ${nFuture * 0.5} s), or evaluate a shorter horizon.`,
    });
  }
  const out = new Float32Array(nFuture * 3);
  for (let k = 0; k < nFuture; k++) {
    const p = points[k];
    if (!p.every(Number.isFinite)) {
      throw new SpikedriveError(`${where}[${k}] is not finite (${JSON.stringify(p)})`, {
        subject: where,
        fix: 'Give finite coordinates in metres.',
      });
    }
    out[k * 3] = p[0];
    out[k * 3 + 1] = p[1];
    out[k * 3 + 2] = p.length > 2 ? p[2] : 0;
  }
  return out;
}
