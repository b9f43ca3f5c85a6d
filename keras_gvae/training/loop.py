"""The fit loop of ``gvae train``: training into an atomically renamed run directory, with
backups, resume, NaN stops, the best model and the final evaluation."""

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
    atomic_directory,
    clear_stale_temporaries,
    resumable_partial,
    save_model_atomic,
    write_json,
)
from keras_gvae.training.build import build_model, distribution_strategy, training_data
from keras_gvae.training.card import model_card, slim_copy
from keras_gvae.training.config import (
    TrainConfig,
    default_run_dir,
    legacy_resume_key,
    resolve,
    resume_key,
)
from keras_gvae.training.run_dir import RunDirectory
from keras_gvae.training.signals import HeldSignals


def train(config: TrainConfig, notify=None, preset_changes=None) -> Path:
    """Trains a model as ``config`` says and writes a run directory; returns its path (None
    on the workers of a multi-worker run other than the chief, which write no run directory).

    The run directory holds model.keras, history.csv, metrics.json, config.json,
    reconstructions.png and traversal.png (and, with ``config.tensorboard``, the event
    files of :class:`keras_gvae.callbacks.TensorBoard` in ``tensorboard/``). It is
    assembled under a temporary name and renamed at the end, so a run that fails or is
    interrupted leaves no half-written
    directory at ``config.out``. ``config.out`` is claimed before the data is read (a second
    run writing the same directory is refused at once), and an existing one is replaced only
    with ``config.overwrite`` and only if it is a keras_gvae run. Once the model is saved, a
    failure (an export, a picture, an interrupt) keeps the unfinished directory and names it
    in the exception's ``kept_partial``: a trained model is never deleted.

    ``notify(parameter, text)`` is told what was decided about the data that the settings
    left open (a folder's image size, colours, labels; see `resolve_data`); by default it
    prints ``text (parameter)``.

    ``preset_changes``, for a config made from a preset (``config.preset``), is what it
    changes of the preset's recipe, ``{field: value}`` (keras_gvae.presets.differences);
    the model card lists it.

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
            return _train_as_worker(config, notify)
    out = Path(config.out) if config.out else default_run_dir(config)
    key = resume_key(config)
    # An interrupted run goes on in its own partial, rekeyed once `out` is claimed.
    source = Path(config.resume) if config.resume else None
    if source is None or not source.name.startswith(f".{out.name}.partial-"):
        source = None
        if resumable_partial(out, key) is None:
            # A partial kept before the resume key became the recipe's fields goes on too.
            source = resumable_partial(out, legacy_resume_key(config))
    with atomic_directory(
        out,
        overwrite=config.overwrite,
        kind="run",
        keep_if=_worth_keeping,
        resume_key=key,
        resume_from=source,
    ) as tmp:
        clear_stale_temporaries(tmp)  # of a resumed run killed while writing a file
        if not config.export:  # a kept run that failed exporting, finished without it
            _remove_exports(tmp)
        with HeldSignals() as held:  # Ctrl-C and SIGTERM act between steps and stages
            _train_into(config, out, tmp, notify, held, preset_changes)
    # Removed once the run is committed: killed before, the same command goes on from it.
    shutil.rmtree(out / BACKUP, ignore_errors=True)
    return out


def _train_as_worker(config, notify=None):
    """A multi-worker run on a worker other than the chief: the same training, written to a
    temporary folder removed at the end (the chief writes the run directory). A resumed run
    takes the chief's state (see `fit_resumable`). Returns None."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="gvae-worker-") as tmp, HeldSignals() as held:
        _train_into(config, None, Path(tmp), notify, held)
    return None


# What export=True adds to a run directory.
EXPORTS = ("saved_model", "decoder.tflite")


def _remove_exports(tmp):
    for name in EXPORTS:
        path = tmp / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def _worth_keeping(tmp):
    """A failed run's partial directory is kept when it holds a model or a backup."""
    from keras_gvae import backup

    return any((tmp / name).exists() for name in ("model.keras", BEST)) or (
        backup.read_state(tmp / BACKUP) is not None
    )


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


def _train_into(config, out, tmp, notify=None, held=None, preset_changes=None):
    import keras

    from keras_gvae import visualization
    from keras_gvae.callbacks import BestModel, StopOnNonFinite, TensorBoard

    held = held or HeldSignals()  # delivers nothing unless entered
    keras.utils.set_random_seed(config.seed)
    data = training_data(config, notify or _print_note)
    held.deliver()
    config = data.config  # with a folder's settings decided, as config.json records them
    train_ds, eval_images, eval_labels, input_shape = data
    needs_labels = resolve(config).needs_labels
    eval_targets = eval_labels.astype(np.float32) if needs_labels else None
    try:
        model = build_model(config, input_shape)
    except ParameterError as err:
        if err.parameter in config.model_kwargs and err.within is None:
            err.within = "model_kwargs"  # a model argument, given as model_kwargs[NAME]
        raise
    if (
        config.resume
        and not (tmp / BACKUP).exists()
        and (Path(config.resume) / "model.keras").exists()
    ):
        _start_from_run(model, Path(config.resume), tmp)
    held.deliver()
    run = RunDirectory(tmp)
    run.write_config(
        dataclasses.asdict(config) | {"out": str(out), "held_out_images": data.held_out}
    )
    guard = StopOnNonFinite()
    callbacks = [
        keras.callbacks.CSVLogger(str(tmp / "history.csv"), append=True),
        guard,
        held.callback(),
    ]
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

            raise NonFiniteLossError(
                f"{guard.message()}; the chief keeps the last good backup",
                step=guard.failure[0],
                terms=sorted(guard.failure[2]),
            )
        return
    history = _final_history(histories, tmp / "history.csv")
    # model.keras holds the optimizer state; the noise generators' positions after training
    # (before the evaluation draws more), which it does not hold, are kept for `--resume`.
    from keras_gvae import backup

    write_json(
        tmp / TRAINING_STATE,
        {"steps": config.epochs * config.steps_per_epoch, "seed_states": backup.seed_states(model)},
    )
    # Saved first: from here on a failure keeps the directory (see `train`).
    save_model_atomic(slim_copy(model) if config.slim else model, tmp / "model.keras")
    held.deliver()
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
        "images_per_second": (config.epochs * config.steps_per_epoch - done)
        * config.batch_size
        / seconds,
        "resumed_from_step": done,
    }
    run.write_metrics(metrics)
    held.deliver()
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

        held.deliver()
        export_saved_model(model, tmp / EXPORTS[0])
        held.deliver()
        exports.append(export_tflite_decoder(model, tmp / EXPORTS[1]))
    run.write_card(model_card(config, model, metrics, exports, tmp, preset_changes))


def _print_note(parameter, text):
    print(f"{text} ({parameter})")


def _start_from_run(model, run_dir, tmp):
    """Makes ``run_dir``'s model (weights and optimizer state) the first backup of ``tmp``
    and copies its history.csv, so `fit_resumable` goes on after its last step."""
    from keras_gvae import backup
    from keras_gvae.saving import load_model

    finished = load_model(run_dir / "model.keras")
    saved = RunDirectory(run_dir).config()
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
    RunDirectory(tmp).write_metrics(
        {
            "status": "failed",
            "failure": guard.message(),
            "failed_at_step": step,
            "non_finite_terms": sorted(bad),
            "last_backup_step": state["steps"] if state else None,
            "best_model": BEST if best is not None else None,
        },
    )
    kept = [f"the last good backup (step {state['steps']})"] if state else []
    kept += [f"{BEST} (held-out loss {best:.4g})"] if best is not None else []
    err = NonFiniteLossError(
        f"{guard.message()}; "
        + (f"kept {' and '.join(kept)}" if kept else "nothing was backed up before it")
        + "; try a lower learning_rate= or a clip_norm=",
        step=step,
        terms=sorted(bad),
    )
    err.parameter = ("learning_rate", "clip_norm")  # named in the message (errors.ParameterError)
    raise err


def _final_history(histories, csv_path):
    """The last fit call's history; when a resumed run had nothing left to train, the last
    row of history.csv."""
    for history in reversed(histories):
        if history.get("loss"):
            return history
    import csv

    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    # Keras' CSVLogger writes "NA" in the val_* columns of a run without validation data.
    last = {k: _number(v) for k, v in rows[-1].items() if k != "epoch"} if rows else {}
    return {k: [v] for k, v in last.items() if v is not None}


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None
