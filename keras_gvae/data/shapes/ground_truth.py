"""The embedded shapes as ground-truth data for the disentanglement metrics."""

from __future__ import annotations

import numpy as np

from keras_gvae.data.ground_truth_data import GroundTruthData
from keras_gvae.data.shapes.factors import (
    FACTOR_NAMES,
    FACTOR_SIZES,
    IMAGE_SIZE,
    to_latents_classes,
)
from keras_gvae.data.shapes.renderer import render


class ShapesData(GroundTruthData):
    """The embedded dSprites-compatible shapes as ground-truth data for the metrics.

    Like ``disentanglement_lib``'s ``DSprites``, it exposes the five factors that vary
    (shape, scale, orientation, pos_x, pos_y) and drops the constant colour. Observations are
    rendered on demand by ``render``, float32 (N, 64, 64, 1) in {0, 1}.

    Example:

    >>> data = ShapesData()
    >>> factors, images = data.sample(8, np.random.RandomState(0))
    >>> factors.shape, images.shape
    ((8, 5), (8, 64, 64, 1))
    """

    @property
    def factors_num_values(self) -> list[int]:
        return list(FACTOR_SIZES[1:])

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return (IMAGE_SIZE, IMAGE_SIZE, 1)

    @property
    def factor_names(self) -> list[str]:
        return list(FACTOR_NAMES[1:])

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Renders factor rows (N, 5); ``random_state`` is unused (rendering is exact)."""
        images = render(to_latents_classes(factors))
        return images.astype(np.float32)[..., None]
