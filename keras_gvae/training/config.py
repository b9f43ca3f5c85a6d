"""The settings of one training run, their checks, and how a run directory's settings are
read back to resume it.

A run's settings are split once, here: its `Recipe` (what it trains: model, data, budget,
optimisation, seed, arithmetic; what a preset holds and a resume compares) and its
`RunOptions` (where it writes, what it adds, how often it backs up, what it prints).
`TrainConfig` is both in one flat object. Every other list of settings (the presets'
fields, ``gvae train``'s recipe flags, what ``--resume`` accepts, the resume key) is derived
from ``RECIPE_FIELDS`` and ``OPTION_FIELDS``."""

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
class Recipe:
    """What a run trains: every setting that changes its trained weights or what it measures,
    and nothing else. A preset (keras_gvae.presets) is a set of these fields; a run's recipe
    is what ``resume_key`` compares, what a resumed run keeps (only ``epochs`` may grow) and
    what the model is built from (keras_gvae.training.build: `build_model`, `make_pipeline`).

    The defaults (10 epochs x 100 steps x 64 images, GuidedVAE on the embedded shapes)
    finish in under 5 minutes on a 2-core CPU.

    Field by field, why each is here rather than in `RunOptions`:

    - model, model_kwargs, latent_dim, beta, likelihood, attributes: the model built.
    - dataset, data_dir, image_size, color_mode, labels, held_out, held_out_seed: the images
      it trains on (for a folder, which of its images are held out too).
    - epochs, steps_per_epoch, batch_size, learning_rate, lr_schedule, clip_norm, seed: the
      budget and the optimisation.
    - precision, strategy: the arithmetic (a dtype policy, or the gradients summed across
      replicas in another order), so the weights differ in their last bits.
    - eval_images: the held-out sample of the final evaluation (metrics.json) and, with
      save_best, of every epoch's validation.
    - save_best: the validation pass each epoch draws from the model's noise generator, so
      the epochs after the first train on other noise than without it.
    - preset: the name of the preset the recipe was made from (None for none): changes no
      weight, but says what the recipe is a variant of (the model card lists the
      differences) and keeps a run made with ``--preset`` apart from the same fields typed.

    Args:
        model: a name of keras_gvae.registry (``MODEL_NAMES``).
        dataset: a dataset name, or a folder of images (or a .zip of them).
        data_dir: an existing folder with local copies of the dataset's files, or None.
        image_size, color_mode, labels: how the images are read. For every dataset,
            (height, width) to resize them to. For a folder of images also: None leaves the
            size to the files (their own when they share one the built-in networks take,
            else 64x64), color_mode is "auto" (grey if every image is, else RGB),
            "grayscale" or "rgb", labels "auto" (the class sub-folders when every image
            lies in one), "folders" or "none"; a run records what "auto" chose
            (keras_gvae.training.build.resolve_data).
        held_out, held_out_seed: the fraction of a folder's images set aside as held-out,
            never trained on, chosen by held_out_seed (keras_gvae.data.split_held_out).
        attributes: the named labels a model that trains on labels uses (a tuple, or a
            comma-separated str), else None.
        likelihood: "bernoulli" or "gaussian"; None: the dataset's (`resolve`).
        latent_dim: the number of latent units.
        beta: the KL weight; None: the model's default (`resolve`).
        model_kwargs: further constructor arguments of the model class.
        epochs, steps_per_epoch, batch_size: the budget (batch_size is the global batch).
        learning_rate, lr_schedule, clip_norm: Adam's rate, one of ``LR_SCHEDULES``, and the
            global norm each step's gradients are clipped to (None: not clipped).
        seed: seeds the data, the weights and the noise.
        precision: the model's dtype policy, one of ``PRECISIONS``.
        strategy: one of ``STRATEGIES`` (see `distribution_strategy`).
        eval_images: the held-out images of the final evaluation and pictures.
        save_best: keep best.keras, the model of the epoch with the lowest held-out loss.
        preset: the name of the keras_gvae.presets recipe these settings came from, or None.

    Raises:
        keras_gvae.errors.ParameterError: a field (or a model argument) with a value a run
            cannot use, naming it and what was expected.
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
    attributes: tuple[str, ...] | None = None
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    eval_images: int = 512
    likelihood: str | None = None
    preset: str | None = None
    precision: str = "float32"
    save_best: bool = False
    strategy: str = "default"
    image_size: tuple[int, int] | None = None
    color_mode: str = "auto"
    labels: str = "auto"
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
        }
        _refuse_first(self, checks)
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


@dataclasses.dataclass
class RunOptions:
    """How one run of a `Recipe` is carried out: where it writes, what it adds to the run
    directory, how often it backs up and what it prints. None of them changes a trained
    weight or a measured number, so a run killed and started again with other options
    resumes all the same (`resume_key` leaves them out), and ``gvae train --resume`` takes
    new values of all but the three that say which directory is written.

    Args:
        out: the run directory; None: ``runs/<model>-<dataset>-<time>`` (`default_run_dir`).
        overwrite: replace an existing run directory at ``out`` (never anything else).
        resume: a finished or interrupted run directory this run continues
            (see `resume_config`), or None.
        export: also write saved_model/ and decoder.tflite into the run directory.
        slim: save model.keras without optimizer state (it cannot be resumed).
        command: the command line, for the model card (None: one is written from the
            settings).
        verbose: Keras' progress bar ("auto", 0, 1 or 2).
        backup_every: back the training state up every this many steps too (it always is
            every epoch), or None.
        tensorboard: write TensorBoard summaries every epoch into RUN_DIR/tensorboard (see
            keras_gvae.training.TENSORBOARD).
    """

    out: str | None = None
    overwrite: bool = False
    resume: str | None = None
    export: bool = False
    slim: bool = False
    command: str | None = None
    verbose: int | str = "auto"
    backup_every: int | None = None
    tensorboard: bool = False

    def __post_init__(self):
        _refuse_first(self, {"backup_every": self.backup_every is None or self.backup_every >= 1})


# The one partition of a run's settings: what it trains, and how that run is carried out.
RECIPE_FIELDS = tuple(f.name for f in dataclasses.fields(Recipe))
OPTION_FIELDS = tuple(f.name for f in dataclasses.fields(RunOptions))
# The options that name the directory a run writes: a resumed run keeps its own.
WHERE_FIELDS = ("out", "overwrite", "resume")
# What a resumed run may set anew (`resume_config`): every other option.
RESUME_OPTIONS = tuple(f for f in OPTION_FIELDS if f not in WHERE_FIELDS)
# The settings a run killed and started again may change and still resume: the options
# (the name from before the split; `resume_key` is the recipe's fields).
NOT_IN_RESUME_KEY = OPTION_FIELDS


@dataclasses.dataclass
class TrainConfig(RunOptions, Recipe):
    """A `Recipe` and the `RunOptions` of one run in one flat object: every field of both
    (``config.learning_rate``, ``config.out``), what `keras_gvae.training.train` takes and
    what a run's config.json records. ``config.recipe`` and ``config.options`` are the two
    halves; ``TrainConfig.of(recipe, options)`` puts them together.

    A TrainConfig is a Recipe (``isinstance(config, Recipe)``), so it can be given wherever
    a recipe is read (`build_model`, `make_pipeline`, `resolve`, `resume_key`).
    """

    def __post_init__(self):
        Recipe.__post_init__(self)
        RunOptions.__post_init__(self)

    @classmethod
    def of(cls, recipe: Recipe, options: RunOptions | None = None) -> TrainConfig:
        """The run of ``recipe`` with ``options`` (default: `RunOptions`' defaults)."""
        options = RunOptions() if options is None else options
        return cls(**_values(recipe, RECIPE_FIELDS), **_values(options, OPTION_FIELDS))

    @property
    def recipe(self) -> Recipe:
        return Recipe(**_values(self, RECIPE_FIELDS))

    @property
    def options(self) -> RunOptions:
        return RunOptions(**_values(self, OPTION_FIELDS))


def _values(obj, names):
    return {name: getattr(obj, name) for name in names}


def _refuse_first(settings, checks):
    """ParameterError naming the first field of ``checks`` (name -> ok) that is not ok."""
    bad = [k for k, ok in checks.items() if not ok]
    if bad:
        kind = "a finite number" if bad[0] in ("learning_rate", "clip_norm") else "an integer"
        raise ParameterError(
            bad[0], f"{bad[0]}={getattr(settings, bad[0])!r}: expected {kind} above 0"
        )


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
    """Names of the constructor arguments of ``--model``'s class and its bases."""
    import inspect

    names = set()
    for cls in model_registry()[model].__mro__:
        if cls.__module__.startswith("keras_gvae"):
            names |= {
                p.name
                for p in inspect.signature(cls.__init__).parameters.values()
                if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"
            }
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


def resume_config(run_dir, epochs=None, **options):
    """The :class:`TrainConfig` that continues ``run_dir`` for ``epochs`` epochs in all
    (default: its own number), from its optimizer state.

    ``run_dir`` is a finished run directory (it is replaced by the longer run once that is
    complete) or the ``.NAME.partial-*`` of an interrupted one (it goes on from its last
    backup). The run keeps its `Recipe` but for ``epochs``; ``options`` may set any of
    `RunOptions` but the directory written (``RESUME_OPTIONS``: verbose, backup_every,
    export, slim, command, tensorboard). A config.json written before the split (a flat dict
    of every field, or one without the fields added since) is read the same way.

    Raises:
        ValueError: ``run_dir`` is not a run, was saved without optimizer state
            (``slim``), or ``epochs`` is not more than it has trained; an option not in
            ``RESUME_OPTIONS``.
    """
    from keras_gvae.io import MARKER, marker_kind, partial_target
    from keras_gvae.training.run_dir import RunDirectory

    run_dir = Path(run_dir)
    if set(options) - set(RESUME_OPTIONS):
        raise ValueError(
            f"resume_config takes only {sorted(RESUME_OPTIONS)}; got {sorted(options)}"
        )
    target = partial_target(run_dir)  # the directory an interrupted run was writing
    partial = target is not None
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
    recipe = {k: v for k, v in saved.items() if k in RECIPE_FIELDS}
    if epochs is not None:
        recipe["epochs"] = epochs
    if isinstance(recipe.get("attributes"), list):
        recipe["attributes"] = tuple(recipe["attributes"])
    kept = {k: v for k, v in saved.items() if k in RESUME_OPTIONS}
    # The run goes on where it is now, whatever config.json says: a run that was moved or
    # copied (or recorded relative to another working directory) never writes elsewhere.
    out = target if partial else run_dir
    where = {"out": str(out), "overwrite": not partial, "resume": str(run_dir)}
    return TrainConfig(**recipe, **{**kept, **options}, **where)


def resume_key(recipe):
    """The settings that identify a run's training: its `Recipe`'s fields (of a Recipe or a
    `TrainConfig`). A kept partial run directory with the same key is resumed from its
    backup (see keras_gvae.io.atomic_directory); `RunOptions` may differ."""
    settings = dataclasses.asdict(recipe)
    return {field: settings[field] for field in RECIPE_FIELDS}


# The options that were part of the resume key before the settings were split into a Recipe
# and RunOptions (version 0.x); `legacy_resume_key` still finds such a partial run.
_LEGACY_KEY_OPTIONS = ("export", "slim", "resume")


def legacy_resume_key(config):
    """The resume key a run of ``config`` (a `TrainConfig`) had before the split: its recipe
    with ``export``, ``slim`` and ``resume``. A partial run directory kept by that version
    carries it (keras_gvae.training.train takes it over under `resume_key`)."""
    return resume_key(config) | {k: getattr(config, k) for k in _LEGACY_KEY_OPTIONS}
