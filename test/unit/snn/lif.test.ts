import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ATAN_SURROGATE,
  ifParams,
  LifNode,
  type LifNodeOptions,
  lifForwardArrays,
  lifMultiStep,
  lifParams,
  lifStep,
  type NeuronImpl,
  SAD_NEURONS,
} from '../../../src/snn/index.ts';
import { expectClose, expectSpikedriveError, sigmoid, useCpu, values } from './_helpers.ts';

beforeAll(useCpu);

const impls: NeuronImpl[] = ['composed', 'fused'];

/** Runs a scalar input sequence through a fresh LIF layer and returns spikes and the final membrane. */
function trace(inputs: number[], options: LifNodeOptions, impl: NeuronImpl): { spikes: number[]; v: number } {
  const node = new LifNode({ ...options, impl });
  const x = tf.tensor2d(inputs, [inputs.length, 1]);
  const s = node.forward(x);
  const out = { spikes: values(s), v: values(node.membrane as tf.Tensor)[0] };
  tf.dispose([x, s]);
  node.dispose();
  return out;
}

describe.each(impls)('LIF traces against hand-computed sequences (%s)', (impl) => {
  it('SpikingJelly defaults: v += (x − v)/2, fire at v ≥ 1, hard reset to 0', () => {
    // h: 0.75, 0.625, 1.3125 (fire → 0), 0.1, 0.5
    const r = trace([1.5, 0.5, 2.0, 0.2, 0.9], {}, impl);
    expect(r.spikes).toEqual([0, 0, 1, 0, 0]);
    expect(r.v).toBeCloseTo(0.5, 6);
  });

  it('fires at v = θ exactly with ≥ and one step later with >', () => {
    // h1 = 1.0: ≥ fires (v → 0, then h2 = 1.0 fires again); > keeps v = 1, h2 = 1.5 fires.
    expect(trace([2, 2], { firing: 'geq' }, impl)).toEqual({ spikes: [1, 1], v: 0 });
    expect(trace([2, 2], { firing: 'gt' }, impl)).toEqual({ spikes: [0, 1], v: 0 });
  });

  it('soft reset subtracts the threshold', () => {
    // h: 1.5 (fire → 0.5), 0.25, 0.125, 2.0625 (fire → 1.0625)
    const r = trace([3, 0, 0, 4], { vReset: null }, impl);
    expect(r.spikes).toEqual([1, 0, 0, 1]);
    expect(r.v).toBe(1.0625);
  });

  it('decay_input = false: v·(1 − 1/τ) + x', () => {
    // h: 0.6, 0.9, 1.05 (fire → 0), 0.6
    const r = trace([0.6, 0.6, 0.6, 0.6], { decayInput: false }, impl);
    expect(r.spikes).toEqual([0, 0, 1, 0]);
    expect(r.v).toBeCloseTo(0.6, 6);
  });

  it('a non-zero V_reset is both the start and the reset value and enters the leak', () => {
    // v0 = −0.5; h = v + (x − (v + 0.5))/2: 0, 1.25 (fire → −0.5), −0.5
    const r = trace([1, 3, 0], { vReset: -0.5 }, impl);
    expect(r.spikes).toEqual([0, 1, 0]);
    expect(r.v).toBe(-0.5);
  });

  it('τ = 4 leaks more slowly', () => {
    // h = v + (x − v)/4: 1.0 (fire), 1.0 (fire)
    expect(trace([4, 4], { tau: 4 }, impl)).toEqual({ spikes: [1, 1], v: 0 });
    // 0.5, 0.875, 1.15625 (fire)
    expect(trace([2, 2, 2], { tau: 4 }, impl).spikes).toEqual([0, 0, 1]);
  });

  it('IF integrates without leak (hard and soft reset)', () => {
    const hard = trace([0.4, 0.4, 0.4, -0.1], { kind: 'if' }, impl);
    expect(hard.spikes).toEqual([0, 0, 1, 0]);
    expect(hard.v).toBeCloseTo(-0.1, 6);
    const soft = trace([0.7, 0.7, 0.7], { kind: 'if', vReset: null }, impl);
    expect(soft.spikes).toEqual([0, 1, 1]);
    expect(soft.v).toBeCloseTo(0.1, 6);
  });

  it('SQUAT snaps the charged membrane to threshold-centred levels before the threshold test', () => {
    // 2-bit levels [−1, 0.8018, 0.9820, 1.2]: h = 1.0 snaps to 0.9820 and does not fire.
    const q = trace([2], { stateQuant: { bits: 2, uniform: false } }, impl);
    expect(q.spikes).toEqual([0]);
    expect(q.v).toBeCloseTo(0.981982, 5);
    expect(trace([2], {}, impl).spikes).toEqual([1]);
    // h = 0.75 → 0.8018 (stored), then 0.8018 + (0.2 − 0.8018)/2 = 0.5009 → 0.8018 again.
    expect(trace([1.5, 0.2], { stateQuant: { bits: 2, uniform: false } }, impl).v).toBeCloseTo(0.801802, 5);
  });
});

describe.each(impls)('LIF gradients (%s)', (impl) => {
  // x = [2.2, 0.2]: h1 = 1.1 fires and resets to 0, h2 = 0.1 does not fire. Loss = s2.
  const sg = (x: number) => 4 * sigmoid(4 * x) * (1 - sigmoid(4 * x));
  function gradOfSecondSpike(options: LifNodeOptions): number[] {
    const node = new LifNode({ ...options, impl });
    const x = tf.tensor2d([2.2, 0.2], [2, 1]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.slice(node.forward(v), [1, 0], [1, 1])))(x);
    const out = values(g);
    tf.dispose([x, g]);
    node.dispose();
    return out;
  }

  it('detach_reset cuts the gradient through the reset', () => {
    const g = gradOfSecondSpike({ detachReset: true });
    expectClose(g, [0, sg(-0.9) * 0.5], 1e-6);
  });

  it('without detach the reset carries (V_reset − H)·g′(H − θ)', () => {
    const g = gradOfSecondSpike({ detachReset: false });
    expectClose(g, [sg(-0.9) * 0.5 * (-1.1 * sg(0.1)) * 0.5, sg(-0.9) * 0.5], 1e-6);
  });

  it('soft reset without detach: dV/dH = 1 − θ·g′(H − θ)', () => {
    // h1 = 1.1 fires, v1 = 0.1; h2 = 0.1 + (0.2 − 0.1)/2 = 0.15.
    const g = gradOfSecondSpike({ vReset: null });
    expectClose(g, [sg(-0.85) * 0.5 * (1 - sg(0.1)) * 0.5, sg(-0.85) * 0.5], 1e-6);
  });

  it('the membrane set from outside receives gradient (dual-pathway softmax init)', () => {
    const node = new LifNode({ ...SAD_NEURONS.dualPathway, impl });
    const v0 = tf.tensor1d([0.9, 0.2]);
    const x = tf.tensor1d([0.2, 0.4]);
    const g = tf.grad((v: tf.Tensor) => {
      node.reset();
      node.setMembrane(v);
      node.step(x);
      return tf.sum(node.membrane as tf.Tensor);
    })(v0);
    // h = v + (x − v)/2 = 0.55, 0.3: no spike. Without detach the reset term still passes gradient even when
    // nothing fires: dV/dH = 1 + (0 − H)·g′(H − 1) with the ATan surrogate, and dH/dv0 = 1/2.
    const atan = (u: number) => 1 / (1 + (Math.PI * u) ** 2);
    expectClose(values(node.membrane as tf.Tensor), [0.55, 0.3], 1e-7);
    expectClose(values(g), [0.5 * (1 - 0.55 * atan(-0.45)), 0.5 * (1 - 0.3 * atan(-0.7))], 1e-6);
    tf.dispose([v0, x, g]);
    node.dispose();
  });
});

describe('LIF layer behaviour', () => {
  it('the fused loop and the op-by-op loop agree bit for bit on every option', () => {
    const x = tf.randomNormal([6, 2, 3, 3, 4], 0.7, 1.2, 'float32', 3);
    const variants: LifNodeOptions[] = [
      {},
      { detachReset: true },
      { vReset: null },
      { decayInput: false },
      { vReset: -0.3, tau: 3 },
      { kind: 'if' },
      { firing: 'gt', surrogate: ATAN_SURROGATE },
      { stateQuant: { bits: 4, uniform: false } },
      { stateQuant: { bits: 3 } },
    ];
    for (const options of variants) {
      const a = new LifNode({ ...options, impl: 'composed' });
      const b = new LifNode({ ...options, impl: 'fused' });
      const sa = a.forward(x);
      const sb = b.forward(x);
      expect(values(sa)).toEqual(values(sb));
      expect(values(a.membrane as tf.Tensor)).toEqual(values(b.membrane as tf.Tensor));
      tf.dispose([sa, sb]);
      a.dispose();
      b.dispose();
    }
    x.dispose();
  });

  it('multi-step equals single steps in a loop, and state carries across calls until reset', () => {
    const x = tf.randomNormal([5, 7], 0.6, 1, 'float32', 9);
    const multi = new LifNode();
    const single = new LifNode({ stepMode: 'single-step' });
    const whole = values(multi.forward(x));
    const steps = tf.unstack(x).map((xt) => values(single.forward(xt)));
    expect(steps.flat()).toEqual(whole);
    // Two calls of 2 + 3 steps = one call of 5.
    multi.reset();
    const first = values(multi.forward(tf.slice(x, 0, 2)));
    const second = values(multi.forward(tf.slice(x, 2, 3)));
    expect([...first, ...second]).toEqual(whole);
    multi.reset();
    expect(multi.membrane).toBeNull();
    expect(values(multi.forward(x))).toEqual(whole);
    multi.dispose();
    single.dispose();
  });

  it('the pure step function returns new state and leaves its inputs alone', () => {
    const p = lifParams();
    const x = tf.tensor1d([1.5, 2.5]);
    const r1 = lifStep(x, null, p);
    const r2 = lifStep(x, r1.state, p);
    expect(values(r1.spikes)).toEqual([0, 1]);
    expect(values(r1.state.v)).toEqual([0.75, 0]);
    expect(values(r2.spikes)).toEqual([1, 1]);
    expect(values(x)).toEqual([1.5, 2.5]);
    const seq = lifMultiStep(tf.stack([x, x]), null, ifParams());
    expect(values(seq.spikes)).toEqual([1, 1, 1, 1]);
    // The array kernel gives the same trace.
    const arr = lifForwardArrays(Float32Array.of(1.5, 2.5, 1.5, 2.5), null, 2, p, false);
    expect(Array.from(arr.spikes)).toEqual([0, 1, 1, 1]);
    expect(arr.spikeCount).toBe(3);
  });

  it('rejects bad parameters and mismatched state with clear errors', () => {
    expectSpikedriveError(() => new LifNode({ tau: 1 }), /tau must be > 1/, /tau = 2/);
    expectSpikedriveError(() => new LifNode({ stateQuant: { bits: 0 } }), /1–16 bits/);
    const node = new LifNode();
    node.forward(tf.zeros([2, 3]));
    expectSpikedriveError(() => node.forward(tf.zeros([2, 4])), /membrane of shape \[3\]/, /reset\(\)/);
    expectSpikedriveError(() => node.forward(tf.zeros([3])), /\[T, …\]/);
    node.dispose();
  });

  it('returns the tensor count to its baseline after forward, backward and reset', () => {
    const node = new LifNode({ impl: 'composed', detachReset: true });
    const fused = new LifNode({ impl: 'fused' });
    const x = tf.randomNormal([4, 2, 5]);
    const before = tf.memory().numTensors;
    for (const n of [node, fused]) {
      const s = n.forward(x);
      s.dispose();
      const g = tf.grad((v: tf.Tensor) => tf.sum(n.forward(v)))(x);
      g.dispose();
      n.reset();
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
