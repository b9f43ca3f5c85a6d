"""Plots of evaluation results, rendered with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from keras_gvae.io import atomic_file


def plot_mi_matrix(
    mi,
    path: str | os.PathLike,
    code_names: Sequence[str] | None = None,
    factor_names: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """Saves an annotated heatmap of a ``(num_codes, num_factors)`` matrix as a PNG.

    Rows are codes and columns factors; every cell shows its value with two decimals. The
    figure is drawn on its own Agg canvas (pyplot's global state is untouched) and written
    atomically (`keras_gvae.io.atomic_file`).

    Args:
        mi: Array ``(num_codes, num_factors)``, e.g. from ``mutual_information_matrix``.
        path: Destination ``.png`` path; its folder is created if needed.
        code_names: Row labels. Defaults to ``None`` (``z0, z1, ...``).
        factor_names: Column labels, e.g. ``ground_truth_data.factor_names``. Defaults to
            ``None`` (``factor_0, factor_1, ...``).
        title: Figure title. Defaults to ``None`` (no title).

    Returns:
        The written path.
    """
    mi = np.asarray(mi, dtype=np.float64)
    if mi.ndim != 2:
        raise ValueError(f"mi must have shape (num_codes, num_factors); got {mi.shape}.")
    num_codes, num_factors = mi.shape
    code_names = list(code_names) if code_names is not None else [f"z{i}" for i in range(num_codes)]
    factor_names = (
        list(factor_names)
        if factor_names is not None
        else [f"factor_{j}" for j in range(num_factors)]
    )
    if len(code_names) != num_codes or len(factor_names) != num_factors:
        raise ValueError(
            f"Expected {num_codes} code names and {num_factors} factor names for mi of shape "
            f"{mi.shape}; got {len(code_names)} and {len(factor_names)}."
        )

    figure = Figure(figsize=(1.0 + 0.9 * num_factors, 1.0 + 0.45 * num_codes), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    top = mi.max() if mi.size and mi.max() > 0 else 1.0
    image = axes.imshow(mi, cmap="viridis", vmin=0.0, vmax=top, aspect="auto")
    figure.colorbar(image, ax=axes)
    axes.set_xticks(range(num_factors), labels=factor_names, rotation=45, ha="right")
    axes.set_yticks(range(num_codes), labels=code_names)
    axes.set_xlabel("factor")
    axes.set_ylabel("code")
    for i in range(num_codes):
        for j in range(num_factors):
            color = "black" if mi[i, j] > 0.6 * top else "white"
            axes.text(j, i, f"{mi[i, j]:.2f}", ha="center", va="center", color=color, fontsize=8)
    if title:
        axes.set_title(title)
    figure.tight_layout()

    with atomic_file(path) as file:
        figure.savefig(file, format="png")
    return Path(path)
