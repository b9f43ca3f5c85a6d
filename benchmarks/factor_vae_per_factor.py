"""The FactorVAE score factor by factor: which fixed factor's votes the classifier gets wrong.

The FactorVAE score (``keras_gvae.evaluation.factor_vae_score``) is the accuracy of a
majority-vote classifier over votes "factor k was fixed -> code j varied least". This runs
the same votes with the same sampling (the library's own ``factor_vae_votes``,
disentanglement_lib's sizes unless told otherwise) and reports, per factor, the share of its
evaluation votes the classifier gets right, where they went, and the score those shares add
up to. A factor no unit codes spreads its votes over codes that belong to other factors,
which caps the score at about (number of coded factors) / (number of factors) plus what it
gets right by chance.

Usage:
    python benchmarks/factor_vae_per_factor.py saved_models/guided_shapes
    python benchmarks/factor_vae_per_factor.py RUN --num-train 1000 --num-eval 500

Prints a markdown table and one JSON line; ``--output`` also writes the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def per_factor(train_votes, eval_votes):
    """Per factor: the share of its evaluation votes the training majority classifier gets
    right, and the overall accuracy (the FactorVAE score)."""
    classifier = np.argmax(train_votes, axis=0)  # code -> factor
    right = np.array([eval_votes[k, classifier == k].sum() for k in range(len(eval_votes))])
    totals = eval_votes.sum(axis=1)
    shares = np.where(totals > 0, right / np.maximum(totals, 1), np.nan)
    return shares, float(right.sum() / eval_votes.sum()), classifier


def breakdown(
    data,
    represent,
    seed=0,
    num_train=10000,
    num_eval=5000,
    num_variance_estimate=10000,
    batch_size=64,
):
    """``(score, per-factor shares, classifier, eval votes, active codes)`` from the votes of
    ``factor_vae_score(data, represent, seed=seed, ...)`` (``factor_vae_votes``)."""
    from keras_gvae.evaluation.factor_vae import factor_vae_votes

    train_votes, eval_votes, active = factor_vae_votes(
        data, represent, seed, batch_size, num_train, num_eval, num_variance_estimate
    )
    shares, score, classifier = per_factor(train_votes, eval_votes)
    return score, shares, classifier, eval_votes, active


def main(argv=None):
    from keras_gvae.data.shapes import ShapesData
    from keras_gvae.io import write_text
    from keras_gvae.saving import load_model, resolve_model_path

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="a .keras file or a run directory")
    p.add_argument("--num-train", type=int, default=10000)
    p.add_argument("--num-eval", type=int, default=5000)
    p.add_argument("--num-variance-estimate", type=int, default=10000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default=None)
    args = p.parse_args(argv)

    model = load_model(resolve_model_path(args.model), compile=False)
    represent = model.representation_function()
    data = ShapesData()
    score, shares, classifier, eval_votes, active = breakdown(
        data,
        represent,
        args.seed,
        args.num_train,
        args.num_eval,
        args.num_variance_estimate,
        args.batch_size,
    )
    names = list(getattr(data, "factor_names", [f"factor {k}" for k in range(len(shares))]))
    command = " ".join(sys.argv[1:] if argv is None else argv)
    lines = [
        f"`python benchmarks/factor_vae_per_factor.py {command}`",
        "",
        f"FactorVAE score {score:.3f} ({int(active.sum())} active codes; votes "
        f"{args.num_train} / {args.num_eval}, seed {args.seed}).",
        "",
        "| fixed factor | eval votes | classified right | codes it voted for (share) "
        "| codes assigned to it |",
        "|---|---:|---:|---|---|",
    ]
    for k, name in enumerate(names):
        row = eval_votes[k]
        top = np.argsort(row)[::-1][:3]
        went = ", ".join(f"z{j} ({row[j] / max(row.sum(), 1):.2f})" for j in top if row[j])
        owned = ", ".join(f"z{j}" for j in np.flatnonzero(classifier == k) if active[j]) or "none"
        lines.append(f"| {name} | {row.sum()} | {shares[k]:.3f} | {went} | {owned} |")
    text = "\n".join(lines) + "\n"
    print(text)
    print(
        json.dumps(
            {
                "model": args.model,
                "score": score,
                "per_factor": dict(zip(names, shares.tolist(), strict=True)),
            }
        )
    )
    if args.output:
        write_text(Path(args.output), text)
    return score, shares


if __name__ == "__main__":
    main()
