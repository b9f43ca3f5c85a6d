"""What a run trains on and with: its data pipeline, the model built and compiled inside its
distribution strategy, and Adam's learning-rate schedule."""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_gvae.errors import ParameterError
from keras_gvae.registry import dataset_entry
from keras_gvae.training.config import (
    LR_SCHEDULES,
    STRATEGIES,
    image_size_problem,
    is_folder,
    model_registry,
    resolve,
)

# The size a folder's images are resized to when the files leave it open (mixed sizes, or
# one the built-in networks cannot take).
DEFAULT_FOLDER_SIZE = (64, 64)


def resolve_data(config, notify=None):
    """``config`` with what it leaves to "auto" about its folder of images decided from the
    files' headers: the image size (the files' own when they all share one the built-in
    networks take, else `DEFAULT_FOLDER_SIZE`), the colour mode (grey if every image is,
    else RGB) and the labels (the class sub-folders when every image lies in one of two or
    more, else none). A config of a named dataset, or with nothing left to decide, comes
    back as it is.

    ``notify(parameter, text)``, when given, is told what was decided about the folder: one
    line on its images and the held-out ones, and one for each conversion (resizing,
    converting colours), naming the parameter that would choose otherwise.

    Raises:
        keras_gvae.errors.ParameterError: ``labels="folders"`` on a folder without class
            sub-folders, or fewer images to train on than ``batch_size``.
        keras_gvae.data.DatasetError: a file that is not an image (named), an empty folder.
    """
    if not is_folder(config.dataset) or (
        config.image_size is not None and "auto" not in (config.color_mode, config.labels)
    ):
        return config
    from keras_gvae.data import scan_folder, split_held_out

    notify = notify or (lambda parameter, text: None)
    folder = scan_folder(config.dataset)
    path, names, classes = folder.files.path, folder.names, folder.class_names
    labels = config.labels
    if labels == "auto":
        labels = "folders" if len(classes) >= 2 else "none"
    if labels == "folders" and not classes:
        loose = [n for n in names if "/" not in n]
        raise ParameterError(
            "labels",
            f"{path}: labels 'folders' needs every image in a class sub-folder, but "
            f"{len(loose)} of its {len(names)} images lie directly in it (e.g. {loose[0]}); "
            "expected labels 'none' to read them without labels",
        )
    train, held = split_held_out(names, config.held_out, config.held_out_seed)
    if len(train) < config.batch_size:
        raise ParameterError(
            "batch_size",
            f"{path} has {len(train)} images to train on ({len(held)} held out), fewer than "
            f"batch_size {config.batch_size}",
        )
    described = f"in {len(classes)} class sub-folders" if labels == "folders" else "without labels"
    notify(
        "held_out",
        f"{path}: {len(names)} images {described}; {len(held)} of them held out for the "
        f"evaluation ({config.held_out:g}, seed {config.held_out_seed}), never trained on",
    )
    color_mode = config.color_mode
    if color_mode == "auto":
        color_mode = "grayscale" if folder.channels == [1] else "rgb"
        if folder.channels == [1, 3]:
            grey = sum(1 for h in folder.headers.values() if h[2] == 1)
            notify(
                "color_mode",
                f"{path}: {grey} grey and {len(names) - grey} colour images; converting them "
                "all to RGB",
            )
    size = config.image_size
    if size is None:
        sizes = folder.sizes
        problem = None if len(sizes) > 1 else image_size_problem(sizes[0])
        if len(sizes) == 1 and problem is None:
            size = sizes[0]
        else:
            size = DEFAULT_FOLDER_SIZE
            what = (
                f"images of {len(sizes)} sizes ({_size(sizes[0])} to {_size(sizes[-1])})"
                if len(sizes) > 1
                else f"{_size(sizes[0])} images ({problem})"
            )
            notify("image_size", f"{path}: {what}; resizing them all to {_size(size)}")
    return dataclasses.replace(config, image_size=size, color_mode=color_mode, labels=labels)


def _size(size):
    return f"{size[0]}x{size[1]}"


def make_pipeline(config, seed, batch_size, attributes=None, drop_remainder=True, subset="train"):
    """Batched ``(images, labels)`` from ``config.dataset``: a name or a folder of images.

    Of a folder, ``subset`` "train" reads the images not held out (`resolve_data` decides
    how), "held_out" the ones held out (images only when it has no labels); of a named
    dataset, its training split.
    """
    from keras_gvae import data

    if is_folder(config.dataset):
        config = resolve_data(config)
        return data.from_directory(
            config.dataset,
            image_size=config.image_size,
            color_mode=config.color_mode,
            labels="inferred" if config.labels == "folders" else None,
            batch_size=batch_size,
            seed=seed,
            drop_remainder=drop_remainder,
            held_out=config.held_out,
            subset=subset,
            split_seed=config.held_out_seed,
        )
    return data.load(
        config.dataset,
        split="train",
        data_dir=config.data_dir,
        batch_size=batch_size,
        seed=seed,
        attributes=attributes,
        drop_remainder=drop_remainder,
        image_size=config.image_size,
    )


@dataclasses.dataclass
class TrainingData:
    """What `training_data` returns; unpacks as ``(train, eval_images, eval_labels,
    input_shape)``.

    Args:
        train: tf.data.Dataset, the training batches, repeated forever.
        eval_images: float32 (N, H, W, C), held-out images for the final evaluation.
        eval_labels: their labels, or None when the data has none.
        input_shape: (H, W, C) of the images.
        config: the run's `TrainConfig` with its folder settings decided (`resolve_data`).
        held_out: dict saying where ``eval_images`` come from (recorded in config.json).
    """

    train: object
    eval_images: np.ndarray
    eval_labels: np.ndarray | None
    input_shape: tuple
    config: object
    held_out: dict

    def __iter__(self):
        return iter((self.train, self.eval_images, self.eval_labels, self.input_shape))


def training_data(config, notify=None):
    """The run's `TrainingData`: the training pipeline and up to ``config.eval_images``
    held-out images from images the model does not train on, where the dataset has them.

    The training pipeline repeats forever (``fit`` uses ``steps_per_epoch``). The held-out
    images are a folder's held-out fraction (`resolve_data`; ``notify`` is told what it
    decided), a dataset's test split (its registry ``test_split``), or, for a dataset
    without one (the shapes, an endless stream of fresh draws; dSprites), a sample of the
    training split drawn with another seed; when the test split cannot be read (its files
    are missing), that sample too, and ``notify`` says so.
    """
    config = resolve_data(config, notify)
    names = resolve(config).label_names
    attributes = None if names is None else list(names)
    train = make_pipeline(config, config.seed, config.batch_size, attributes)
    if train.cardinality() == 0:
        raise ParameterError(
            "batch_size",
            f"dataset {config.dataset!r} has fewer images than batch_size {config.batch_size}",
        )
    train = train.repeat()
    spec = train.element_spec
    input_shape = tuple(int(s) for s in (spec[0] if isinstance(spec, tuple) else spec).shape[1:])
    held_out, source = _held_out_pipeline(config, attributes, notify)
    images, labels = [], []
    for batch in held_out.take(-(-config.eval_images // 64)):
        x, y = batch if isinstance(batch, tuple) else (batch, None)
        images.append(x.numpy())
        labels.append(None if y is None else y.numpy())
    eval_images = np.concatenate(images)[: config.eval_images].astype(np.float32)
    eval_labels = None if labels[0] is None else np.concatenate(labels)[: config.eval_images]
    source["images"] = len(eval_images)
    return TrainingData(train, eval_images, eval_labels, input_shape, config, source)


def _held_out_pipeline(config, attributes, notify):
    """``(batches of 64 held-out images, dict saying where they come from)``."""
    from keras_gvae import data

    if is_folder(config.dataset):
        ds = make_pipeline(config, config.seed + 1, 64, drop_remainder=False, subset="held_out")
        return ds, {"split": "held_out", "fraction": config.held_out, "seed": config.held_out_seed}
    test_split = dataset_entry(config.dataset).test_split
    if test_split is not None:
        try:
            ds = data.load(
                config.dataset,
                split=test_split,
                data_dir=config.data_dir,
                batch_size=64,
                seed=config.seed + 1,
                attributes=attributes,
                image_size=config.image_size,
            )
            return ds, {"split": test_split}
        except data.DatasetError as err:
            why = f"its {test_split} split cannot be read ({err})"
            if notify is not None:
                notify("data_dir", f"{config.dataset}: {why}; held-out images drawn from train")
    elif config.dataset.startswith("shapes"):
        why = "an endless stream of fresh random draws: the held-out ones are another seed's"
    else:
        why = f"{config.dataset} has no test split"
    ds = make_pipeline(config, config.seed + 1, 64, attributes, drop_remainder=False).repeat()
    return ds, {"split": "train", "seed": config.seed + 1, "why": why}


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
    """The model of ``config`` (a `Recipe`, or a TrainConfig), built and compiled inside its
    distribution strategy's scope: the model class of ``config.model`` with its
    ``latent_dim``, ``beta``, ``likelihood``, ``seed``, ``precision`` and ``model_kwargs``,
    and Adam with its ``learning_rate``, ``lr_schedule`` and ``clip_norm``."""
    with distribution_strategy(config.strategy).scope():
        return _build_model(config, input_shape)


def _build_model(config, input_shape):
    import keras

    cls = model_registry()[config.model]
    names = resolve(config).label_names
    kwargs = {} if names is None else {"attributes": list(names)}
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
