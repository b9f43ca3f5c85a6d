"""Image grids for reconstructions and latent traversals, written as PNG files."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from keras_gvae.io import atomic_file


def to_uint8(images):
    """float images in [0, 1] (..., H, W, C) -> uint8 RGB (..., H, W, 3)."""
    images = np.clip(np.asarray(images, np.float32), 0.0, 1.0)
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return (images * 255.0 + 0.5).astype(np.uint8)


def grid(images, pad=2, background=128):
    """Tiles (rows, cols, H, W, C) images in [0, 1] into one uint8 RGB array."""
    images = to_uint8(images)
    rows, cols, h, w = images.shape[:4]
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), background, np.uint8)
    for r in range(rows):
        for c in range(cols):
            y, x = pad + r * (h + pad), pad + c * (w + pad)
            out[y : y + h, x : x + w] = images[r, c]
    return out


def labelled_panel(images, row_labels=(), title=None, zoom=1, label_width=None):
    """A grid with a text label left of each row and an optional title above."""
    tile = Image.fromarray(grid(images))
    if zoom != 1:
        tile = tile.resize((tile.width * zoom, tile.height * zoom), Image.NEAREST)
    rows = np.asarray(images).shape[0]
    label_width = (
        label_width
        if label_width is not None
        else (8 + 6 * max((len(s) for s in row_labels), default=0))
    )
    top = 16 if title else 0
    panel = Image.new("RGB", (tile.width + label_width, tile.height + top), (255, 255, 255))
    panel.paste(tile, (label_width, top))
    draw = ImageDraw.Draw(panel)
    if title:
        draw.text((label_width + 2, 2), title, fill=(0, 0, 0))
    row_h = tile.height / max(rows, 1)
    for r, label in enumerate(row_labels):
        draw.text((2, top + r * row_h + row_h / 2 - 5), label, fill=(0, 0, 0))
    return panel


def side_by_side(panels, gap=12):
    """Places PIL images left to right on white."""
    width = sum(p.width for p in panels) + gap * (len(panels) - 1)
    height = max(p.height for p in panels)
    out = Image.new("RGB", (width, height), (255, 255, 255))
    x = 0
    for p in panels:
        out.paste(p, (x, 0))
        x += p.width + gap
    return out


def save_png(image, path, overwrite=True):
    """Saves a PIL image or uint8 array as PNG, atomically; an existing file is replaced only
    with ``overwrite`` (default True)."""
    if not isinstance(image, Image.Image):
        image = Image.fromarray(np.asarray(image))
    with atomic_file(path, "wb", overwrite=overwrite) as f:
        image.save(f, format="PNG")


def unit_labels(model):
    """Row labels ``z3 (angle)`` naming what each unit is for, where the model says."""
    names = {}
    for i, name in enumerate(getattr(model, "parameter_names", ())):
        names[i] = name
    for i, name in enumerate(getattr(model, "attributes", ()) or ()):
        unit = getattr(model, "attribute_units", list(range(len(model.attributes))))[i]
        names[unit] = name
    return [f"z{u} ({names[u]})" if u in names else f"z{u}" for u in range(model.latent_dim)]


def _zoom(model, zoom):
    """The figures' default zoom: 2 for images of 32 pixels or less, else 1."""
    return zoom or (2 if model.image_shape[0] <= 32 else 1)


def traversal_panels(model, x=None, values=None, zoom=None):
    """``{decoder name: panel}``: one labelled traversal grid per renderer of the model
    ("main", and "sub" for GuidedVAE).

    Each row sweeps one latent unit over ``values`` (default -2.5..2.5 in 9 steps)
    around the posterior mean of ``x`` (or zeros).
    """
    values = np.linspace(-2.5, 2.5, 9) if values is None else np.asarray(values)
    zoom = _zoom(model, zoom)
    labels = unit_labels(model)
    panels = {}
    for name in model.decoders():
        images = model.traverse(x=x, values=values, decoder=name)
        title = f"{name} decoder, z = {values[0]:+.1f} .. {values[-1]:+.1f}"
        panels[name] = labelled_panel(images, labels, title=title, zoom=zoom)
    return panels


def traversal_figure(model, x=None, values=None, zoom=None):
    """The panels of :func:`traversal_panels` side by side."""
    return side_by_side(list(traversal_panels(model, x=x, values=values, zoom=zoom).values()))


def reconstruction_figure(model, x, zoom=None):
    """Rows: inputs, main reconstructions, and the sub-decoder's renderings if any."""
    import keras

    x = np.asarray(x, np.float32)
    zoom = _zoom(model, zoom)
    z_mean, _ = model.encode(x)
    rows, labels = [x], ["input"]
    for name, render in model.decoders().items():
        rows.append(keras.ops.convert_to_numpy(render(z_mean)))
        labels.append(name)
    return labelled_panel(np.stack(rows), labels, zoom=zoom)


def attribute_sweep_figure(model, x, ranges, steps=7, zoom=None):
    """What each excited unit of a supervised model does to real images.

    One panel per attribute: each row is one image of ``x`` (its posterior mean), with
    the attribute's unit swept from ``ranges[k][0]`` to ``ranges[k][1]`` in ``steps`` values
    (e.g. the negatives' and positives' means, or percentiles of the held-out codes) and
    every other unit left where the image put it (``model.traverse`` of that unit).
    """
    x = np.asarray(x, np.float32)
    zoom = _zoom(model, zoom)
    panels = []
    for name, unit, (low, high) in zip(
        model.attributes, model.attribute_units, ranges, strict=True
    ):
        values = np.linspace(low, high, steps)
        images = np.stack([model.traverse(x=image, units=[unit], values=values)[0] for image in x])
        title = f"z{unit} ({name}): {low:+.2f} .. {high:+.2f}"
        panels.append(
            labelled_panel(images, [f"image {i}" for i in range(len(x))], title=title, zoom=zoom)
        )
    return side_by_side(panels)
