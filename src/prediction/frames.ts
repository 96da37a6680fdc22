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
