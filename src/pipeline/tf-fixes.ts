// tfjs 4.22's gradient of `unstack` (kernel Unpack) stacks the upstream gradients as given, but the tape passes
// null for outputs that do not reach the loss (e.g. a frame or time step no head reads), so `stack` throws. This
// registers the same gradient with zeros in place of the missing ones (PyTorch's autograd does the same).
import * as tf from '@tensorflow/tfjs';

let registered = false;

export function registerGradientFixes(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: 'Unpack',
    gradFunc: (dy: tf.Tensor | tf.Tensor[], _saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const dys = (Array.isArray(dy) ? dy : [dy]) as (tf.Tensor | null)[];
      const axis = attrs.axis as number;
      const like = dys.find((d) => d !== null && d !== undefined) as tf.Tensor;
      return {
        value: () =>
          tf.stack(
            dys.map((d) => d ?? tf.zerosLike(like)),
            axis,
          ),
      };
    },
  });
}

registerGradientFixes();
