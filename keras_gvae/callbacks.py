"""Training callbacks that keep a run's good state: stop on a non-finite loss, keep the best model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import keras

from keras_gvae.io import save_model_atomic, write_json


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or Inf loss term; ``step`` and ``terms`` say where and which."""

    def __init__(self, message, step=None, terms=()):
        super().__init__(message)
        self.step = step
        self.terms = tuple(terms)


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops training at the first step whose logged loss terms are NaN or Inf.

    The batch logs are the epoch's running means, so the first step at which one turns
    non-finite is the step that produced it. After ``fit`` returns, ``failure`` is None, or
    ``(step, epoch, {term: value})`` with ``step`` counted from the start of training (the
    main optimizer's iterations) and ``epoch`` from 1.
    """

    def __init__(self):
        super().__init__()
        self.failure = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        bad = {}
        for name, value in (logs or {}).items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if not math.isfinite(number):
                bad[name] = number
        if bad and self.failure is None:
            step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            self.failure = (step, self._epoch + 1, bad)
            self.model.stop_training = True

    def message(self):
        """One line naming the step, the epoch and the non-finite terms (None if none)."""
        if self.failure is None:
            return None
        step, epoch, bad = self.failure
        # The terms first, "loss" (their sum) last: the first named is where it started.
        names = sorted(bad, key=lambda k: (k == "loss", k))
        terms = ", ".join(f"{k}={'NaN' if math.isnan(v) else v}" for k, v in
                          ((k, bad[k]) for k in names))
        return f"training stopped at step {step} (epoch {epoch}): non-finite loss term(s) {terms}"


class BestModel(keras.callbacks.Callback):
    """Saves the model to ``path`` (atomically) whenever the epoch's ``monitor`` is the
    lowest so far; the best value is kept in ``path`` + ``.json`` so a resumed run goes on
    comparing with it.

    Args:
        path: str or Path ending in ``.keras``.
        monitor: str, the epoch log to minimise. Default "val_loss".
    """

    def __init__(self, path, monitor="val_loss"):
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.record = self.path.with_name(self.path.name + ".json")
        self.best = read_best(self.path)
        self.best_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise ValueError(f"BestModel expected {self.monitor!r} in the epoch logs; got "
                             f"{sorted(logs or {})}")
        value = float(value)
        if math.isfinite(value) and (self.best is None or value < self.best):
            save_model_atomic(self.model, self.path)
            write_json(self.record, {"monitor": self.monitor, "value": value, "epoch": epoch + 1})
            self.best, self.best_epoch = value, epoch + 1


def read_best(path):
    """The monitored value of the model saved at ``path`` by :class:`BestModel`, or None."""
    path = Path(path)
    try:
        record = json.loads(path.with_name(path.name + ".json").read_text())
        return float(record["value"]) if path.is_file() else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
