"""Fixtures for the metric tests."""

from __future__ import annotations

import numpy as np
import pytest

from tests.evaluation.fakes import PixelFactorsData


@pytest.fixture
def data():
    return PixelFactorsData()


@pytest.fixture
def factors():
    """Train and test factor samples ``(600, 3)`` and ``(300, 3)`` from ``PixelFactorsData``."""
    random_state = np.random.RandomState(0)
    data = PixelFactorsData()
    return data.sample_factors(600, random_state), data.sample_factors(300, random_state)
