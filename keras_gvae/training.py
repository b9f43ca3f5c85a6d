"""``gvae train`` as a Python function: data, model, fit, and a complete run directory."""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
import time
from pathlib import Path

import numpy as np

from keras_gvae.errors import ParameterError
from keras_gvae.io import (
    OutputExistsError,
    atomic_directory,
    rekey_partial,
    save_model_atomic,
    write_json,
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

    def __post_init__(self):
        checks = {
            "epochs": self.epochs >= 1,
            "steps_per_epoch": self.steps_per_epoch >= 1,
            "batch_size": self.batch_size >= 1,
            "latent_dim": self.latent_dim >= 1,
            "learning_rate": self.learning_rate > 0,
            "clip_norm": self.clip_norm is None or self.clip_norm > 0,
            "eval_images": self.eval_images >= 1,
            "backup_every": self.backup_every is None or self.backup_every >= 1,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"expected positive values for {', '.join(bad)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}; got {self.lr_schedule!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}; got {self.precision!r}")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}; got {self.strategy!r}")
        if self.model not in MODEL_NAMES:
            raise ValueError(f"model must be one of {MODEL_NAMES}; got {self.model!r}")
        if self.beta is None:
            self.beta = model_entry(self.model).default_beta
        if isinstance(self.attributes, str):
            self.attributes = tuple(a.strip() for a in self.attributes.split(",") if a.strip())
        if model_entry(self.model).needs_labels and not self.attributes:
            raise ParameterError(
                "attributes",
                f"model {self.model!r} needs attributes, the names of its labelled attributes "
                "(for shapes, e.g. is_heart,right_half; for celeb_a, e.g. Smiling,Male)",
            )
        if self.likelihood is None:
            self.likelihood = dataset_entry(self.dataset).likelihood
        self.model_kwargs = dict(self.model_kwargs or {})
        reserved = {"input_shape", "latent_dim", "beta", "likelihood", "seed", "attributes"}
        clash = sorted(reserved & set(self.model_kwargs))
        if clash:
            raise ParameterError(
                clash[0], f"model arguments {clash} are TrainConfig fields of their own: set {clash[0]}"
            )
        accepted = model_arguments(self.model)
        unknown = sorted(set(self.model_kwargs) - accepted)
        if unknown:
            raise ParameterError(
                "model_kwargs",
                f"unknown model arguments {unknown} for model {self.model!r}; expected some of "
                f"{sorted(accepted - reserved)}",
            )


def model_arguments(model):
    """Names of the constructor arguments of ``--model``'s class and its bases, with the
    flat shorthands a class accepts through ``**kwargs`` (its ``FLAT_ARGUMENTS``)."""
    import inspect

    names = set()
    for cls in model_registry()[model].__mro__:
        if cls.__module__.startswith("keras_gvae"):
            names |= {
                p.name for p in inspect.signature(cls.__init__).parameters.values()
                if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"
            }
            names |= set(cls.__dict__.get("FLAT_ARGUMENTS", ()))
    return names


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
    raise OutputExistsError(f"runs/{base}-* are all taken; pass --out")


def dataset_name(config):
    """A short name for the run directory: the dataset, or the folder's name."""
    return Path(config.dataset).name if Path(config.dataset).is_dir() else config.dataset


def make_pipeline(config, seed, batch_size, attributes=None, drop_remainder=True):
    """Batched ``(images, labels)`` from ``config.dataset``: a name or a folder of images."""
    from keras_gvae import data

    if Path(config.dataset).is_dir():
        return data.from_directory(
            config.dataset, batch_size=batch_size, seed=seed, drop_remainder=drop_remainder
        )
    return data.load(
        config.dataset, split="train", data_dir=config.data_dir, batch_size=batch_size,
        seed=seed, attributes=attributes, drop_remainder=drop_remainder,
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
            f"dataset {config.dataset!r} has fewer images than batch_size {config.batch_size}"
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
    kwargs = {"attributes": list(config.attributes)} if model_entry(config.model).needs_labels else {}
    kwargs.update(config.model_kwargs)
    model = cls(
        input_shape=input_shape, latent_dim=config.latent_dim, beta=config.beta,
        likelihood=config.likelihood, seed=config.seed, **kwargs,
        # The model's own policy (its layers follow it): the global policy is never set,
        # so nothing leaks into models built later in the process.
        dtype=config.precision,
    )
    # global_clipnorm is part of the optimizer's config, so the supervised model's adversary
    # and inhibition optimizers (copies of this one) clip too, and load_model restores it.
    rate = learning_rate(config.learning_rate, config.lr_schedule, config.epochs * config.steps_per_epoch)
    model.compile(optimizer=keras.optimizers.Adam(rate, global_clipnorm=config.clip_norm))
    return model


def train(config: TrainConfig) -> Path:
    """Trains a model as ``config`` says and writes a run directory; returns its path (None
    on the workers of a multi-worker run other than the chief, which write no run directory).

    The run directory holds model.keras, history.csv, metrics.json, config.json,
    reconstructions.png and traversal.png (and, with ``config.tensorboard``, the event
    files of :class:`keras_gvae.callbacks.TensorBoard` in ``tensorboard/``). It is assembled under a temporary name and
    renamed at the end, so a run that fails or is interrupted leaves no half-written
    directory at ``config.out``. ``config.out`` is claimed before the data is read (a second
    run writing the same directory is refused at once), and an existing one is replaced only
    with ``config.overwrite`` and only if it is a keras_gvae run. Once the model is saved, a
    failure (an export, a picture, an interrupt) keeps the unfinished directory and names it
    in the exception's ``kept_partial``: a trained model is never deleted.

    Raises:
        keras_gvae.io.OutputExistsError: ``config.out`` exists and may not be replaced.
        keras_gvae.io.OutputBusyError: another process is writing ``config.out``.
        keras_gvae.export.tflite.LiteRTMissingError: ``config.export`` without the
            ``litert`` extra (checked before training).
    """
    if config.export:
        from keras_gvae.export.tflite import require_litert

        require_litert()
    if config.strategy == "multi-worker":
        from keras_gvae.distributed import is_chief

        # Made first: the strategy configures TensorFlow's collective ops at start-up.
        if not is_chief(distribution_strategy(config.strategy)):
            return _train_as_worker(config)
    out = Path(config.out) if config.out else default_run_dir(config)
    key = resume_key(config)
    source = Path(config.resume) if config.resume else None
    if source is not None and source.name.startswith(f".{out.name}.partial-"):
        rekey_partial(source, key)  # an interrupted run goes on in its own partial
    with atomic_directory(
        out, overwrite=config.overwrite, kind="run", keep_if=_worth_keeping, resume_key=key,
    ) as tmp:
        _train_into(config, out, tmp)
    return out


def _train_as_worker(config):
    """A multi-worker run on a worker other than the chief: the same training, written to a
    temporary folder removed at the end (the chief writes the run directory). A resumed run
    takes the chief's state (see `fit_resumable`). Returns None."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="gvae-worker-") as tmp:
        _train_into(config, None, Path(tmp))
    return None


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

    run_dir = Path(run_dir)
    allowed = {"verbose", "backup_every", "save_best", "export", "slim", "command", "tensorboard"}
    if set(settings) - allowed:
        raise ValueError(f"resume_config takes only {sorted(allowed)}; got {sorted(settings)}")
    partial = ".partial-" in run_dir.name and run_dir.name.startswith(".")
    try:
        saved = json.loads((run_dir / "config.json").read_text())
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
            raise ValueError(
                f"{run_dir}/model.keras was saved with --slim, without optimizer state; "
                "expected a run saved with it to resume"
            )
        if epochs is None or epochs <= saved["epochs"]:
            raise ValueError(
                f"{run_dir} has trained {saved['epochs']} epochs; expected --epochs above "
                f"{saved['epochs']} to continue it"
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


def _worth_keeping(tmp):
    """A failed run's partial directory is kept when it holds a model or a backup."""
    from keras_gvae import backup

    return any((tmp / name).exists() for name in ("model.keras", BEST)) or (
        backup.read_state(tmp / BACKUP) is not None)


# The folder of a run's training backups, inside its partial directory (removed once done).
BACKUP = "backup"
# A finished run's step count and noise-generator states (what `--resume` needs beside
# model.keras).
TRAINING_STATE = "training_state.json"
# The model of the epoch with the lowest held-out loss, with ``--save-best``.
BEST = "best.keras"
# The folder of the TensorBoard event files, with ``--tensorboard``: ``train/`` (every loss
# term, the learning rate, the reconstruction and traversal images) and ``validation/``
# (the held-out loss terms, with ``--save-best``).
TENSORBOARD = "tensorboard"


def fit_resumable(model, train_ds, config, run_dir, callbacks=(), validation_data=None):
    """``model.fit`` for ``config.epochs`` x ``config.steps_per_epoch`` steps that backs up
    into ``run_dir/backup`` every epoch (and every ``config.backup_every`` steps), and first
    restores the backup found there: training goes on after the last backed-up step, with
    the data pipeline advanced past the batches already used, so the result equals an
    uninterrupted run's. Returns ``(history dicts of the fit calls, steps restored)``."""
    from keras_gvae import backup

    backup_dir = Path(run_dir) / BACKUP
    done = backup.restore(model, backup_dir)
    fit = model.fit
    if config.strategy == "multi-worker":
        from keras_gvae.distributed import fit_across_workers, sync_restore

        done = sync_restore(model, done)  # every worker goes on from the chief's backup
        fit = functools.partial(fit_across_workers, model)
    keeper = backup.TrainingBackup(backup_dir, every=config.backup_every, initial_steps=done)
    epoch_steps = config.steps_per_epoch
    _drop_history_after(Path(run_dir) / "history.csv", done // epoch_steps)
    histories = []
    epoch, offset = divmod(done, epoch_steps)
    while epoch < config.epochs and not model.stop_training:
        # A resume in the middle of an epoch first finishes that epoch (its history.csv row
        # then averages the steps after the resume only).
        last = epoch + 1 if offset else config.epochs
        history = fit(
            train_ds.skip(epoch * epoch_steps + offset),
            initial_epoch=epoch,
            epochs=last,
            steps_per_epoch=epoch_steps - offset if offset else epoch_steps,
            callbacks=[*callbacks, keeper],  # backed up after the others' epoch-end work
            validation_data=validation_data,
            shuffle=False,  # the pipeline shuffles
            verbose=config.verbose,
        )
        histories.append(history.history)
        epoch, offset = last, 0
    return histories, done


def _drop_history_after(path, epochs):
    """Keeps the header and the first ``epochs`` rows of a history.csv (a resumed run
    writes the later ones again)."""
    if not path.exists():
        return
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[: 1 + epochs]))


def _train_into(config, out, tmp):
    import keras

    from keras_gvae import visualization
    from keras_gvae.callbacks import BestModel, StopOnNonFinite, TensorBoard

    keras.utils.set_random_seed(config.seed)
    train_ds, eval_images, eval_labels, input_shape = training_data(config)
    needs_labels = model_entry(config.model).needs_labels
    eval_targets = eval_labels.astype(np.float32) if needs_labels else None
    model = build_model(config, input_shape)
    if config.resume and not (tmp / BACKUP).exists() and (Path(config.resume) / "model.keras").exists():
        _start_from_run(model, Path(config.resume), tmp)
    write_json(tmp / "config.json", dataclasses.asdict(config) | {"out": str(out)})
    guard = StopOnNonFinite()
    callbacks = [keras.callbacks.CSVLogger(str(tmp / "history.csv"), append=True), guard]
    validation = None
    if config.save_best:
        callbacks.append(BestModel(tmp / BEST, monitor="val_loss"))
        validation = (eval_images, eval_targets) if eval_targets is not None else (eval_images,)
    if config.tensorboard:
        # The pictures of the end of the run (reconstructions.png, traversal.png), each epoch.
        callbacks.append(TensorBoard(tmp / TENSORBOARD, images=eval_images[:10]))
    start = time.perf_counter()
    histories, done = fit_resumable(model, train_ds, config, tmp, callbacks, validation)
    seconds = time.perf_counter() - start
    if guard.failure is not None and out is not None:
        _record_failure(config, tmp, guard)
    if out is None:  # a multi-worker run's other worker: the chief writes the rest
        if guard.failure is not None:
            from keras_gvae.callbacks import NonFiniteLossError

            raise NonFiniteLossError(f"{guard.message()}; the chief keeps the last good backup",
                                     step=guard.failure[0], terms=sorted(guard.failure[2]))
        return
    history = _final_history(histories, tmp / "history.csv")
    # model.keras holds the optimizer state; the noise generators' positions after training
    # (before the evaluation draws more), which it does not hold, are kept for `--resume`.
    from keras_gvae import backup

    write_json(tmp / TRAINING_STATE, {"steps": config.epochs * config.steps_per_epoch,
                                       "seed_states": backup.seed_states(model)})
    # Saved first: from here on a failure keeps the directory (see `train`).
    save_model_atomic(slim_copy(model) if config.slim else model, tmp / "model.keras")
    if config.strategy == "multi-worker":
        from keras_gvae.distributed import local_copy

        model = local_copy(model)  # evaluated, drawn and exported outside the strategy
    evaluation = model.evaluate(
        eval_images, eval_targets, batch_size=config.batch_size, verbose=0, return_dict=True
    )
    metrics = {
        "status": "complete",
        "final_epoch": {k: float(v[-1]) for k, v in history.items()},
        "evaluation": {k: float(v) for k, v in evaluation.items()},
        "training_seconds": seconds,
        "images_per_second": (config.epochs * config.steps_per_epoch - done) * config.batch_size
        / seconds,
        "resumed_from_step": done,
    }
    write_json(tmp / "metrics.json", metrics)
    visualization.save_png(
        visualization.reconstruction_figure(model, eval_images[:10]),
        tmp / "reconstructions.png",
    )
    visualization.save_png(
        visualization.traversal_figure(model, x=eval_images[:1]), tmp / "traversal.png"
    )
    exports = []
    if config.export:
        from keras_gvae.export import export_saved_model, export_tflite_decoder

        export_saved_model(model, tmp / "saved_model")
        exports.append(export_tflite_decoder(model, tmp / "decoder.tflite"))
    (tmp / "MODEL_CARD.md").write_text(model_card(config, model, metrics, exports, tmp))
    shutil.rmtree(tmp / BACKUP, ignore_errors=True)


def _start_from_run(model, run_dir, tmp):
    """Makes ``run_dir``'s model (weights and optimizer state) the first backup of ``tmp``
    and copies its history.csv, so `fit_resumable` goes on after its last step."""
    from keras_gvae import backup
    from keras_gvae.saving import load_model

    finished = load_model(run_dir / "model.keras")
    saved = json.loads((run_dir / "config.json").read_text())
    steps = int(saved["epochs"]) * int(saved["steps_per_epoch"])
    try:
        seeds = json.loads((run_dir / TRAINING_STATE).read_text())["seed_states"]
    except (OSError, ValueError, KeyError):
        seeds = None  # a run from before 0.x: the noise goes on from the start
    backup.save(finished, tmp / BACKUP, steps, seeds=seeds)
    if (run_dir / "history.csv").exists():
        shutil.copyfile(run_dir / "history.csv", tmp / "history.csv")
    for name in (BEST, BEST + ".json"):
        if (run_dir / name).exists():
            shutil.copyfile(run_dir / name, tmp / name)
    if (run_dir / TENSORBOARD).is_dir() and not (tmp / TENSORBOARD).exists():
        shutil.copytree(run_dir / TENSORBOARD, tmp / TENSORBOARD)


def _record_failure(config, tmp, guard):
    """Writes ``metrics.json`` with ``"status": "failed"`` into the partial run directory and
    raises :class:`keras_gvae.callbacks.NonFiniteLossError` saying what is kept."""
    from keras_gvae import backup
    from keras_gvae.callbacks import NonFiniteLossError, read_best

    step, epoch, bad = guard.failure
    state = backup.read_state(tmp / BACKUP)
    best = read_best(tmp / BEST)
    write_json(tmp / "metrics.json", {
        "status": "failed",
        "failure": guard.message(),
        "failed_at_step": step,
        "non_finite_terms": sorted(bad),
        "last_backup_step": state["steps"] if state else None,
        "best_model": BEST if best is not None else None,
    })
    kept = [f"the last good backup (step {state['steps']})"] if state else []
    kept += [f"{BEST} (held-out loss {best:.4g})"] if best is not None else []
    raise NonFiniteLossError(
        f"{guard.message()}; "
        + (f"kept {' and '.join(kept)}" if kept else "nothing was backed up before it")
        + "; try a lower --learning-rate or a --clip-norm",
        step=step, terms=sorted(bad),
    )


def _final_history(histories, csv_path):
    """The last fit call's history; when a resumed run had nothing left to train, the last
    row of history.csv."""
    for history in reversed(histories):
        if history.get("loss"):
            return history
    import csv

    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    return {k: [float(v)] for k, v in rows[-1].items() if k != "epoch"} if rows else {}


def slim_copy(model):
    """The same model without optimizer state (inference and export; recompile to train on)."""
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    return clone


def model_card(config, model, metrics, exports, run_dir):
    """A short Markdown model card: command, data, training, metrics, files."""
    import platform

    def size(name):
        path = Path(run_dir) / name
        if path.is_dir():
            total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        elif path.exists():
            total = path.stat().st_size
        else:
            return None
        return f"{total / 1e6:.1f} MB"

    lines = [
        f"# {type(model).__name__} on {dataset_name(config)}",
        "",
        "Reproduce with:",
        "",
        "```bash",
        config.command or "gvae train " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in dataclasses.asdict(config).items()
            if v not in (None, False) and k not in ("command", "verbose", "overwrite", "model_kwargs"))
        + "".join(f" --model-arg {k}={json.dumps(v)}" for k, v in config.model_kwargs.items()),
        "```",
        "",
        f"- Data: {dataset_name(config)}"
        + (f" from `{config.data_dir}`" if config.data_dir
           else " (embedded renderer)" if config.dataset.startswith("shapes") else ""),
        *_preset_line(config),
        f"- Model: `{type(model).__name__}`, input {model.image_shape}, latent_dim {model.latent_dim}, "
        f"beta {model.beta}, likelihood {model.likelihood}, {model.count_params():,} weights",
        f"- Training: {config.epochs} epochs x {config.steps_per_epoch} steps x {config.batch_size} "
        f"images, Adam {config.learning_rate}"
        + (f" with {config.lr_schedule} decay to 0" if config.lr_schedule != "constant" else "")
        + (f" (gradients clipped to global norm {config.clip_norm})" if config.clip_norm else "")
        + f", seed {config.seed}: "
        f"{metrics['training_seconds']:.0f} s on {platform.machine()} ({_cpu_count()} cores), "
        f"{metrics['images_per_second']:.0f} images/s",
        "",
        "| metric | last epoch | held-out |",
        "|---|---:|---:|",
    ]
    for key in sorted(metrics["final_epoch"]):
        held = metrics["evaluation"].get(key)
        lines.append(f"| {key} | {metrics['final_epoch'][key]:.4g} | "
                     + (f"{held:.4g}" if held is not None else "") + " |")
    lines += ["", "| file | size |", "|---|---:|"]
    for name in ("model.keras", "best.keras", "saved_model", "decoder.tflite"):
        if size(name):
            lines.append(f"| {name} | {size(name)} |")
    for report in exports:
        lines.append(f"\nTFLite decoder: max abs error {report.max_abs_error:.2g} vs Keras, "
                     f"{report.latency_ms:.2f} ms per image.")
    return "\n".join(lines) + "\n"


def _preset_line(config):
    """The model card's line naming the preset and what the run changed of it (none without
    a preset)."""
    from keras_gvae import presets

    if config.preset is None:
        return []
    changed = presets.differences(config)
    return [f"- Preset: `{config.preset}` (keras_gvae.presets)" + (
        ", with " + ", ".join(f"{k}={json.dumps(v)}" for k, v in changed.items()) + " over it"
        if changed else "")]


def _cpu_count():
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def read_metrics(run_dir):
    """The metrics.json of a run directory as a dict."""
    return json.loads((Path(run_dir) / "metrics.json").read_text())
