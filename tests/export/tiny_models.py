"""Tiny models and data for the export tests."""

import keras
import numpy as np
import tensorflow as tf

from keras_gvae import GuidedVAE
from keras_gvae.data.shapes import ShapesData


class AttributeGuidedVAE(GuidedVAE):
    """A stand-in for SupervisedGuidedVAE: named attributes with sigmoid heads on ``z``."""

    def __init__(self, attributes=("small", "round", "left"), **kwargs):
        super().__init__(**kwargs)
        self.attributes = tuple(attributes)
        self.attribute_head = keras.layers.Dense(len(self.attributes), name="attribute_head")
        self.attribute_head.build((None, self.latent_dim))

    def attribute_probabilities(self, z):
        return tf.sigmoid(self.attribute_head(tf.convert_to_tensor(z, tf.float32)))


def shape_images(n, size, seed=0):
    """``n`` shapes images (the embedded dSprites-like data) at ``size`` x ``size``, in [0, 1]."""
    images = ShapesData().sample_observations(n, np.random.RandomState(seed))
    if size != 64:
        images = tf.image.resize(images, (size, size), method="area").numpy()
    return np.clip(images, 0.0, 1.0).astype("float32")


def train_briefly(model, images, steps):
    """A few Adam steps, so weights and activations leave their initial ranges."""
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    data = tf.data.Dataset.from_tensor_slices(images).repeat().batch(32)
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return model
