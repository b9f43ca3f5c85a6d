"""A tiny ground-truth dataset and representations with known metric values."""

from __future__ import annotations

import numpy as np

from keras_gvae.data.ground_truth_data import GroundTruthData


class PixelFactorsData(GroundTruthData):
    """Observations ``(1, k, 1)``: pixel ``j`` is factor ``j`` scaled to [0, 1].

    With ``flatten`` as the representation the codes are the factors themselves (up to a
    positive scale per code), the ideal disentangled representation.
    """

    def __init__(self, factors_num_values=(3, 4, 5)):
        self._num_values = list(factors_num_values)

    @property
    def factors_num_values(self):
        return self._num_values

    @property
    def observation_shape(self):
        return (1, self.num_factors, 1)

    def sample_observations_from_factors(self, factors, random_state):
        scale = np.maximum(np.array(self._num_values, dtype=np.float32) - 1.0, 1.0)
        return (np.asarray(factors, dtype=np.float32) / scale)[:, None, :, None]


def flatten(observations):
    return np.asarray(observations, dtype=np.float32).reshape(len(observations), -1)


def zeros(observations):
    return np.zeros((len(observations), 4), dtype=np.float32)


def make_noise(seed=0, num_codes=4):
    """A representation ignoring its input: deterministic given ``seed``."""
    random_state = np.random.RandomState(seed)

    def noise(observations):
        return random_state.normal(size=(len(observations), num_codes)).astype(np.float32)

    return noise


def identity_codes(factors):
    """The factors themselves as float codes."""
    return np.asarray(factors, dtype=np.float64)


def noise_codes(num, num_codes=4, seed=1):
    return np.random.RandomState(seed).normal(size=(num, num_codes))
