"""A Keras callback that tracks disentanglement metrics during training.

The only module of ``keras_gvae.evaluation`` that imports Keras / TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import keras
import numpy as np

from keras_gvae.evaluation.disentanglement_scores import evaluate_disentanglement

if TYPE_CHECKING:
    from keras_gvae.data.ground_truth_data import GroundTruthData


class DisentanglementCallback(keras.callbacks.Callback):
    """Computes disentanglement metrics of ``model.encode(x)[0]`` at the end of epochs.

    The representation is the posterior mean: ``model.encode(x)`` must return
    ``(z_mean, z_log_var)``; observations are encoded in chunks of ``encode_batch_size``.
    Results (keys of ``evaluate_disentanglement``, e.g. ``"mig"``, ``"dci/completeness"``)
    are written into ``logs``, so they reach ``History`` and callbacks placed after this one
    (e.g. ``CSVLogger``, or :class:`keras_gvae.callbacks.TensorBoard`, which writes them as
    ``epoch_mig`` ... beside the loss terms), and optionally to TensorBoard by itself
    (``log_dir``). Metrics run on epochs 0,
    ``every_n_epochs``, ``2 * every_n_epochs`` ... (Keras' ``epoch % freq == 0`` convention)
    and on the last epoch; other epochs log NaN so every History list stays one per epoch.

    Args:
        ground_truth_data: ``GroundTruthData`` to sample from.
        metrics: Names from ``keras_gvae.evaluation.METRICS`` or ``"all"``. Defaults to
            ``("mig",)``.
        every_n_epochs: Evaluation period in epochs. Defaults to 1.
        seed: Seed of every metric; the same seed each time, so epochs are compared on the
            same samples. Defaults to 0.
        log_dir: If given, a folder for TensorBoard scalars (``tf.summary``, step = epoch).
            Defaults to ``None``.
        encode_batch_size: Maximum observations per ``model.encode`` call. Defaults to 256.
        **sizes: Sample sizes forwarded to ``evaluate_disentanglement`` (``num_train``,
            ``num_test``, ``num_eval``, ``batch_size`` ...).

    Example:
    >>> callback = DisentanglementCallback(data, metrics=("mig", "dci"), num_train=2000)
    >>> history = model.fit(x, epochs=10, callbacks=[callback])
    >>> history.history["mig"]
    """

    def __init__(
        self,
        ground_truth_data: GroundTruthData,
        metrics: str | Sequence[str] = ("mig",),
        every_n_epochs: int = 1,
        seed: int = 0,
        log_dir: str | None = None,
        encode_batch_size: int = 256,
        **sizes,
    ):
        super().__init__()
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be >= 1; got {every_n_epochs}.")
        self.ground_truth_data = ground_truth_data
        self.metrics = metrics if isinstance(metrics, str) else tuple(metrics)
        self.every_n_epochs = every_n_epochs
        self.seed = seed
        self.log_dir = log_dir
        self.encode_batch_size = encode_batch_size
        self.sizes = sizes
        self._keys: list[str] = []
        self._writer = None

    def representation_fn(self, observations: np.ndarray) -> np.ndarray:
        """Posterior means ``model.encode(x)[0]`` of ``observations`` as a numpy array."""
        chunks = [
            keras.ops.convert_to_numpy(
                self.model.encode(observations[i : i + self.encode_batch_size])[0]
            )
            for i in range(0, len(observations), self.encode_batch_size)
        ]
        return np.concatenate(chunks, axis=0)

    def _due(self, epoch: int) -> bool:
        last = self.params.get("epochs") if self.params else None
        return epoch % self.every_n_epochs == 0 or (last is not None and epoch == last - 1)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            logs = {}
        if not self._due(epoch):
            logs.update({key: math.nan for key in self._keys})
            return
        results = evaluate_disentanglement(
            self.ground_truth_data,
            self.representation_fn,
            metrics=self.metrics,
            seed=self.seed,
            **self.sizes,
        )
        self._keys = list(results)
        logs.update(results)
        if self.log_dir is not None:
            self._write_summaries(results, epoch)

    def _write_summaries(self, results: dict[str, float], epoch: int) -> None:
        import tensorflow as tf

        from keras_gvae import summaries

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default():
            for key, value in results.items():
                summaries.scalar(key, value, step=epoch)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
