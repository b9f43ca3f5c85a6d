"""Backups of a training run's state, to resume a killed run exactly where it was.

A backup folder holds ``step-<N>.weights.h5`` (the model's weights and its optimizers' state
after ``N`` training steps) and ``state.json``, which names the latest complete weights file
and holds the random-noise seed states (which ``save_weights`` leaves out). The weights are
written under a temporary name and renamed, and ``state.json`` is replaced only after that,
so a kill at any moment leaves the previous backup or the new one, never half of one.

Keras' own ``keras.callbacks.BackupAndRestore`` restores only whole epochs (a mid-epoch backup
is resumed from the epoch's start, repeating its steps); :class:`TrainingBackup` records the
step, so training continues after exactly the batches already used.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import keras

from keras_gvae.io import write_json

STATE = "state.json"


def read_state(backup_dir):
    """``{"steps": N, "weights": name}`` of the latest backup in ``backup_dir``, or None."""
    try:
        state = json.loads((Path(backup_dir) / STATE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or not (Path(backup_dir) / str(state.get("weights"))).is_file():
        return None
    return state


def restore(model, backup_dir):
    """Loads the latest backup of ``backup_dir`` into ``model``; returns its step count (0 when
    there is none). ``model`` must be built and compiled as when the backup was made."""
    state = read_state(backup_dir)
    if state is None:
        return 0
    if model.optimizer is not None and not model.optimizer.built:
        with model.distribute_strategy.scope():  # its variables are the strategy's
            model.optimizer.build(model.trainable_variables)
    model.load_weights(Path(backup_dir) / state["weights"])
    seeds = state.get("seed_states", [])
    if len(seeds) != len(_seed_generators(model)):
        raise ValueError(
            f"{backup_dir}: the backup has {len(seeds)} random-seed states; expected "
            f"{len(_seed_generators(model))} for this model"
        )
    set_seed_states(model, seeds)
    return int(state["steps"])


def _seed_generators(model):
    """The model's ``keras.random.SeedGenerator``s, in a fixed order. Their states (the noise
    drawn so far) are not among the weights ``save_weights`` writes, so they are kept here."""
    return [g for layer in model._flatten_layers() for g in getattr(layer, "_seed_generators", [])]


def seed_states(model):
    """The positions of ``model``'s noise generators, as lists of ints."""
    return [keras.ops.convert_to_numpy(g.state.value).tolist() for g in _seed_generators(model)]


def set_seed_states(model, states):
    """Puts ``model``'s noise generators at ``states`` (as :func:`seed_states` gives them)."""
    for generator, value in zip(_seed_generators(model), states, strict=True):
        generator.state.assign(keras.ops.convert_to_tensor(value, dtype=generator.state.dtype))


def save(model, backup_dir, steps, seeds=None):
    """Writes a backup of ``model`` after ``steps`` training steps and drops the older ones.
    ``seeds`` replaces the model's own noise-generator states (see :func:`seed_states`)."""
    backup_dir = Path(backup_dir)
    backup_dir.mkdir(parents=True, exist_ok=True)
    name = f"step-{steps:09d}.weights.h5"
    tmp = backup_dir / f".tmp-{os.getpid()}.weights.h5"
    model.save_weights(tmp, overwrite=True)
    os.replace(tmp, backup_dir / name)
    seeds = seed_states(model) if seeds is None else seeds
    write_json(backup_dir / STATE, {"steps": int(steps), "weights": name, "seed_states": seeds})
    for old in backup_dir.glob("step-*.weights.h5"):
        if old.name != name:
            old.unlink(missing_ok=True)


class TrainingBackup(keras.callbacks.Callback):
    """Backs the model up every ``every`` steps (if given) and at the end of every epoch.

    A backup is made only while the losses are finite, so after a NaN the folder still holds
    the last good state.

    Args:
        backup_dir: str or Path, the folder of the backups.
        every: int or None, also back up every this many steps. Default None (epochs only).
        initial_steps: int, steps already trained when this ``fit`` starts (after a
            :func:`restore`). Default 0.
    """

    def __init__(self, backup_dir, every=None, initial_steps=0):
        super().__init__()
        if every is not None and every < 1:
            raise ValueError(f"expected a backup interval of at least 1 step; got {every}")
        self.backup_dir = Path(backup_dir)
        self.every = every
        self.steps = int(initial_steps)
        self.saved_steps = None
        self._finite = True

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        self._finite = _finite(logs)
        if self.every and self.steps % self.every == 0:
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        self._save()

    def _save(self):
        if self._finite and self.saved_steps != self.steps:
            save(self.model, self.backup_dir, self.steps)
            self.saved_steps = self.steps


def _finite(logs):
    for value in (logs or {}).values():
        try:
            if not math.isfinite(float(value)):
                return False
        except (TypeError, ValueError):
            continue
    return True
