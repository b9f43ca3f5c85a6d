"""What the experiment scripts in examples/ share: train one model at a budget, held-out
losses, mean and spread over seeds, and writing a markdown table and a JSON file.

Every script trains through ``keras_gvae.training`` (the code behind ``gvae train``), so a
row of a table is what ``gvae train`` with the same settings gives.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

# Held-out streams use seeds no training run uses.
HELD_OUT_SEED = 10_000
# The --full (GPU) setting trains at least this many epochs of 100 steps.
FULL_EPOCHS = 50


def add_budget_arguments(parser, full_help="GPU setting: 50 epochs"):
    """The flags every experiment shares: seeds, the budget, and ``--full``."""
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--steps-per-epoch", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--full", action="store_true", help=full_help)


def budget(args):
    """The ``TrainConfig`` fields of the shared budget flags (see `add_budget_arguments`)."""
    return {
        "epochs": args.epochs,
        "steps_per_epoch": args.steps_per_epoch,
        "batch_size": args.batch_size,
    }


def apply_full(args):
    """``--full``: at least ``FULL_EPOCHS`` epochs; returns whether it was given."""
    if args.full:
        args.epochs = max(args.epochs, FULL_EPOCHS)
    return args.full


@dataclasses.dataclass(frozen=True)
class Spec:
    """One model of a comparison: a label, and the settings of ``gvae train`` it uses."""

    label: str
    model: str
    preset: str | None = None
    beta: float | None = None
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    latent_dim: int | None = None

    def config(self, seed, **budget):
        from keras_gvae import presets
        from keras_gvae.training import TrainConfig

        fields = {"model": self.model, "seed": seed, **budget}
        if self.beta is not None:
            fields["beta"] = self.beta
        if self.latent_dim is not None:
            fields["latent_dim"] = self.latent_dim
        if self.model_kwargs:
            fields["model_kwargs"] = dict(self.model_kwargs)
        if self.preset is not None:
            return presets.train_config(self.preset, **fields)
        return TrainConfig(**fields)


def train_model(config, make_data=None, verbose=0):
    """Builds, compiles and fits ``config``'s model; returns ``(model, seconds)``.

    ``make_data()`` returns an endless batched dataset of images (or ``(images, labels)``);
    by default ``config``'s dataset, as ``gvae train`` reads it (a supervised model's labels
    are its ``config.attributes``). It is called after the global seed is set, which a
    tf.data shuffle reads too.
    """
    import keras

    from keras_gvae.training import build_model, make_pipeline

    keras.utils.set_random_seed(config.seed)
    if make_data is None:
        train = make_pipeline(
            config, config.seed, config.batch_size, supervised_attributes(config)
        ).repeat()
    else:
        train = make_data()
    spec = train.element_spec
    spec = spec[0] if isinstance(spec, tuple) else spec
    model = build_model(config, tuple(int(s) for s in spec.shape[1:]))
    start = time.perf_counter()
    model.fit(train, epochs=config.epochs, steps_per_epoch=config.steps_per_epoch, verbose=verbose)
    return model, time.perf_counter() - start


def supervised_attributes(config):
    """The attributes a supervised model's labels are (as ``gvae train`` reads them), else None."""
    return list(config.attributes) if config.model == "supervised" else None


def held_out_images(config, num, split="train"):
    """``num`` images (and labels) from a stream seeded apart from every training run.

    A supervised model's labels are its attributes, as in training.
    """
    from keras_gvae import data

    ds = data.load(
        config.dataset,
        split=split,
        data_dir=config.data_dir,
        batch_size=256,
        seed=HELD_OUT_SEED + config.seed,
        drop_remainder=False,
        attributes=supervised_attributes(config),
    )
    xs, ys = [], []
    for x, y in ds.repeat().take(-(-num // 256)):
        xs.append(x.numpy())
        ys.append(y.numpy())
    return np.concatenate(xs)[:num].astype(np.float32), np.concatenate(ys)[:num]


def held_out_losses(model, images):
    """Reconstruction, KL and negative ELBO (nats per image) on ``images``."""
    result = model.evaluate(images, batch_size=256, verbose=0, return_dict=True)
    result = {k: float(v) for k, v in result.items()}
    result["neg_elbo"] = result["reconstruction"] + result["kl"]
    return result


def mean_std(rows, key):
    """Mean and standard deviation (ddof 1 when there are several) of ``row[key]``."""
    values = np.asarray([r[key] for r in rows if r.get(key) is not None], np.float64)
    if len(values) == 0:
        return None, None
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def summary_table(rows, columns, group="label", digits=3):
    """Markdown: one line per ``group`` value, ``mean ± std`` of every column over its rows.

    ``columns`` are ``(header, key)`` or ``(header, key, digits)``.
    """
    labels = list(dict.fromkeys(r[group] for r in rows))
    columns = [c if len(c) == 3 else (*c, digits) for c in columns]
    lines = [
        "| model | n | " + " | ".join(c[0] for c in columns) + " |",
        "|---|---:|" + "---:|" * len(columns),
    ]
    for label in labels:
        mine = [r for r in rows if r[group] == label]
        cells = []
        for _, key, places in columns:
            mean, std = mean_std(mine, key)
            cells.append("-" if mean is None else f"{mean:.{places}f} ± {std:.{places}f}")
        lines.append(f"| {label} | {len(mine)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_outputs(out, name, markdown, payload):
    """Writes ``out/name.md`` and ``out/name.json`` atomically; returns their paths."""
    from keras_gvae.io import write_json, write_text

    out = Path(out)
    write_text(out / f"{name}.md", markdown.rstrip() + "\n")
    write_json(out / f"{name}.json", payload)
    return out / f"{name}.md", out / f"{name}.json"


def flat_row(**parts):
    """One dict from nested parts: ``flat_row(a={"x": 1})`` -> ``{"a/x": 1}``."""
    row = {}
    for key, value in parts.items():
        if isinstance(value, dict):
            row.update({f"{key}/{k}": v for k, v in value.items()})
        else:
            row[key] = value
    return row


def dump(obj):
    return json.dumps(obj, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v))
