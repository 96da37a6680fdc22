// One SadPerception forward at the paper size (B = 1, S = 3, N = 6 cameras of 224×480, encoder [48, 96, 192, 384]
// at T = 4, 200×200 BEV, 48 depth bins) on the back end selectBackend() picks: shapes, finite values, the six
// ego-motion channels, and no tensor left behind. Prints its time as a JSON line. Takes minutes on 2 cores; set
// SPIKEDRIVE_SKIP_SLOW_TESTS=1 to skip it.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { SadPerception } from '../../src/perception/index.ts';
import { selectBackend } from '../../src/snn/index.ts';
import { createRng } from '../../src/util/rng.ts';
import { paperOptions } from '../unit/perception/_helpers.ts';

const skip = process.env.SPIKEDRIVE_SKIP_SLOW_TESTS === '1';

describe.skipIf(skip)('perception at the paper size', () => {
  it('maps 18 camera images to BEV [1, 3, 200, 200, 70], depth [18, 28, 60, 48] and CAM_FRONT [1, 28, 60, 64]', async () => {
    const backend = await selectBackend();
    const t0 = performance.now();
    const perception = new SadPerception(paperOptions({ bnMomentum: 0.05, rng: createRng(2024) }));
    const buildMs = performance.now() - t0;
    const yaws = [0.96, 0, -0.96, 1.9, Math.PI, -1.9]; // the nuScenes rig, FRONT_LEFT … BACK_RIGHT
    const extrinsics: number[] = [];
    for (let s = 0; s < 3; s++) {
      for (const yaw of yaws) {
        const [c, si] = [Math.cos(yaw), Math.sin(yaw)];
        extrinsics.push(si, 0, c, 0.5 * c, -c, 0, si, 0.5 * si, 0, -1, 0, 1.5, 0, 0, 0, 1);
      }
    }
    const egomotion = [1.5, 0.02, 0, 0, 0, 0.03, 1.4, 0.01, 0, 0, 0, 0.02, 0, 0, 0, 0, 0, 0];
    const input = {
      images: tf.randomNormal([1, 3, 6, 224, 480, 3], 0, 1, 'float32', 7),
      intrinsics: tf.tensor(
        Array.from({ length: 18 }, () => [380, 0, 240, 0, 380, 112, 0, 0, 1]).flat(),
        [1, 3, 6, 3, 3],
      ),
      extrinsics: tf.tensor(extrinsics, [1, 3, 6, 4, 4]),
      futureEgomotion: tf.tensor(egomotion, [1, 3, 6]),
    };
    const before = tf.memory().numTensors;
    const t1 = performance.now();
    const cpu0 = process.cpuUsage();
    const out = perception.forward(input);
    const cpu = process.cpuUsage(cpu0);
    const forwardMs = performance.now() - t1;
    console.log(
      JSON.stringify({
        test: 'perception-paper-forward',
        backend: backend.name,
        build_ms: Math.round(buildMs),
        forward_ms: Math.round(forwardMs),
        forward_cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
        points_kept: out.pointsKept,
      }),
    );
    expect(out.bev.shape).toEqual([1, 3, 200, 200, 70]);
    expect(out.depth.shape).toEqual([18, 28, 60, 48]);
    expect(out.camFront?.shape).toEqual([1, 28, 60, 64]);
    // Six cameras around the car see most of the ±50 m grid's near field; 18·48·28·60 points in all.
    expect(out.pointsKept).toBeGreaterThan(0.3 * 18 * 48 * 28 * 60);
    const bev = out.bev.dataSync();
    expect(bev.every(Number.isFinite)).toBe(true);
    // Ego channels of the present frame = E_1 everywhere (cell 0 and the last cell).
    const last = bev.length - 70;
    expect(Array.from(bev.subarray(last + 64, last + 70))).toEqual(
      Array.from(Float32Array.from(egomotion.slice(6, 12))),
    );
    const present = 2 * 200 * 200 * 70;
    expect(Array.from(bev.subarray(present + 64, present + 70))).toEqual(
      Array.from(Float32Array.from(egomotion.slice(6, 12))),
    );
    tf.dispose([out.bev, out.depth, out.camFront as tf.Tensor]);
    perception.reset();
    // Only the folded conv+BN weights (two tensors per pair, cached until the weights change) stay.
    const folded = perception.modules().filter((m) => m.kind === 'batchnorm').length * 2;
    expect(tf.memory().numTensors - before).toBe(folded);
    tf.dispose(Object.values(input));
    perception.dispose();
  }, 1_800_000);
});
