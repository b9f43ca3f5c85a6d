"""The latent explorer's logic as plain functions: a code in, images and numbers out.

`keras_gvae.explore.ui` lays these out as a Gradio page; each function here takes the model
(and a code, an image or a renderer) and returns arrays, PIL images or text, so they are
tested without a server. A *code* is a float32 vector of ``model.latent_dim`` values, one
per slider; a *frame* is what the page shows for one code (:func:`make_renderer`).
"""

from __future__ import annotations

import numpy as np

# The sliders' range and step; codes set from an image or a prior draw are clipped to it.
SLIDER_MIN, SLIDER_MAX, SLIDER_STEP = -4.0, 4.0, 0.05
# The walk view's values, as `gvae traverse` sweeps them.
WALK_VALUES = tuple(np.linspace(-2.5, 2.5, 9).tolist())


def unit_labels(model):
    """One slider label per latent unit, naming what the model knows of it.

    GuidedVAE: the transform parameter a deformation unit drives (``z0 (scale)``), and
    ``content`` for the others; SupervisedGuidedVAE: the attribute an excited unit carries
    (``z1 (bottom_half)``); other units are ``z2``.
    """
    from keras_gvae.models import GuidedVAE
    from keras_gvae.visualization import unit_labels as named

    labels = named(model)
    if isinstance(model, GuidedVAE):
        labels = [
            label if unit < model.num_deformation else f"z{unit} (content)"
            for unit, label in enumerate(labels)
        ]
    return labels


def make_renderer(model):
    """A function ``code -> frame`` that decodes one code with one ``tf.function`` call.

    The frame is a dict of float32 numpy arrays: one image (H, W, C) in [0, 1] per renderer
    of ``model.decoders()`` ("main", and "sub" for GuidedVAE), and for SupervisedGuidedVAE
    ``"attributes"``, the excitation heads' probabilities (K,) of the main decoder's image,
    encoded again (what ``model.predict_attributes`` gives for it), and
    ``"attributes_of_code"``, the heads' probabilities on the code itself.
    """
    import tensorflow as tf

    names = list(model.decoders())
    supervised = bool(getattr(model, "attributes", ()))

    @tf.function(input_signature=[tf.TensorSpec((None, model.latent_dim), tf.float32)])
    def frames(z):
        out = {name: render(z) for name, render in model.decoders().items()}
        if supervised:
            mean, _ = model.encode(out["main"], validate=False)
            out["attributes"] = model.attribute_probabilities(mean)
            out["attributes_of_code"] = model.attribute_probabilities(z)
        return out

    def render(code):
        code = check_code(model, code)
        out = frames(tf.constant(code[None]))
        frame = {name: out[name].numpy()[0] for name in names}
        for key in ("attributes", "attributes_of_code") if supervised else ():
            frame[key] = out[key].numpy()[0]
        return frame

    return render


def slider_update(model, render, code):
    """What the page shows when a slider moves: one uint8 display image per decoder of
    ``model.decoders()``, then for SupervisedGuidedVAE the heads' table; ``render`` is
    :func:`make_renderer`'s."""
    frame = render(code)
    shown = [to_display(frame[name]) for name in model.decoders()]
    return [*shown, attribute_table(model, frame)] if "attributes" in frame else shown


def check_code(model, code):
    """``code`` as float32 (latent_dim,); a ValueError naming the expected length otherwise."""
    code = np.asarray(code, np.float32).reshape(-1)
    if code.shape != (model.latent_dim,) or not np.all(np.isfinite(code)):
        raise ValueError(
            f"expected a code of {model.latent_dim} finite numbers (one per latent unit); "
            f"got {code.size} values"
        )
    return code


def slider_code(code):
    """A code as the sliders hold it: clipped to their range and rounded to 0.01, as a list
    of floats."""
    code = np.clip(np.asarray(code, np.float64), SLIDER_MIN, SLIDER_MAX)
    return [round(float(v), 2) for v in code]


def prior_code(model, seed):
    """A draw from the prior N(0, I), reproducible from ``seed``."""
    rng = np.random.default_rng(int(seed))
    return rng.standard_normal(model.latent_dim).astype(np.float32)


def encode_image(model, image):
    """The posterior mean of one image (H, W, C), checked like ``model.encode`` checks."""
    import keras

    image = np.asarray(image, np.float32)
    z_mean, _ = model.encode(image[None], validate=True)
    return keras.ops.convert_to_numpy(z_mean)[0].astype(np.float32)


def to_display(image):
    """A float image (H, W, C) in [0, 1] as uint8 RGB (H, W, 3), at its own size: the page
    scales it up without smoothing (small PNGs keep a slider's round trip short)."""
    from keras_gvae.visualization import to_uint8

    return to_uint8(image)


def attribute_table(model, frame):
    """A Markdown table of the excitation heads' probabilities in ``frame`` ("" without)."""
    if "attributes" not in frame:
        return ""
    rows = [
        "| attribute | unit | p, the image | p, the code |",
        "|---|---:|---:|---:|",
    ]
    for name, unit, of_image, of_code in zip(
        model.attributes,
        model.attribute_units,
        frame["attributes"],
        frame["attributes_of_code"],
        strict=True,
    ):
        rows.append(f"| {name} | z{unit} | {of_image:.3f} | {of_code:.3f} |")
    return "\n".join(rows)


def walk_figure(model, code, unit, values=WALK_VALUES):
    """The traversal of one unit around ``code``, drawn as `gvae traverse` draws a row.

    One labelled row per renderer ("main", and "sub" for GuidedVAE), side by side: the
    unit takes each of ``values`` (default -2.5 .. 2.5 in 9 steps), the other units stay
    at ``code`` (``model.traverse(z=code, units=[unit])``). Returns a PIL image.
    """
    from keras_gvae import visualization

    code = check_code(model, code)
    unit = int(unit)
    if not 0 <= unit < model.latent_dim:
        raise ValueError(f"expected a unit in [0, {model.latent_dim}); got {unit}")
    values = np.asarray(values, np.float32)
    label = unit_labels(model)[unit]
    zoom = 2 if model.image_shape[0] <= 32 else 1  # as visualization's figures
    panels = []
    for name in model.decoders():
        images = model.traverse(z=code, units=[unit], values=values, decoder=name)
        title = f"{name} decoder, z = {values[0]:+.1f} .. {values[-1]:+.1f}"
        panels.append(visualization.labelled_panel(images, [label], title=title, zoom=zoom))
    return visualization.side_by_side(panels)
