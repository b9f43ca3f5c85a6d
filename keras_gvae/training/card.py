"""What a finished run writes about itself: its model card, and its metrics read back."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from keras_gvae.training.config import dataset_name
from keras_gvae.training.run_dir import RunDirectory


def slim_copy(model):
    """The same model without optimizer state (inference and export; recompile to train on)."""
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    return clone


def model_card(config, model, metrics, exports, run_dir, preset_changes=None):
    """A short Markdown model card: command, data, training, metrics, files.

    ``preset_changes`` is what ``config`` changes of the recipe of its preset
    (``config.preset``), ``{field: value}`` as keras_gvae.presets.differences gives it;
    the card names the preset with them (with None, the preset alone)."""
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
        config.command
        or "gvae train "
        + " ".join(
            f"--{k.replace('_', '-')} {v}"
            for k, v in dataclasses.asdict(config).items()
            if v not in (None, False)
            and k not in ("command", "verbose", "overwrite", "model_kwargs")
        )
        + "".join(f" --model-arg {k}={json.dumps(v)}" for k, v in config.model_kwargs.items()),
        "```",
        "",
        f"- Data: {dataset_name(config)}"
        + (
            f" from `{config.data_dir}`"
            if config.data_dir
            else " (embedded renderer)"
            if config.dataset.startswith("shapes")
            else ""
        ),
        *_held_out_line(run_dir),
        *_preset_line(config.preset, preset_changes),
        f"- Model: `{type(model).__name__}`, input {model.image_shape}, "
        f"latent_dim {model.latent_dim}, "
        f"beta {model.beta}, likelihood {model.likelihood}, {model.count_params():,} weights",
        f"- Training: {config.epochs} epochs x {config.steps_per_epoch} steps x "
        f"{config.batch_size} images, Adam {config.learning_rate}"
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
        lines.append(
            f"| {key} | {metrics['final_epoch'][key]:.4g} | "
            + (f"{held:.4g}" if held is not None else "")
            + " |"
        )
    lines += ["", "| file | size |", "|---|---:|"]
    for name in ("model.keras", "best.keras", "saved_model", "decoder.tflite"):
        if size(name):
            lines.append(f"| {name} | {size(name)} |")
    for report in exports:
        lines.append(f"\nTFLite decoder: max abs error {report.max_abs_error:.2g} vs Keras.")
    return "\n".join(lines) + "\n"


def _held_out_line(run_dir):
    """The model card's line saying where the held-out images come from (config.json's
    ``held_out_images``, written by `keras_gvae.training.train`)."""
    try:
        held = RunDirectory(run_dir).config()["held_out_images"]
    except (OSError, ValueError, KeyError):
        return []
    if held["split"] == "held_out":
        where = (
            f"the fraction {held['fraction']:g} of the folder set aside by seed {held['seed']}, "
            "never trained on"
        )
    elif held["split"] == "train":
        where = f"drawn from the training split with seed {held['seed']} ({held['why']})"
    else:
        where = f"the {held['split']} split, never trained on"
    return [f"- Held-out images: {held['images']}, {where}"]


def _preset_line(preset, changed):
    """The model card's line naming the preset and what the run changed of it (none without
    a preset)."""
    if preset is None:
        return []
    return [
        f"- Preset: `{preset}` (keras_gvae.presets)"
        + (
            ", with " + ", ".join(f"{k}={json.dumps(v)}" for k, v in changed.items()) + " over it"
            if changed
            else ""
        )
    ]


def _cpu_count():
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def read_metrics(run_dir):
    """The metrics.json of a run directory as a dict."""
    return RunDirectory(run_dir).metrics()


EVALUATION_HEADING = "## Evaluation"


def with_evaluation(card, results, command):
    """``card`` (a model card's text) with its evaluation section set to ``results`` (metric
    name -> value) and the command that measured them; an earlier section is replaced, the
    rest of the card is kept as it was."""
    head = card.split("\n" + EVALUATION_HEADING, 1)[0].rstrip("\n")
    lines = [
        "",
        EVALUATION_HEADING,
        "",
        f"Measured with `{command}`:",
        "",
        "| metric | value |",
        "|---|---:|",
        *(f"| {key} | {results[key]:.4g} |" for key in sorted(results)),
    ]
    return head + "\n" + "\n".join(lines) + "\n"
