"""The unsupervised Guided-VAE sub-decoder: a PCA-like content basis, warped affinely."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_gvae.layers.affine_spatial_transformer import AffineSpatialTransformer, affine_theta

# Soft bounds of the transforms: scale in (1/4, 4), translation within 1.5 half-sizes.
MAX_SCALE = 4.0
MAX_LOG_SCALE = float(np.log(MAX_SCALE))
MAX_TRANSLATION = 1.5

# Each enabled transform owns these deformation units, in this order. "scale" stretches
# each axis with its own unit (the paper's affine family); "uniform_scale" is one unit
# for both axes (one unit per factor where the data's size is isotropic, as dSprites').
TRANSFORM_PARAMETERS = {
    "scale": ("scale_x", "scale_y"),
    "uniform_scale": ("scale",),
    "rotation": ("angle",),
    "translation": ("translate_x", "translate_y"),
}
TRANSFORM_MAPS = ("mlp", "linear")
# How the template's bias starts: "zeros" (the paper: a grey image), or "centred": the
# logits of a centred Gaussian blob, so the warp has an edge to move from the first step.
TEMPLATE_INITS = ("zeros", "centred")
CENTRED_BLOB_WIDTH = 0.1  # standard deviation, as a fraction of the image's side
CENTRED_BLOB_LOGIT = 3.0  # +3 at the centre, -3 far from it


def centred_blob_logits(image_shape, width=CENTRED_BLOB_WIDTH, logit=CENTRED_BLOB_LOGIT):
    """Logits ``2 * logit * exp(-r^2 / (2 (width * side)^2)) - logit`` of a centred blob,
    flattened like the template (H * W * C)."""
    height, width_px, channels = image_shape
    ys = (np.arange(height) - (height - 1) / 2) / height
    xs = (np.arange(width_px) - (width_px - 1) / 2) / width_px
    r2 = ys[:, None] ** 2 + xs[None, :] ** 2
    blob = 2 * logit * np.exp(-r2 / (2 * width**2)) - logit
    return np.repeat(blob[:, :, None], channels, axis=2).reshape(-1).astype(np.float32)


def transform_parameter_names(transforms):
    """Names of the deformation units for ``transforms``, in latent order."""
    from keras_gvae.errors import ParameterError

    if isinstance(transforms, str):  # not a tuple of its letters
        raise ParameterError(
            "transforms",
            f"transforms={transforms!r}: expected a list of names from "
            f'{tuple(TRANSFORM_PARAMETERS)}, e.g. ["scale", "rotation"]',
        )
    transforms = tuple(transforms)
    unknown = [t for t in transforms if t not in TRANSFORM_PARAMETERS]
    if (
        unknown
        or not transforms
        or len(set(transforms)) != len(transforms)
        or {"scale", "uniform_scale"} <= set(transforms)
    ):
        raise ParameterError(
            "transforms",
            f"transforms={list(transforms)!r}: expected a non-empty subset of "
            f"{tuple(TRANSFORM_PARAMETERS)} without repeats and with at most one of 'scale' "
            "and 'uniform_scale'",
        )
    # Always in canonical order, so the latent layout does not depend on how they are listed.
    return tuple(
        p for t in TRANSFORM_PARAMETERS if t in transforms for p in TRANSFORM_PARAMETERS[t]
    )


@keras.saving.register_keras_serializable(package="keras_gvae")
class GuidanceDecoder(keras.layers.Layer):
    """Guided-VAE's lightweight sub-decoder (Ding et al., CVPR 2020, Sec. 3.1, Fig. 2).

    The content units render a template through a learned linear basis,
    ``content = sigmoid(z_cont @ B + b)`` with one row ``b_i`` of ``B`` per content unit
    (the "PCA-like" basis, kept near-orthogonal by
    :func:`keras_gvae.losses.orthogonality_penalty`). Each deformation unit drives one
    transform parameter through its own small learned map
    ``p_k = sum_h v_kh tanh(u_kh z_k + c_kh) + d_k`` (a 1 -> ``hidden_units`` -> 1 MLP per
    unit), and the template is warped by scale ``exp(L tanh(p / L))`` with
    ``L = log(max_scale)`` (a factor in (1/4, 4) by default, about ``exp(p)`` near 0),
    rotation angle ``p`` (radians) and translation ``T tanh(p / T)`` with
    ``T = max_translation`` (fractions of the half-size, 1.5 by default), with
    :class:`AffineSpatialTransformer`, composed into a single bilinear resampling.
    The authors' code implements scale and rotation only, as two successive warps.

    Args:
        image_shape: tuple (H, W, C) of the images to render.
        num_content: int, number of content units (rows of the basis).
        transforms: tuple of "scale" (or "uniform_scale"), "rotation", "translation"; the
            deformation units are ordered as ``transform_parameter_names(transforms)``:
            scale_x, scale_y (or scale), angle, translate_x, translate_y. Defaults to
            ("scale", "rotation", "translation").
        hidden_units: int, width of each unit's map. Defaults to 16.
        max_scale: float > 1, scale factors lie in (1 / max_scale, max_scale). Defaults to 4.
        max_translation: float, translations lie within this many half-sizes. Defaults to 1.5.
        transform_map: "mlp" (the per-unit tanh map above, the default) or "linear"
            (``p_k = g_k z_k + d_k``).
        template_init: "zeros" (the template's bias starts at 0: a grey image; the default)
            or "centred" (the logits of a centred Gaussian blob, :func:`centred_blob_logits`).
        basis_gain: float >= 0, the gain of the basis' orthogonal initialisation (its rows
            start with this norm, in logits per unit of ``z_cont``). Defaults to 4.0, the
            authors' code; 0 starts the basis at zero, so the content units change nothing
            until it has learned.
        **kwargs: standard Keras layer arguments.

    Call arguments:
        z_def: float tensor (batch, num_deformation), the deformation units.
        z_cont: float tensor (batch, num_content), the content units.

    Returns:
        The warped content images, float (batch, H, W, C) in [0, 1].
    """

    def __init__(
        self,
        image_shape,
        num_content,
        transforms=("scale", "rotation", "translation"),
        hidden_units=16,
        max_scale=MAX_SCALE,
        max_translation=MAX_TRANSLATION,
        transform_map="mlp",
        template_init="zeros",
        basis_gain=4.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # === Config ===
        self.image_shape = tuple(int(s) for s in image_shape)
        if len(self.image_shape) != 3:
            raise ValueError(f"image_shape must be (H, W, C); got {image_shape!r}")
        self.num_content = int(num_content)
        if self.num_content < 1:
            raise ValueError(f"num_content must be >= 1; got {num_content!r}")
        self.transforms = tuple(transforms)
        self.parameter_names = transform_parameter_names(self.transforms)
        self.num_deformation = len(self.parameter_names)
        self.hidden_units = int(hidden_units)
        self.max_scale = float(max_scale)
        self.max_translation = float(max_translation)
        if not self.max_scale > 1 or not self.max_translation > 0:
            raise ValueError(
                f"max_scale must be > 1 and max_translation > 0; got {max_scale!r}, "
                f"{max_translation!r}"
            )
        if transform_map not in TRANSFORM_MAPS:
            raise ValueError(
                f"transform_map must be one of {TRANSFORM_MAPS}; got {transform_map!r}"
            )
        self.transform_map = transform_map
        if template_init not in TEMPLATE_INITS:
            raise ValueError(
                f"template_init must be one of {TEMPLATE_INITS}; got {template_init!r}"
            )
        self.template_init = template_init
        self.basis_gain = float(basis_gain)
        if self.basis_gain < 0:
            raise ValueError(f"basis_gain must be >= 0; got {basis_gain!r}")
        # === Layers ===
        self.warp = AffineSpatialTransformer(name="warp", dtype=self.dtype_policy)

    def build(self, z_def_shape=None, z_cont_shape=None):
        pixels = int(np.prod(self.image_shape))
        p, h = self.num_deformation, self.hidden_units
        self.basis = self.add_weight(
            shape=(self.num_content, pixels),
            initializer=(
                keras.initializers.Orthogonal(gain=self.basis_gain) if self.basis_gain else "zeros"
            ),
            name="basis",
        )
        bias_init = "zeros"
        if self.template_init == "centred":
            bias_init = keras.initializers.Constant(centred_blob_logits(self.image_shape))
        self.basis_bias = self.add_weight(shape=(pixels,), initializer=bias_init, name="basis_bias")
        if self.transform_map == "mlp":
            self.map_in_kernel = self.add_weight(
                shape=(p, h),
                initializer=keras.initializers.RandomNormal(stddev=1.0),
                name="map_in_kernel",
            )
            self.map_in_bias = self.add_weight(
                shape=(p, h),
                initializer=keras.initializers.RandomNormal(stddev=0.5),
                name="map_in_bias",
            )
            self.map_out_kernel = self.add_weight(
                shape=(p, h),
                initializer=keras.initializers.RandomNormal(stddev=0.3 / np.sqrt(h)),
                name="map_out_kernel",
            )
        else:
            # p_k = g_k z_k + d_k, the gain starting where z in [-2, 2] spans +-1.
            self.map_gain = self.add_weight(
                shape=(p,), initializer=keras.initializers.Constant(0.5), name="map_gain"
            )
        self.map_out_bias = self.add_weight(shape=(p,), initializer="zeros", name="map_out_bias")
        self.built = True

    def content(self, z_cont):
        """The unwarped template ``sigmoid(z_cont @ B + b)``, (batch, H, W, C)."""
        z_cont = tf.cast(z_cont, self.compute_dtype)
        logits = tf.matmul(z_cont, tf.cast(self.basis, z_cont.dtype)) + tf.cast(
            self.basis_bias, z_cont.dtype
        )
        return tf.reshape(tf.sigmoid(logits), (-1, *self.image_shape))

    def transform_parameters(self, z_def):
        """The transform each unit drives, dict name -> (batch,): scale_x, scale_y (factors),
        angle (radians), translate_x, translate_y (fractions of the half-size)."""
        z_def = tf.cast(z_def, self.compute_dtype)
        if self.transform_map == "linear":
            out = z_def * tf.cast(self.map_gain, z_def.dtype)[None]
        else:
            hidden = tf.tanh(
                z_def[:, :, None] * tf.cast(self.map_in_kernel, z_def.dtype)[None]
                + tf.cast(self.map_in_bias, z_def.dtype)[None]
            )
            out = tf.reduce_sum(hidden * tf.cast(self.map_out_kernel, z_def.dtype)[None], axis=-1)
        out = out + tf.cast(self.map_out_bias, z_def.dtype)[None]
        log_scale = float(np.log(self.max_scale))
        params = {}
        for k, name in enumerate(self.parameter_names):
            p = out[:, k]
            if name.startswith("scale"):
                p = tf.exp(log_scale * tf.tanh(p / log_scale))
            elif name.startswith("translate"):
                p = self.max_translation * tf.tanh(p / self.max_translation)
            params[name] = p
        return params

    def theta(self, z_def):
        """The output-to-source affine maps (batch, 2, 3) that ``z_def`` drives."""
        p = self.transform_parameters(z_def)
        return affine_theta(
            scale_x=p.get("scale_x", p.get("scale")),
            scale_y=p.get("scale_y", p.get("scale")),
            angle=p.get("angle"),
            translate_x=p.get("translate_x"),
            translate_y=p.get("translate_y"),
            size=self.image_shape[:2],
        )

    def call(self, z_def, z_cont):
        return self.warp(self.content(z_cont), self.theta(z_def))

    def compute_output_shape(self, z_def_shape, z_cont_shape=None):
        return (z_def_shape[0], *self.image_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "image_shape": self.image_shape,
                "num_content": self.num_content,
                "transforms": self.transforms,
                "hidden_units": self.hidden_units,
                "max_scale": self.max_scale,
                "max_translation": self.max_translation,
                "transform_map": self.transform_map,
                "template_init": self.template_init,
                "basis_gain": self.basis_gain,
            }
        )
        return config
