r"""One controlled run of the guidance ablation (issue #13): train, then measure.

Trains one model on the embedded shapes at a fixed budget (the `gvae train` default unless
told otherwise), then reports on images it did not train on:

- held-out reconstruction, KL and negative ELBO (nats per image, 2,048 images drawn with
  another seed than the training stream);
- MIG and its per-factor gaps on ``--mig-points`` grid points sampled with ``--mig-seed``
  (the tuning seed, 1000 by default, is not the seed the examples report with);
- which unit holds each factor (the argmax of the mutual-information matrix).

Each run appends one JSON line to ``benchmarks/results/guidance_ablation.jsonl``.

    python benchmarks/guidance_ablation.py --name default --model guided --seed 0
    python benchmarks/guidance_ablation.py --name iso \
        --model-arg transforms='["uniform_scale","rotation","translation"]'
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "guidance_ablation.jsonl"


def table(results=RESULTS):
    """The results file as a markdown table, one row per run in the order they ran."""
    rows = [json.loads(line) for line in Path(results).read_text().splitlines() if line.strip()]
    lines = [
        "| run | seed | model | beta | budget | lr | options | train s | recon. | KL | -ELBO "
        "| sub recon. | MIG | shape | scale | orient. | pos_x | pos_y | units (scale, x, y) |",
        "|---|---:|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        h, f, u = r["heldout"], r["mig_per_factor"], r["unit_of_factor"]
        options = ", ".join(f"{k}={json.dumps(v)}" for k, v in r["model_kwargs"].items()) or "-"
        lr = f"{r['learning_rate']:g}" + (" cos" if r["lr_schedule"] == "cosine" else "")
        sub = f"{h['sub_reconstruction']:.0f}" if "sub_reconstruction" in h else "-"
        lines.append(
            f"| {r['name']} | {r['seed']} | {r['model']} | {r['beta']:g} | {r['budget']} | {lr} "
            f"| {options} | {r['train_seconds']:.0f} | {h['reconstruction']:.1f} | {h['kl']:.1f} "
            f"| {h['reconstruction'] + h['kl']:.1f} | {sub} | {r['mig']:.3f} | {f['shape']:.2f} "
            f"| {f['scale']:.2f} | {f['orientation']:.2f} | {f['pos_x']:.2f} | {f['pos_y']:.2f} "
            f"| z{u['scale']}, z{u['pos_x']}, z{u['pos_y']} |"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--name", help="label of this run in the results")
    p.add_argument(
        "--table", action="store_true", help="print the results file as a markdown table and exit"
    )
    p.add_argument("--model", default="guided", choices=("guided", "vae", "beta-vae"))
    p.add_argument("--beta", type=float, default=None)
    p.add_argument("--latent-dim", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--steps-per-epoch", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=5e-4)
    p.add_argument("--lr-schedule", default="constant")
    p.add_argument("--model-arg", action="append", default=[], metavar="NAME=JSON")
    p.add_argument("--mig-points", type=int, default=10000)
    p.add_argument("--mig-seed", type=int, default=1000)
    p.add_argument("--eval-images", type=int, default=2048)
    p.add_argument("--results", default=str(RESULTS))
    p.add_argument("--save", default=None, help="also save the trained model here (.keras)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.table:
        print(table(args.results), end="")
        return None
    if not args.name:
        raise SystemExit("--name is required (a label for this run)")
    model_kwargs = {}
    for item in args.model_arg:
        key, _, value = item.partition("=")
        try:
            model_kwargs[key] = json.loads(value)
        except json.JSONDecodeError:
            model_kwargs[key] = value

    import keras
    import numpy as np
    import tensorflow as tf

    from keras_gvae.data.shapes import ShapesData
    from keras_gvae.evaluation.mig import mig_per_factor
    from keras_gvae.evaluation.utils import mutual_information_matrix
    from keras_gvae.io import write_text
    from keras_gvae.training import TrainConfig, build_model, make_pipeline

    config = TrainConfig(
        model=args.model,
        beta=args.beta,
        latent_dim=args.latent_dim,
        seed=args.seed,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        lr_schedule=args.lr_schedule,
        model_kwargs=model_kwargs,
    )
    keras.utils.set_random_seed(config.seed)
    train = make_pipeline(config, config.seed, config.batch_size).repeat()
    model = build_model(config, (64, 64, 1))
    start = time.perf_counter()
    history = model.fit(
        train, epochs=config.epochs, steps_per_epoch=config.steps_per_epoch, verbose=0
    )
    seconds = time.perf_counter() - start
    if args.save:
        model.save(args.save)

    # Held-out images: a stream with a seed no training run uses (10,000 + training seed).
    held = make_pipeline(config, 10_000 + config.seed, 256, drop_remainder=False)
    images = np.concatenate([x.numpy() for x, _ in held.take(-(-args.eval_images // 256))])
    evaluation = model.evaluate(
        images[: args.eval_images], batch_size=256, verbose=0, return_dict=True
    )

    data = ShapesData()
    factors, observations = data.sample(args.mig_points, np.random.RandomState(args.mig_seed))
    represent = model.representation_function()
    codes = represent(observations)
    gaps = mig_per_factor(codes, factors)
    mi = mutual_information_matrix(codes, factors)
    row = {
        "name": args.name,
        "model": args.model,
        "beta": config.beta,
        "seed": config.seed,
        "budget": f"{config.epochs}x{config.steps_per_epoch}x{config.batch_size}",
        "learning_rate": config.learning_rate,
        "lr_schedule": config.lr_schedule,
        "model_kwargs": model_kwargs,
        "train_seconds": round(seconds, 1),
        "final_loss": float(history.history["loss"][-1]),
        "heldout": {k: round(float(v), 2) for k, v in evaluation.items()},
        "mig": round(float(np.mean(gaps)), 4),
        "mig_per_factor": dict(
            zip(data.factor_names, [round(float(g), 3) for g in gaps], strict=True)
        ),
        "unit_of_factor": dict(
            zip(data.factor_names, [int(u) for u in np.argmax(mi, axis=0)], strict=True)
        ),
        # The two most informative units per factor and their MI (nats).
        "top2": {
            name: [[int(u), round(float(mi[u, k]), 3)] for u in np.argsort(-mi[:, k])[:2]]
            for k, name in enumerate(data.factor_names)
        },
        "mig_points": args.mig_points,
        "mig_seed": args.mig_seed,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, TF {tf.__version__}",
    }
    line = json.dumps(row)
    print(line, flush=True)
    path = Path(args.results)
    previous = path.read_text() if path.exists() else ""
    write_text(path, previous + line + "\n")
    return row


if __name__ == "__main__":
    main()
