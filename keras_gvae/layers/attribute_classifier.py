"""The small MLP used for excitation heads and inhibition adversaries."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="keras_gvae")
class AttributeClassifier(keras.layers.Layer):
    """MLP ``d -> 32 -> 32 -> 1`` with BatchNorm and LeakyReLU(0.2), returning a logit.

    The Guided-VAE authors' excitation head (Ding et al., CVPR 2020, Sec. 3.2) is this
    network on one latent unit (``d = 1``); the inhibition adversary uses it on all
    other units.

    Args:
        hidden_units: tuple of ints, widths of the hidden layers. Defaults to (32, 32).
        batch_norm: bool, BatchNorm after each hidden Dense. Defaults to True.
        negative_slope: float, LeakyReLU slope. Defaults to 0.2.
        **kwargs: standard Keras layer arguments.

    Call arguments:
        inputs: float tensor (batch, d).

    Returns:
        Logits, float tensor (batch,).
    """

    def __init__(self, hidden_units=(32, 32), batch_norm=True, negative_slope=0.2, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.hidden_units = tuple(int(h) for h in hidden_units)
        self.batch_norm = bool(batch_norm)
        self.negative_slope = float(negative_slope)
        # === Layers ===
        # Several replicas (a distribution strategy) share the batch statistics of the global
        # batch, so they normalise as one device does.
        synchronized = tf.distribute.get_strategy().num_replicas_in_sync > 1
        self.hidden = []
        for i, units in enumerate(self.hidden_units):
            # Sublayers share this layer's dtype policy (not the global one).
            block = [keras.layers.Dense(units, name=f"dense_{i}", dtype=self.dtype_policy)]
            if self.batch_norm:
                # momentum 0.9 is PyTorch's default (0.1), which the authors' heads use.
                block.append(
                    keras.layers.BatchNormalization(
                        momentum=0.9,
                        synchronized=synchronized,
                        name=f"batch_norm_{i}",
                        dtype=self.dtype_policy,
                    )
                )
            block.append(
                keras.layers.LeakyReLU(
                    self.negative_slope, name=f"leaky_relu_{i}", dtype=self.dtype_policy
                )
            )
            self.hidden.append(block)
        self.logit = keras.layers.Dense(1, name="logit", dtype=self.dtype_policy)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for block in self.hidden:
            for layer in block:
                layer.build(shape)
                shape = layer.compute_output_shape(shape)
        self.logit.build(shape)
        self.built = True

    def call(self, inputs, training=None):
        x = inputs
        for block in self.hidden:
            for layer in block:
                x = (
                    layer(x, training=training)
                    if isinstance(layer, keras.layers.BatchNormalization)
                    else layer(x)
                )
        return keras.ops.squeeze(self.logit(x), axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_units": self.hidden_units,
                "batch_norm": self.batch_norm,
                "negative_slope": self.negative_slope,
            }
        )
        return config
