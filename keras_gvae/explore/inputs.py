"""The explorer's starting images: an uploaded file converted to the model's input, and
held-out images of the dataset a run was trained on."""

from __future__ import annotations

from pathlib import Path

import numpy as np

HELD_OUT_COUNT = 64


class UploadError(ValueError):
    """An uploaded file that is not an image the model can take (one-line message)."""


class HeldOutError(ValueError):
    """No held-out images for a model: unknown dataset, or its files are missing.

    ``parameter`` names the parameter that would supply them ("data_dir"), or is None, as
    `keras_gvae.errors.ParameterError`'s does: the message writes it as ``data_dir=`` and a
    front end may spell it its own way (`gvae explore` names its flag).
    """

    def __init__(self, message, parameter=None):
        super().__init__(message)
        self.parameter = parameter


def read_upload(model, path):
    """The image file at ``path`` as the model's input: float32 (H, W, C) in [0, 1].

    The image is converted to the model's channels (grey for 1, RGB for 3; transparent
    pixels become black), resized to its height and width (bilinear, antialiased), scaled
    from 0..255 to [0, 1], and checked as ``model.encode`` checks its inputs.

    Raises:
        UploadError: the file is missing, not an image, or the model takes another number
            of channels; the message is one line.
    """
    from PIL import Image, UnidentifiedImageError

    height, width, channels = model.image_shape
    if channels not in (1, 3):
        raise UploadError(
            f"the model takes {channels}-channel images; an upload can become 1 (grey) or 3 "
            "(RGB) channels only"
        )
    if path is None:
        raise UploadError("no file uploaded; expected an image file (PNG, JPEG, ...)")
    name = Path(str(path)).name
    try:
        with Image.open(path) as opened:
            opened.load()
            image = opened.convert("RGBA")
    except (UnidentifiedImageError, Image.DecompressionBombError) as err:
        raise UploadError(f"{name} is not an image PIL can read; expected PNG, JPEG, ...") from err
    except (OSError, SyntaxError, ValueError) as err:
        raise UploadError(
            f"{name} could not be read as an image ({' '.join(str(err).split())}); expected an "
            "undamaged PNG, JPEG, ..."
        ) from err
    background = Image.new("RGBA", image.size, (0, 0, 0, 255))
    image = Image.alpha_composite(background, image).convert("L" if channels == 1 else "RGB")
    image = image.resize((width, height), Image.BILINEAR)
    pixels = np.asarray(image, np.float32).reshape(height, width, channels) / 255.0
    check_image(model, pixels)
    return pixels


def check_image(model, image):
    """Runs ``model.encode``'s checks on one image; an `UploadError` names what failed."""
    import tensorflow as tf

    try:
        model.check_values(model.check_images(np.asarray(image)[None]))
    except (ValueError, tf.errors.InvalidArgumentError) as err:
        text = getattr(err, "message", None) or str(err)
        raise UploadError(" ".join(text.strip().splitlines()[0].split())) from err


def run_config(model_path):
    """The ``config.json`` of the run directory holding ``model_path`` (a run directory or
    its model file), or None when there is none."""
    from keras_gvae.training.run_dir import RunDirectory

    path = Path(model_path)
    run = RunDirectory(path if path.is_dir() else path.parent)
    try:
        loaded = run.config()
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def held_out_images(model, config, run_dir=None, data_dir=None, count=HELD_OUT_COUNT):
    """``count`` held-out images of the run's dataset, float32 (count, H, W, C), chosen as
    `gvae train` chooses its held-out images: a folder's held-out fraction (``held_out``,
    ``held_out_seed``), a dataset's test split, or, for a dataset without one (the embedded
    shapes: endless fresh draws), its training split drawn with the run's seed + 1.

    Args:
        model: the model; the images must have its input shape.
        config: the run's ``config.json`` as a dict (``dataset``, ``data_dir``, ``seed``,
            ``image_size``, ``color_mode``, ``held_out``...), or None: then a model taking
            64 x 64 x 1 images gets the embedded shapes, as `gvae traverse` does, and any
            other model none.
        run_dir: the run directory, to find a relative ``data_dir`` of the config from the
            folder the run was trained in (its parent's parent, the repository for
            ``saved_models/NAME``).
        data_dir: a folder that overrides the config's ``data_dir``.
        count: how many images.

    Raises:
        HeldOutError: no dataset is known, or it cannot be read (one line, naming it).
    """
    import tensorflow as tf

    config = dict(config or {})
    dataset = config.get("dataset")
    if dataset is None:
        if tuple(model.image_shape) != (64, 64, 1):
            raise HeldOutError(
                "no held-out images: the model has no config.json naming its dataset; "
                "expected a run directory written by `gvae train`"
            )
        dataset = "shapes"
    folders = _data_dirs(data_dir if data_dir is not None else config.get("data_dir"), run_dir)
    errors = []
    for folder in folders:
        try:
            batch = next(iter(_held_out_dataset(dataset, config, folder, count)))
            images = (batch[0] if isinstance(batch, tuple) else batch).numpy()
            break
        except (ValueError, OSError, StopIteration, tf.errors.OpError) as err:
            errors.append(" ".join(str(err).split()) or type(err).__name__)
    else:
        where = f" (data_dir {folders[0]})" if folders and folders[0] else ""
        raise HeldOutError(
            f"no held-out images of {dataset!r}{where}: {errors[-1]}; pass data_dir= with its "
            "files",
            parameter="data_dir",
        )
    images = images.astype(np.float32)
    if images.shape[1:] != tuple(model.image_shape):
        raise HeldOutError(
            f"the held-out images of {dataset!r} are shaped {images.shape[1:]}; the model "
            f"expects {tuple(model.image_shape)}"
        )
    return images


def _held_out_dataset(dataset, config, folder, count):
    """Batches of ``count`` held-out images (and labels) of ``dataset`` (see
    :func:`held_out_images`)."""
    from keras_gvae import data
    from keras_gvae.registry import dataset_entry

    seed = int(config.get("seed") or 0) + 1
    image_size = config.get("image_size")
    if Path(dataset).is_dir():
        held_out = config.get("held_out") or 0.0
        return data.from_directory(
            dataset,
            image_size=image_size,
            color_mode=config.get("color_mode") or "auto",
            labels=None,
            batch_size=count,
            seed=seed,
            held_out=held_out,
            subset="held_out" if held_out else None,
            split_seed=int(config.get("held_out_seed") or 0),
        )
    test_split = dataset_entry(dataset).test_split
    return data.load(
        dataset,
        split=test_split or "train",
        data_dir=folder,
        source="auto" if folder is None else "local",
        batch_size=count,
        seed=seed,
        cache=False,
        image_size=image_size,
    )


def _data_dirs(data_dir, run_dir):
    """Where a (maybe relative) ``data_dir`` may be: as given, then from the repository
    holding ``run_dir`` (``run_dir/../..``)."""
    if data_dir is None:
        return [None]
    candidates = [Path(data_dir)]
    if not Path(data_dir).is_absolute() and run_dir is not None:
        candidates.append(Path(run_dir).resolve().parent.parent / data_dir)
    existing = [str(c) for c in candidates if c.exists()]
    return existing or [str(candidates[0])]
