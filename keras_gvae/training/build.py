"""What a run trains on and with: its data pipeline, the model built and compiled inside its
distribution strategy, and Adam's learning-rate schedule."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_gvae.errors import ParameterError
from keras_gvae.registry import model_entry
from keras_gvae.training.config import LR_SCHEDULES, STRATEGIES, model_registry


def make_pipeline(config, seed, batch_size, attributes=None, drop_remainder=True):
    """Batched ``(images, labels)`` from ``config.dataset``: a name or a folder of images."""
    from keras_gvae import data

    if Path(config.dataset).is_dir():
        return data.from_directory(
            config.dataset, batch_size=batch_size, seed=seed, drop_remainder=drop_remainder
        )
    return data.load(
        config.dataset,
        split="train",
        data_dir=config.data_dir,
        batch_size=batch_size,
        seed=seed,
        attributes=attributes,
        drop_remainder=drop_remainder,
    )


def training_data(config):
    """Returns ``(train_dataset, eval_images, eval_labels, input_shape)``.

    The training pipeline repeats forever (``fit`` uses ``steps_per_epoch``); the
    evaluation images are a fixed sample drawn with another seed.
    """
    attributes = list(config.attributes) if model_entry(config.model).needs_labels else None
    train = make_pipeline(config, config.seed, config.batch_size, attributes)
    if train.cardinality() == 0:
        raise ParameterError(
            "batch_size",
            f"dataset {config.dataset!r} has fewer images than batch_size {config.batch_size}",
        )
    train = train.repeat()
    input_shape = tuple(int(s) for s in train.element_spec[0].shape[1:])
    held_out = make_pipeline(config, config.seed + 1, 64, attributes, drop_remainder=False).repeat()
    images, labels = [], []
    for x, y in held_out.take(-(-config.eval_images // 64)):
        images.append(x.numpy())
        labels.append(y.numpy())
    eval_images = np.concatenate(images)[: config.eval_images].astype(np.float32)
    eval_labels = np.concatenate(labels)[: config.eval_images]
    return train, eval_images, eval_labels, input_shape


def learning_rate(rate, schedule="constant", total_steps=None):
    """Adam's learning rate: ``rate`` for "constant"; for "cosine", a
    :class:`keras.optimizers.schedules.CosineDecay` from ``rate`` to 0 over ``total_steps``
    optimizer steps (the run's batches). A schedule is part of the optimizer's config, so the
    supervised model's adversary and inhibition optimizers (copies) follow it too and
    ``load_model`` restores it; a finished cosine run therefore trains on at rate 0 until
    it is recompiled with a new optimizer."""
    import keras

    if schedule == "constant":
        return rate
    if schedule != "cosine":
        raise ValueError(f"schedule must be one of {LR_SCHEDULES}; got {schedule!r}")
    if not total_steps or total_steps < 1:
        raise ValueError(f"the cosine schedule needs total_steps >= 1; got {total_steps!r}")
    return keras.optimizers.schedules.CosineDecay(rate, decay_steps=int(total_steps))


def distribution_strategy(name="default"):
    """The ``tf.distribute`` strategy ``name`` stands for: "default" (one device),
    "mirrored" (every visible GPU, else every logical CPU device) or "multi-worker" (every
    worker of TF_CONFIG, each with its local GPUs or its CPU; made once per process, before
    any other TensorFlow operation). The global batch is split between the replicas."""
    import tensorflow as tf

    if name == "multi-worker":
        from keras_gvae.distributed import multi_worker_strategy

        return multi_worker_strategy()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    raise ValueError(f"strategy must be one of {STRATEGIES}; got {name!r}")


def build_model(config, input_shape):
    """``config``'s model, built and compiled inside its distribution strategy's scope."""
    with distribution_strategy(config.strategy).scope():
        return _build_model(config, input_shape)


def _build_model(config, input_shape):
    import keras

    cls = model_registry()[config.model]
    kwargs = (
        {"attributes": list(config.attributes)} if model_entry(config.model).needs_labels else {}
    )
    kwargs.update(config.model_kwargs)
    model = cls(
        input_shape=input_shape,
        latent_dim=config.latent_dim,
        beta=config.beta,
        likelihood=config.likelihood,
        seed=config.seed,
        **kwargs,
        # The model's own policy (its layers follow it): the global policy is never set,
        # so nothing leaks into models built later in the process.
        dtype=config.precision,
    )
    # global_clipnorm is part of the optimizer's config, so the supervised model's adversary
    # and inhibition optimizers (copies of this one) clip too, and load_model restores it.
    rate = learning_rate(
        config.learning_rate, config.lr_schedule, config.epochs * config.steps_per_epoch
    )
    model.compile(optimizer=keras.optimizers.Adam(rate, global_clipnorm=config.clip_norm))
    return model
