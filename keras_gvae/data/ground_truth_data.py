"""The ground-truth-data interface used by the disentanglement metrics.

It mirrors ``disentanglement_lib.data.ground_truth.ground_truth_data.GroundTruthData``
(Locatello et al., ICML 2019) so that metric code written against either reads the same.
A dataset with known generative factors implements it; the metrics in
``keras_gvae.evaluation`` only ever see this interface and a representation function,
never a model.
"""

from __future__ import annotations

import abc

import numpy as np


class GroundTruthData(abc.ABC):
    """A dataset whose observations are rendered from discrete, known factors.

    Subclasses define the factor grid and how an observation is produced from a row of
    factor indices. Factors are integer indices, ``0 <= f[:, i] < factors_num_values[i]``.
    Observations are float32 in [0, 1] with shape ``observation_shape`` (H, W, C).
    """

    @property
    @abc.abstractmethod
    def factors_num_values(self) -> list[int]:
        """Number of values of each factor, in factor order."""

    @property
    @abc.abstractmethod
    def observation_shape(self) -> tuple[int, int, int]:
        """Shape (H, W, C) of one observation."""

    @property
    def factor_names(self) -> list[str]:
        """Human-readable factor names; defaults to ``factor_0 ...``."""
        return [f"factor_{i}" for i in range(self.num_factors)]

    @property
    def num_factors(self) -> int:
        return len(self.factors_num_values)

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Samples ``num`` rows of factor indices uniformly from the grid, int64 (num, k)."""
        return np.stack(
            [random_state.randint(n, size=num) for n in self.factors_num_values], axis=1
        ).astype(np.int64)

    @abc.abstractmethod
    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Observations (num, H, W, C) float32 in [0, 1] for factor rows (num, k)."""

    def sample(self, num: int, random_state: np.random.RandomState):
        """Returns ``(factors, observations)`` for ``num`` uniformly drawn factor rows."""
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)

    def sample_observations(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        return self.sample(num, random_state)[1]
