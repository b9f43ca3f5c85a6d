"""The settings of one training run (`TrainConfig`), their checks, and how a run directory's
settings are read back to resume it."""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

from keras_gvae.errors import ParameterError
from keras_gvae.io import (
    OutputExistsError,
)
from keras_gvae.registry import dataset_entry, model_entry, model_names

# ``--model`` names (keras_gvae.registry: their classes, default beta, whether they need labels).
MODEL_NAMES = model_names()


LR_SCHEDULES = ("constant", "cosine")


# Keras dtype policies a run may train in (the model's ``dtype``; see VAE's docstring).
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


# ``--strategy``: one device; tf.distribute.MirroredStrategy over every visible GPU (or
# every logical CPU device when there is no GPU); MultiWorkerMirroredStrategy over the
# machines of TF_CONFIG (see keras_gvae.distributed).
STRATEGIES = ("default", "mirrored", "multi-worker")


@dataclasses.dataclass
class TrainConfig:
    """Settings of one training run; the CLI flags of ``gvae train`` map onto these.

    The default budget (10 epochs x 100 steps x 64 images, GuidedVAE on the embedded
    shapes) finishes in under 5 minutes on a 2-core CPU.
    """

    model: str = "guided"
    dataset: str = "shapes"
    data_dir: str | None = None
    epochs: int = 10
    steps_per_epoch: int = 100
    batch_size: int = 64
    latent_dim: int = 10
    beta: float | None = None
    learning_rate: float = 5e-4
    clip_norm: float | None = None
    lr_schedule: str = "constant"
    seed: int = 0
    out: str | None = None
    overwrite: bool = False
    attributes: tuple[str, ...] | None = None
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    eval_images: int = 512
    likelihood: str | None = None
    export: bool = False
    slim: bool = False
    command: str | None = None
    verbose: int | str = "auto"
    # The name of the keras_gvae.presets recipe these settings came from, if any.
    preset: str | None = None
    # The model's dtype policy, one of PRECISIONS.
    precision: str = "float32"
    # Back the training state up every this many steps too (it always is every epoch).
    backup_every: int | None = None
    # Keep best.keras, the model of the epoch with the lowest held-out loss.
    save_best: bool = False
    # A finished or interrupted run directory this run continues (see `resume_config`).
    resume: str | None = None
    # One of STRATEGIES (see `distribution_strategy`).
    strategy: str = "default"
    # Write TensorBoard summaries every epoch into RUN_DIR/tensorboard (see TENSORBOARD).
    tensorboard: bool = False
    # How the images are read. For every dataset, (height, width) to resize them to. For a
    # folder of images (``dataset`` a path) also: None leaves the size to the files (their
    # own when they share one the built-in networks take, else 64x64), color_mode is
    # "auto" (grey if every image is, else RGB), "grayscale" or "rgb", labels "auto" (the
    # class sub-folders when every image lies in one), "folders" or "none"; a run records
    # what "auto" chose (keras_gvae.training.build.resolve_data).
    image_size: tuple[int, int] | None = None
    color_mode: str = "auto"
    labels: str = "auto"
    # The fraction of a folder's images set aside as held-out, never trained on, chosen by
    # held_out_seed (keras_gvae.data.split_held_out).
    held_out: float = 0.1
    held_out_seed: int = 0

    def __post_init__(self):
        checks = {
            "epochs": self.epochs >= 1,
            "steps_per_epoch": self.steps_per_epoch >= 1,
            "batch_size": self.batch_size >= 1,
            "latent_dim": self.latent_dim >= 1,
            "learning_rate": math.isfinite(self.learning_rate) and self.learning_rate > 0,
            "clip_norm": self.clip_norm is None
            or (math.isfinite(self.clip_norm) and self.clip_norm > 0),
            "eval_images": self.eval_images >= 1,
            "backup_every": self.backup_every is None or self.backup_every >= 1,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            kind = "a finite number" if bad[0] in ("learning_rate", "clip_norm") else "an integer"
            raise ParameterError(
                bad[0], f"{bad[0]}={getattr(self, bad[0])!r}: expected {kind} above 0"
            )
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}; got {self.lr_schedule!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}; got {self.precision!r}")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}; got {self.strategy!r}")
        if self.model not in MODEL_NAMES:
            raise ValueError(f"model must be one of {MODEL_NAMES}; got {self.model!r}")
        if isinstance(self.attributes, str):
            self.attributes = tuple(a.strip() for a in self.attributes.split(",") if a.strip())
        resolved = resolve(self)
        self.beta, self.likelihood = resolved.beta, resolved.likelihood
        self.model_kwargs = dict(self.model_kwargs or {})
        reserved = {"input_shape", "latent_dim", "beta", "likelihood", "seed", "attributes"}
        clash = sorted(reserved & set(self.model_kwargs))
        if clash:
            raise ParameterError(
                clash[0],
                f"model arguments {clash} are TrainConfig fields of their own: set {clash[0]}",
            )
        accepted = model_arguments(self.model)
        unknown = sorted(set(self.model_kwargs) - accepted)
        if unknown:
            raise ParameterError(
                "model_kwargs",
                f"unknown model arguments {unknown} for model {self.model!r}; expected some of "
                f"{sorted(accepted - reserved)}",
            )
        _check_model_argument_kinds(self.model, self.model_kwargs)
        _check_data_settings(self)


@dataclasses.dataclass(frozen=True)
class Resolved:
    """What a recipe's model and dataset names imply (`resolve`).

    Args:
        beta: float, the KL weight: the recipe's, else the model's default.
        likelihood: str, the decoder's likelihood: the recipe's, else the dataset's.
        label_names: tuple of str, the named attributes the model trains on (its labels,
            the recipe's ``attributes``), or None for a model that trains on images alone.
    """

    beta: float
    likelihood: str
    label_names: tuple[str, ...] | None

    @property
    def needs_labels(self) -> bool:
        return self.label_names is not None


def resolve(recipe) -> Resolved:
    """The values a recipe (a `TrainConfig`, or anything with its ``model``, ``dataset``,
    ``beta``, ``likelihood`` and ``attributes``) leaves to its model and dataset, read from
    keras_gvae.registry in this one place: the default beta and likelihood, and whether the
    model trains on labels.

    Raises:
        ParameterError: the model trains on labels and ``attributes`` names none.
    """
    model = model_entry(recipe.model)
    beta = model.default_beta if recipe.beta is None else recipe.beta
    likelihood = recipe.likelihood
    if likelihood is None:
        likelihood = dataset_entry(recipe.dataset).likelihood
    label_names = None
    if model.needs_labels:
        if not recipe.attributes:
            raise ParameterError(
                "attributes",
                f"model {recipe.model!r} needs attributes, the names of its labelled "
                "attributes (for shapes, e.g. is_heart,right_half; for celeb_a, e.g. "
                "Smiling,Male)",
            )
        label_names = tuple(recipe.attributes)
    return Resolved(beta, likelihood, label_names)


# The networks of keras_gvae.models.backbones take 28x28 images, or heights and widths
# divisible by 16; their last convolution's kernel grows with the image (250x250 for
# 4000x4000 images), so gvae train also keeps both sides at most this.
MAX_IMAGE_SIDE = 256
COLOR_MODES = ("auto", "grayscale", "rgb")
LABELS = ("auto", "folders", "none")


def image_size_problem(size):
    """Why the built-in networks cannot take images of ``size`` (height, width), or None."""
    height, width = size
    if (height, width) == (28, 28) or (
        height % 16 == 0 and width % 16 == 0 and max(height, width) <= MAX_IMAGE_SIDE
    ):
        return None
    return (
        "the built-in networks take 28x28, or heights and widths divisible by 16 up to "
        f"{MAX_IMAGE_SIDE}"
    )


def is_folder(dataset):
    """Whether ``dataset`` names a folder of images or a .zip of them (not a dataset name)."""
    from keras_gvae.registry import DATASETS

    if dataset in DATASETS:
        return False
    path = Path(dataset).expanduser()
    return path.is_dir() or (path.is_file() and path.suffix.lower() == ".zip")


def _check_data_settings(config):
    """The dataset exists, and the image size, colour mode, labels and held-out fraction are
    values a run can use (ParameterError naming the field otherwise)."""
    folder = is_folder(config.dataset)
    if not folder:
        _check_dataset_name(config.dataset)
    if config.image_size is not None:
        size = config.image_size
        size = (size, size) if isinstance(size, int) else tuple(size)
        if len(size) != 2 or not all(isinstance(s, int) and s >= 1 for s in size):
            raise ParameterError(
                "image_size",
                f"expected image_size as (height, width) of positive integers, got {size!r}",
            )
        problem = image_size_problem(size)
        if problem:
            raise ParameterError(
                "image_size", f"image_size {size[0]}x{size[1]} cannot be used: {problem}"
            )
        config.image_size = size
    for field, choices in (("color_mode", COLOR_MODES), ("labels", LABELS)):
        value = getattr(config, field)
        if value not in choices:
            raise ParameterError(field, f"expected {field} one of {choices}, got {value!r}")
        if value != "auto" and not folder:
            raise ParameterError(
                field,
                f"{field} applies to a folder of images; dataset {config.dataset!r} has its own",
            )
    if not 0.0 < config.held_out < 1.0:
        raise ParameterError(
            "held_out",
            f"expected held_out, the fraction of a folder's images set aside, between 0 and 1; "
            f"got {config.held_out!r}",
        )
    if folder and resolve(config).needs_labels:
        raise ParameterError(
            "model",
            f"model {config.model!r} trains on named binary attributes (shapes, celeb_a); "
            "a folder of images has none",
        )


def _check_dataset_name(dataset):
    from keras_gvae.registry import DATASETS

    if dataset in DATASETS:
        return
    from keras_gvae.data import available_datasets

    names = available_datasets()
    if dataset in names:
        return
    path = Path(dataset).expanduser()
    if path.is_file():
        raise ParameterError(
            "dataset", f"{dataset}: a file, expected a folder of images or a .zip of them"
        )
    if any(c in dataset for c in "/\\~.") or path.suffix:
        raise ParameterError(
            "dataset",
            f"{dataset}: no such folder (expected a folder of images, a .zip of them, or a "
            f"dataset name: {', '.join(names)})",
        )
    raise ParameterError(
        "dataset",
        f"unknown dataset {dataset!r}; expected one of {', '.join(names)}, or a folder of images",
    )


def model_arguments(model):
    """Names of the constructor arguments of ``--model``'s class and its bases, with the
    flat shorthands a class accepts through ``**kwargs`` (its ``FLAT_ARGUMENTS``)."""
    import inspect

    names = set()
    for cls in model_registry()[model].__mro__:
        if cls.__module__.startswith("keras_gvae"):
            names |= {
                p.name
                for p in inspect.signature(cls.__init__).parameters.values()
                if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"
            }
            names |= set(cls.__dict__.get("FLAT_ARGUMENTS", ()))
    return names


def _check_model_argument_kinds(model, kwargs):
    """Each model argument whose constructor default is a bool, a number or a string is one
    too: a typo is refused here, naming the argument, not deep inside the model."""
    import inspect

    defaults = {}
    for cls in reversed(model_registry()[model].__mro__):
        if cls.__module__.startswith("keras_gvae"):
            for p in inspect.signature(cls.__init__).parameters.values():
                if p.kind is p.POSITIONAL_OR_KEYWORD and p.default is not p.empty:
                    defaults[p.name] = p.default
    kinds = {
        bool: ("true or false", lambda v: isinstance(v, bool)),
        int: ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
        float: (
            "a finite number",
            lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
        ),
        str: ("a string", lambda v: isinstance(v, str)),
    }
    for name, value in kwargs.items():
        kind = kinds.get(type(defaults.get(name)))
        if kind is not None and not kind[1](value):
            raise ParameterError(
                name,
                f"{name}={value!r}: expected {kind[0]} (the default is {defaults[name]!r})",
                within="model_kwargs",
            )


def model_registry():
    """``--model`` name -> model class (`keras_gvae.registry.MODELS`)."""
    return {name: model_entry(name).model_class() for name in MODEL_NAMES}


def default_run_dir(config):
    """``runs/<model>-<dataset>-<time>``, with ``-2``, ``-3``... when that name is taken (by a
    finished run or by one being written)."""
    base = f"{config.model}-{dataset_name(config)}-{time.strftime('%Y%m%d-%H%M%S')}"
    for attempt in range(1, 1000):
        name = base if attempt == 1 else f"{base}-{attempt}"
        path = Path("runs") / name
        if not path.exists() and not (path.parent / f".{name}.lock").exists():
            return path
    raise OutputExistsError(f"runs/{base}-* are all taken; pass out=", parameter="out")


def dataset_name(config):
    """A short name for the run directory: the dataset, or the folder's name."""
    return Path(config.dataset).name if is_folder(config.dataset) else config.dataset


def resume_config(run_dir, epochs=None, **settings):
    """The :class:`TrainConfig` that continues ``run_dir`` for ``epochs`` epochs in all
    (default: its own number), from its optimizer state.

    ``run_dir`` is a finished run directory (it is replaced by the longer run once that is
    complete) or the ``.NAME.partial-*`` of an interrupted one (it goes on from its last
    backup). ``settings`` may set what does not change the training: verbose, backup_every,
    save_best, export, slim, command, tensorboard.

    Raises:
        ValueError: ``run_dir`` is not a run, was saved without optimizer state
            (``slim``), or ``epochs`` is not more than it has trained.
    """
    from keras_gvae.io import MARKER, marker_kind
    from keras_gvae.training.run_dir import RunDirectory

    run_dir = Path(run_dir)
    allowed = {"verbose", "backup_every", "save_best", "export", "slim", "command", "tensorboard"}
    if set(settings) - allowed:
        raise ValueError(f"resume_config takes only {sorted(allowed)}; got {sorted(settings)}")
    partial = ".partial-" in run_dir.name and run_dir.name.startswith(".")
    try:
        saved = RunDirectory(run_dir).config()
    except (OSError, ValueError):
        raise ValueError(
            f"{run_dir}: expected a run directory of `gvae train` (or its .NAME.partial-*) "
            "with config.json"
        ) from None
    if not partial:
        if marker_kind(run_dir) != "run" or not (run_dir / "model.keras").is_file():
            raise ValueError(
                f"{run_dir}: expected a finished keras_gvae run (model.keras and {MARKER})"
            )
        if saved.get("slim"):
            raise ParameterError(
                "slim",
                f"{run_dir}/model.keras was saved with slim=True, without optimizer state; "
                "expected a run saved with it to resume",
            )
        if epochs is None or epochs <= saved["epochs"]:
            raise ParameterError(
                "epochs",
                f"{run_dir} has trained {saved['epochs']} epochs; expected epochs=N with N above "
                f"{saved['epochs']} to continue it",
            )
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    saved = {k: v for k, v in saved.items() if k in fields}
    saved.update(settings, resume=str(run_dir), overwrite=not partial)
    if epochs is not None:
        saved["epochs"] = epochs
    if isinstance(saved.get("attributes"), list):
        saved["attributes"] = tuple(saved["attributes"])
    return TrainConfig(**saved)


# Settings that do not change what is trained: a run killed and started again with other
# values of these resumes all the same.
NOT_IN_RESUME_KEY = ("out", "overwrite", "command", "verbose", "backup_every", "tensorboard")


def resume_key(config):
    """The settings that identify a run's training; a kept partial run directory with the
    same key is resumed from its backup (see keras_gvae.io.atomic_directory)."""
    settings = dataclasses.asdict(config)
    return {k: v for k, v in settings.items() if k not in NOT_IN_RESUME_KEY}
