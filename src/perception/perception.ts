import * as tf from '@tensorflow/tfjs';
import { type ForwardContext, SnnModule } from '../snn/index.ts';
import { SpikedriveError } from '../util/errors.ts';
import { projectToBev } from './bev.ts';
import { SadEncoder } from './encoder.ts';
import { createFrustum } from './frustum.ts';
import { alignedPoints, assignVoxels, type LiftInputs } from './geometry.ts';
import { type PerceptionGeometry, type PerceptionOptions, perceptionGeometry } from './options.ts';
import type { SplatPlan } from './splat.ts';

/** What perception reads: batch-major, channels-last. Frames beyond `receptiveField` are ignored. */
export interface PerceptionInput {
  /** [B, S, N, H, W, 3] normalised camera images (S ≥ receptiveField; N cameras in the reference order). */
  images: tf.Tensor;
  /** [B, S, N, 3, 3] intrinsics after resize and crop. */
  intrinsics: tf.Tensor;
  /** [B, S, N, 4, 4] camera → lidar-frame transforms (yaw-only flattened ego frame at the LIDAR_TOP time). */
  extrinsics: tf.Tensor;
  /** [B, S, 6] ego motion t → t+1 as [tx, ty, tz, rx, ry, rz]. */
  futureEgomotion: tf.Tensor;
}

export interface PerceptionOutput {
  /**
   * [B, S, X, Y, C (+6)]: per frame the present-frame-aligned, 0.5-discounted BEV features (row = x forward,
   * row 0 = the rear bound; column = y left, column 0 = the right bound), then the six ego-motion channels
   * (zeros at t = 0, E_{t−1} at t).
   */
  bev: tf.Tensor;
  /** [B·S·N, h, w, D] depth logits (the reference's `depth_prediction`, before the softmax). */
  depth: tf.Tensor;
  /** [B, h, w, C] the present frame's front-camera feature for the planner; null with fewer cameras than its index. */
  camFront: tf.Tensor | null;
  /** Frustum points that landed inside the BEV grid (of B·S·N·D·h·w). */
  pointsKept: number;
}

function fail(subject: string, message: string, fix: string): never {
  throw new SpikedriveError(message, { subject, fix });
}

/**
 * SAD perception (sad.py `calculate_birds_eye_view_features` + the ego-motion channels of `forward`): the spiking
 * encoder over every camera image, lift (softmax depth ⊗ feature), splat into the BEV grid with past frames moved
 * into the present frame, the discounted accumulation over frames, and the six ego-motion channels.
 * Parameters: `frustum` (buffer) and `encoder.*`, named as the reference state_dict.
 */
export class SadPerception extends SnnModule {
  readonly kind = 'sad_perception';
  readonly options: PerceptionOptions;
  readonly geometry: PerceptionGeometry;
  readonly encoder: SadEncoder;
  private readonly frustum: tf.Variable;
  private readonly frustumShape: [number, number, number, number];
  private frustumCache: { version: number; data: Float32Array } | null = null;

  constructor(options: PerceptionOptions) {
    super();
    this.options = { ...options };
    this.geometry = perceptionGeometry(options);
    const frustum = createFrustum(options.imageSize, options.downsample ?? 8, options.dBound);
    this.frustumShape = frustum.shape;
    this.frustum = this.addParam(
      'frustum',
      tf.tensor(frustum.data, frustum.shape, 'float32'),
      'plain',
      false,
    );
    this.encoder = this.register(
      'encoder',
      new SadEncoder({
        embedDims: options.embedDims,
        timeSteps: options.timeSteps,
        outChannels: options.outChannels,
        depthBins: this.geometry.depthBins,
        headHiddenChannels: options.headHiddenChannels,
        bnMomentum: options.bnMomentum,
        imagesPerChunk: options.imagesPerChunk,
        referenceInit: options.referenceInit,
        rng: options.rng,
      }),
    );
    this.setPipelineModule('perception');
  }

  /** The frustum as the forward uses it (a loaded checkpoint's buffer, like the reference's `self.frustum`). */
  private frustumData(): Float32Array {
    if (this.frustumCache === null || this.frustumCache.version !== this.version) {
      this.frustumCache = { version: this.version, data: Float32Array.from(this.frustum.dataSync()) };
    }
    return this.frustumCache.data;
  }

  private checkInput(input: PerceptionInput): { batch: number; frames: number; cameras: number } {
    const { images, intrinsics, extrinsics, futureEgomotion } = input;
    const [height, width] = this.options.imageSize;
    const s = this.options.receptiveField;
    if (images.rank !== 6 || images.shape[5] !== 3) {
      fail(
        'images',
        `perception images must be [B, S, N, H, W, 3], got [${images.shape.join(', ')}]`,
        'Pass channels-last normalised images, frames and cameras as separate axes.',
      );
    }
    const [batch, frames, cameras, h, w] = images.shape as number[];
    if (h !== height || w !== width) {
      fail(
        'images',
        `images are ${h}×${w} but perception was built for ${height}×${width}`,
        `Resize/crop to IMAGE.FINAL_DIM [${height}, ${width}] or rebuild perception for this size.`,
      );
    }
    if (frames < s) {
      fail(
        'images',
        `images hold ${frames} frames but TIME_RECEPTIVE_FIELD is ${s}`,
        `Pass at least ${s} past/present frames.`,
      );
    }
    const expect = (name: string, t: tf.Tensor, tail: number[]) => {
      const ok =
        t.rank === tail.length + 2 + (tail.length === 1 ? 0 : 1) &&
        t.shape[0] === batch &&
        (t.shape[1] as number) >= s &&
        (tail.length === 1 || t.shape[2] === cameras) &&
        t.shape.slice(t.rank - tail.length).every((d, i) => d === tail[i]);
      if (!ok) {
        const want =
          tail.length === 1
            ? `[${batch}, ≥${s}, ${tail}]`
            : `[${batch}, ≥${s}, ${cameras}, ${tail.join(', ')}]`;
        fail(
          name,
          `${name} must be ${want}, got [${t.shape.join(', ')}]`,
          `Pass one ${name} entry per batch item, frame${tail.length === 1 ? '' : ' and camera'}.`,
        );
      }
    };
    expect('intrinsics', intrinsics, [3, 3]);
    expect('extrinsics', extrinsics, [4, 4]);
    expect('futureEgomotion', futureEgomotion, [6]);
    return { batch, frames, cameras };
  }

  /** Host copy of the first `frames` frames of a [B, S', …] array. */
  private static firstFrames(t: tf.Tensor, frames: number, name: string): Float32Array {
    const raw = t.dataSync();
    const data = raw instanceof Float32Array ? raw : Float32Array.from(raw as ArrayLike<number>);
    const [b, s] = t.shape as number[];
    const per = data.length / (b * s);
    const out = s === frames ? data : new Float32Array(b * frames * per);
    if (s !== frames) {
      for (let i = 0; i < b; i++)
        out.set(data.subarray(i * s * per, (i * s + frames) * per), i * frames * per);
    }
    const bad = out.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      const item = Math.floor(bad / per);
      fail(
        name,
        `${name} of batch item ${Math.floor(item / frames)}, frame ${item % frames} holds a non-finite value (${out[bad]})`,
        `Check the sample's ${name}: every entry must be a finite number.`,
      );
    }
    return out;
  }

  forward(input: PerceptionInput, ctx: ForwardContext = {}): PerceptionOutput {
    const { batch, frames: framesIn, cameras } = this.checkInput(input);
    const s = this.options.receptiveField;
    const [height, width] = this.options.imageSize;
    const { bevDimension, depthBins, featureSize } = this.geometry;
    const [h, w] = featureSize;
    const [rows, cols] = bevDimension;
    const c = this.options.outChannels;
    const m = batch * s * cameras;

    // Geometry on the host first, so bad camera data fails before the encoder runs.
    const egomotion = SadPerception.firstFrames(input.futureEgomotion, s, 'futureEgomotion');
    const lift: LiftInputs = {
      batch,
      frames: s,
      cameras,
      intrinsics: SadPerception.firstFrames(input.intrinsics, s, 'intrinsics'),
      extrinsics: SadPerception.firstFrames(input.extrinsics, s, 'extrinsics'),
      futureEgomotion: egomotion,
    };
    const { cell, kept } = assignVoxels(
      alignedPoints(this.frustumData(), this.frustumShape, lift),
      this.geometry,
    );
    const plan: SplatPlan = {
      cell,
      images: m,
      camerasPerFrame: cameras,
      pixels: h * w,
      depthBins,
      rows,
      cols,
    };

    const images = tf.tidy(() => {
      const present =
        framesIn === s
          ? input.images
          : tf.slice(input.images, [0, 0, 0, 0, 0, 0], [batch, s, cameras, height, width, 3]);
      return tf.reshape(present, [m, height, width, 3]);
    });
    const { feature, depth } = this.encoder.forward(images, ctx);
    images.dispose();

    const bev = projectToBev(
      {
        feature,
        depth,
        plan,
        batch,
        frames: s,
        discount: this.options.discount,
        useDepthDistribution: this.options.useDepthDistribution,
        egomotion: this.options.inputEgopose ? egomotion : null,
      },
      ctx,
      {
        name: this.name === '' ? 'lift_splat' : `${this.name}.lift_splat`,
        pipelineModule: this.pipelineModule,
        kind: 'lift_splat',
      },
    );
    const front = this.options.frontCameraIndex ?? 1;
    const camFront =
      front < cameras
        ? tf.tidy(() => {
            const all = tf.reshape(feature, [batch, s, cameras, h, w, c]);
            return tf.reshape(tf.slice(all, [0, s - 1, front, 0, 0, 0], [batch, 1, 1, h, w, c]), [
              batch,
              h,
              w,
              c,
            ]);
          })
        : null;
    feature.dispose();
    return { bev, depth, camFront, pointsKept: kept };
  }
}
