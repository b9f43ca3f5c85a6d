"""The files a run directory holds about itself, read and written in one place."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from keras_gvae.io import write_json, write_text


@dataclasses.dataclass(frozen=True)
class RunDirectory:
    """A run directory of `keras_gvae.training.train` (or its ``.NAME.partial-*``): its
    settings (config.json), its metrics (metrics.json) and its model card (MODEL_CARD.md).
    Every file is written atomically.

    Args:
        path: the directory (a `pathlib.Path` or a str).

    Example:
    >>> run = RunDirectory("runs/guided-shapes-20260101-120000")  # doctest: +SKIP
    >>> run.config()["seed"], run.metrics()["status"]  # doctest: +SKIP
    (0, 'complete')
    """

    path: Path

    CONFIG = "config.json"
    METRICS = "metrics.json"
    CARD = "MODEL_CARD.md"

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    def config(self) -> dict:
        """The run's settings as config.json records them (OSError or ValueError when it is
        missing or unreadable)."""
        return json.loads((self.path / self.CONFIG).read_text())

    def metrics(self) -> dict:
        """The run's metrics.json as a dict."""
        return json.loads((self.path / self.METRICS).read_text())

    def card(self) -> str:
        """The run's model card."""
        return (self.path / self.CARD).read_text()

    def write_config(self, settings: dict):
        write_json(self.path / self.CONFIG, settings)

    def write_metrics(self, metrics: dict):
        write_json(self.path / self.METRICS, metrics)

    def write_card(self, text: str):
        write_text(self.path / self.CARD, text)
