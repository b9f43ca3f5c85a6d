"""Training callbacks: stop on a non-finite loss, keep the best model, log to TensorBoard."""

from __future__ import annotations

import json
import math
from pathlib import Path

import keras
import numpy as np

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
        terms = ", ".join(
            f"{k}={'NaN' if math.isnan(v) else v}" for k, v in ((k, bad[k]) for k in names)
        )
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
            raise ValueError(
                f"BestModel expected {self.monitor!r} in the epoch logs; got {sorted(logs or {})}"
            )
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


class TensorBoard(keras.callbacks.Callback):
    """TensorBoard summaries of a (Guided-)VAE, every epoch: the loss terms, the learning
    rate, reconstructions and the latent traversals of every decoder.

    The layout is ``keras.callbacks.TensorBoard``'s: under ``log_dir/train``, a scalar
    ``epoch_NAME`` for every number in the epoch's logs (each loss term; the metrics of
    callbacks placed before this one, such as
    :class:`keras_gvae.evaluation.DisentanglementCallback`'s ``mig``) and
    ``epoch_learning_rate`` (the main optimizer's rate at the epoch's end, after its
    schedule); under ``log_dir/validation``, the ``val_*`` logs as ``epoch_NAME``. With
    ``images``, ``log_dir/train`` also gets the image ``reconstructions`` (inputs, the main
    decoder's reconstructions and, for GuidedVAE, the sub-decoder's renderings of the first
    ``num_images`` images) and one ``traversal/NAME`` per decoder (``traversal/main``,
    and ``traversal/sub`` for GuidedVAE: each unit swept over ``values`` around the first
    image's posterior mean), the pictures ``gvae train`` saves at the end. The step is the
    epoch (from 0). Non-finite values are not written (DisentanglementCallback logs NaN on
    the epochs it skips). It needs no ``tensorboard`` package (see
    :mod:`keras_gvae.summaries`); ``tensorboard --logdir LOG_DIR`` shows the events.

    Args:
        log_dir: str or Path, the folder of the event files.
        images: optional fixed images (N, H, W, C) in [0, 1], e.g. held-out ones.
        num_images: int, how many of ``images`` the reconstruction grid shows. Default 10.
        values: the traversal values. Default ``linspace(-2.5, 2.5, 9)``.
        image_every_n_epochs: int, draw the images on epochs 0, n, 2n ... and the last one.
            Default 1.

    Example:
    >>> model.fit(x, epochs=10, callbacks=[DisentanglementCallback(data),
    ...                                    TensorBoard("logs", images=x_held_out[:10])])
    """

    def __init__(self, log_dir, images=None, num_images=10, values=None, image_every_n_epochs=1):
        super().__init__()
        if image_every_n_epochs < 1:
            raise ValueError(f"image_every_n_epochs must be >= 1; got {image_every_n_epochs}")
        self.log_dir = Path(log_dir)
        self.images = None if images is None else np.asarray(images, np.float32)[:num_images]
        self.values = values
        self.image_every_n_epochs = image_every_n_epochs
        self._writers = {}

    def _writer(self, name):
        import tensorflow as tf

        if name not in self._writers:
            self._writers[name] = tf.summary.create_file_writer(str(self.log_dir / name))
        return self._writers[name]

    def learning_rate(self):
        """The main optimizer's current learning rate (after its schedule), or None."""
        optimizer = getattr(self.model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # LossScaleOptimizer
        if optimizer is None or not hasattr(optimizer, "learning_rate"):
            return None
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        from keras_gvae import summaries

        train, validation = {}, {}
        for name, value in (logs or {}).items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if math.isfinite(number):
                if name.startswith("val_"):
                    validation[name[4:]] = number
                else:
                    train[name] = number
        rate = self.learning_rate()
        if rate is not None and "learning_rate" not in train:
            train["learning_rate"] = rate
        for folder, values in (("train", train), ("validation", validation)):
            if values:
                with self._writer(folder).as_default():
                    for name, number in values.items():
                        summaries.scalar(f"epoch_{name}", number, step=epoch)
        if self.images is not None and self._images_due(epoch):
            with self._writer("train").as_default():
                for tag, picture in self.pictures().items():
                    summaries.image(tag, picture, step=epoch)
        for writer in self._writers.values():
            writer.flush()

    def _images_due(self, epoch):
        last = self.params.get("epochs") if self.params else None
        return epoch % self.image_every_n_epochs == 0 or (last is not None and epoch == last - 1)

    def pictures(self):
        """``{tag: PIL image}``: the reconstruction grid and each decoder's traversal."""
        from keras_gvae import visualization

        pictures = {"reconstructions": visualization.reconstruction_figure(self.model, self.images)}
        panels = visualization.traversal_panels(self.model, x=self.images[:1], values=self.values)
        pictures.update({f"traversal/{name}": panel for name, panel in panels.items()})
        return pictures

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
