import * as tf from '@tensorflow/tfjs';
import { isRecordingGradients, toBatchMajor, toFrameMajor } from '../snn/index.ts';
import { SpikedriveError } from '../util/errors.ts';

/**
 * Sequence alignment helpers (sad.md §2): in the predictor and the decoder the video frames are the SNN time axis,
 * frame-major [S, B, …]. The reference reshapes batch-major data (`x.reshape(s, b, …)`), right only for B = 1; we
 * transpose, except where one of the two leading sizes is 1 and the memory order is the same, so a reshape is
 * exact and free (the usual inference case B = 1 costs no copy of a 100 MB BEV sequence).
 */
export function framesFirst(x: tf.Tensor): tf.Tensor {
  const [b, s] = x.shape as number[];
  if (b === 1 || s === 1) return tf.reshape(x, [s, b, ...x.shape.slice(2)]);
  return toFrameMajor(x);
}

/** Frame-major [S, B, …] → batch-major [B, S, …] (a reshape when S or B is 1). */
export function batchFirst(x: tf.Tensor): tf.Tensor {
  const [s, b] = x.shape as number[];
  if (b === 1 || s === 1) return tf.reshape(x, [b, s, ...x.shape.slice(2)]);
  return toBatchMajor(x);
}

/**
 * Frames t … t + count − 1 of a frame-major sequence, keeping the axis: [S, B, …] → [count, B, …]. On wasm the
 * tfjs slice kernel first copies its whole input out of the wasm heap (all S frames, ~100 MB at 200² × 9 × 70),
 * while gather copies just the frames it takes, so inference there gathers; elsewhere (and under a tape) it slices.
 */
export function frameSlice(x: tf.Tensor, t: number, count = 1): tf.Tensor {
  if (tf.getBackend() === 'wasm' && !isRecordingGradients()) {
    return tf.tidy(() =>
      tf.gather(
        x,
        tf.tensor1d(
          Array.from({ length: count }, (_, i) => t + i),
          'int32',
        ),
        0,
      ),
    );
  }
  const begin = x.shape.map(() => 0);
  const size = x.shape.map(() => -1);
  begin[0] = t;
  size[0] = count;
  return tf.slice(x, begin, size);
}

/**
 * How the predictor's temporal mixing and the decoder walk the frames (the SNN time axis). `layers`: every layer over
 * all S′ frames at once (conv over the folded [S′·B] batch, then the multi-step LIF), as the reference. `frames`: one
 * frame at a time through all the layers (the LIF membranes carry over). `auto`: chunks of as many frames as keep the widest
 * activation under `chunkBytes`. All give identical results in eval (convs and eval-mode BN act per frame; the LIF
 * is causal). Chunks cut memory (a 384-channel 200² activation is 61 MB per frame, 553 MB for nine) but each call
 * copies LIF membranes and inputs in and out of host memory once more, so fewer, larger chunks cost less CPU.
 * Training and gradient tapes always run `layers`: BN batch statistics span all frames, as in the reference.
 */
export type FrameSchedule = 'auto' | 'layers' | 'frames';

/** `auto`'s default budget for one chunk's widest activation. */
export const DEFAULT_CHUNK_BYTES = 256 * 2 ** 20;

/** The chunk sizes (frames per call, in order) a schedule gives for `frames` frames. */
export function frameChunks(
  frames: number,
  bytesPerFrame: number,
  schedule: FrameSchedule,
  training: boolean,
  chunkBytes = DEFAULT_CHUNK_BYTES,
): number[] {
  let perChunk: number;
  // Training always runs all frames at once: BN batch statistics span every frame, as in the reference.
  if (schedule === 'layers' || training) perChunk = frames;
  else if (schedule === 'frames') perChunk = 1;
  else perChunk = Math.max(1, Math.floor(chunkBytes / Math.max(1, bytesPerFrame)));
  const count = Math.ceil(frames / Math.min(frames, perChunk));
  // Balanced: 9 frames at 4 per chunk run as 3 + 3 + 3, not 4 + 4 + 1.
  return Array.from({ length: count }, (_, i) => Math.floor(frames / count) + (i < frames % count ? 1 : 0));
}

/** Frame `t` of a frame-major sequence without the axis: [S, B, …] → [B, …]. */
export function frameAt(x: tf.Tensor, t: number): tf.Tensor {
  return tf.tidy(() => tf.squeeze(frameSlice(x, t), [0]));
}

/** Checks a batch-major BEV sequence [B, S, X, Y, C] and names the stage and what it expected. */
export function checkBevSequence(x: tf.Tensor, channels: number, who: string): void {
  if (x.rank !== 5) {
    throw new SpikedriveError(
      `${who} expects a BEV sequence [B, S, X, Y, C], got shape [${x.shape.join(', ')}]`,
      {
        subject: who,
        fix: 'Pass batch-major BEV frames, channels last (the perception output [B, S, X, Y, C′]).',
      },
    );
  }
  const c = x.shape[4];
  if (c !== channels) {
    throw new SpikedriveError(`${who} was built for ${channels} BEV channels, got ${c}`, {
      subject: who,
      fix: 'Build the stage with the BEV channel count of the perception output (MODEL.ENCODER.OUT_CHANNELS + 6 ego-motion channels with INPUT_EGOPOSE).',
    });
  }
  if ((x.shape[1] ?? 0) < 1) {
    throw new SpikedriveError(`${who} got an empty sequence (S = 0)`, {
      subject: who,
      fix: 'Pass at least the present frame (TIME_RECEPTIVE_FIELD ≥ 1).',
    });
  }
}
