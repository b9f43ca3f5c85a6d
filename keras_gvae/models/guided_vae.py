"""Unsupervised Guided-VAE: a VAE whose deformation units drive a geometric sub-decoder."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from keras_gvae.layers.guidance_decoder import GuidanceDecoder, transform_parameter_names
from keras_gvae.losses import gaussian_kl, orthogonality_penalty
from keras_gvae.models.terms import add_step_counter, warmup_schedule
from keras_gvae.models.vae import VAE

DEFAULT_TRANSFORMS = ("scale", "rotation", "translation")
# What the sub-decoder reads: the reparameterised sample (the paper) or the posterior mean.
SUB_INPUTS = ("sample", "mean")


@keras.saving.register_keras_serializable(package="keras_gvae")
class GuidedVAE(VAE):
    """Unsupervised Guided-VAE (Ding et al., "Guided Variational Autoencoder for
    Disentanglement Learning", CVPR 2020, Sec. 3.1).

    The latent ``z`` splits into deformation units ``z_def = z[:, :D]`` and content units
    ``z_cont = z[:, D:]``, where ``D`` is the number of transform parameters
    (``scale`` -> scale_x, scale_y; ``rotation`` -> angle; ``translation`` ->
    translate_x, translate_y; 5 with the default transforms). The main decoder always
    sees all of ``z``. A lightweight sub-decoder (:class:`GuidanceDecoder`) renders a
    content image from ``z_cont`` through a learned linear basis and warps it with an
    affine spatial transformer driven by ``z_def``. The loss, per image and averaged over
    the batch (Eq. 3 of the paper with the authors' weights):

    ``loss = recon(x, Dec(z)) + beta * KL + sub_weight * recon(x, Dec_sub(z))
    + orthogonality_weight * sum_{i != j} |<b_i, b_j>|``

    with reconstruction terms summed over pixels. Reported metrics: ``loss``,
    ``reconstruction``, ``kl``, ``sub_reconstruction``, ``orthogonality``.

    Args:
        input_shape: tuple (H, W, C). Defaults to (64, 64, 1).
        latent_dim: int, total number of latent units; must exceed the number of
            deformation units. Defaults to 10.
        transforms: tuple, a subset of ("scale", "rotation", "translation"), or
            "uniform_scale" instead of "scale" (one unit for both axes, where the data's
            size is isotropic). Defaults to ("scale", "rotation", "translation").
        sub_weight: float, weight of the sub-decoder reconstruction (authors: 0.5).
        orthogonality_weight: float, weight of the basis penalty (authors: 1.0).
        transform_hidden_units: int, width of each deformation unit's map. Defaults to 16.
        max_scale: float > 1, the scale factors stay in (1 / max_scale, max_scale).
            Defaults to 4.0.
        max_translation: float, translations stay within this many half-sizes. Defaults
            to 1.5.
        transform_map: "mlp" (a 1 -> hidden -> 1 tanh map per unit, the default) or
            "linear" (a gain and an offset per unit).
        template_init: how the content template's bias starts: "zeros" (a grey image, the
            authors' code and the default) or "centred" (a centred Gaussian blob, so the warp
            has edges to move from the first step).
        basis_gain: float >= 0, the norm each row of the content basis starts with
            (orthogonal initialisation; 4.0, the authors' code and the default); 0 starts the
            basis at zero, so the warp of the template is all the sub-decoder can use at first.
        sub_input: what the sub-decoder reads: "sample" (the reparameterised ``z``, the
            paper, the default) or "mean" (the posterior mean).
        content_gradient: float in [0, 1], the factor on the sub-decoder loss's gradient
            into the content units (1.0, the default, is the paper; 0 trains the encoder
            through the deformation units only). The loss's value is unchanged.
        content_beta: float >= 0, None, or a schedule of the model's step counter
            (:attr:`guidance_step`; e.g. ``Ramp(4.0, 1.0, 2000, 5000)``, "tax early, release
            late"): the KL weight on the content units only (an extension; None, the
            default, is the paper: ``beta`` on every unit). Above ``beta`` it makes geometry
            the content units repeat from the deformation units costly, so it stays in the
            deformation units. The ``kl`` metric stays the KL of every unit; the extra
            ``(content_beta - beta) * KL(z_cont)`` is in ``loss``.
        guidance_warmup: None (the paper: full weight from the first step), an int ``n`` for
            ``LinearWarmup(n)``, or a schedule of the model's step counter
            (:attr:`guidance_step`, saved with the weights): the factor on the sub-decoder's
            reconstruction term and on ``content_beta``'s extra KL (the orthogonality
            penalty, which trains only the basis, keeps its weight). An extension.
        **kwargs: the arguments of :class:`VAE` (beta, likelihood, encoder, decoder, seed,
            ...) and standard Keras model arguments.

    Example:
    >>> model = GuidedVAE(input_shape=(28, 28, 1), latent_dim=10)
    >>> model.compile(optimizer="adam")
    >>> model.fit(images, epochs=10)  # doctest: +SKIP
    >>> rows = model.traverse(images[0], units=range(5), decoder="sub")  # doctest: +SKIP
    """

    METRIC_NAMES = VAE.METRIC_NAMES + ("sub_reconstruction", "orthogonality")

    def __init__(
        self,
        input_shape=(64, 64, 1),
        latent_dim=10,
        transforms=DEFAULT_TRANSFORMS,
        sub_weight=0.5,
        orthogonality_weight=1.0,
        transform_hidden_units=16,
        max_scale=4.0,
        max_translation=1.5,
        transform_map="mlp",
        template_init="zeros",
        basis_gain=4.0,
        sub_input="sample",
        content_gradient=1.0,
        content_beta=None,
        guidance_warmup=None,
        **kwargs,
    ):
        super().__init__(input_shape=input_shape, latent_dim=latent_dim, **kwargs)
        # === Config ===
        self.parameter_names = transform_parameter_names(transforms)
        self.transforms = tuple(transforms)
        self.num_deformation = len(self.parameter_names)
        if self.latent_dim <= self.num_deformation:
            raise ValueError(
                f"latent_dim={latent_dim} leaves no content unit: the transforms "
                f"{self.transforms} use {self.num_deformation} deformation units "
                f"({', '.join(self.parameter_names)}); use latent_dim > {self.num_deformation}"
            )
        self.sub_weight = float(sub_weight)
        self.orthogonality_weight = float(orthogonality_weight)
        if self.sub_weight < 0 or self.orthogonality_weight < 0:
            raise ValueError("sub_weight and orthogonality_weight must be >= 0")
        self.transform_hidden_units = int(transform_hidden_units)
        self.max_scale = float(max_scale)
        self.max_translation = float(max_translation)
        self.transform_map = transform_map
        self.template_init = template_init
        self.basis_gain = float(basis_gain)
        if sub_input not in SUB_INPUTS:
            raise ValueError(f"sub_input must be one of {SUB_INPUTS}; got {sub_input!r}")
        self.sub_input = sub_input
        self.content_gradient = float(content_gradient)
        if not 0.0 <= self.content_gradient <= 1.0:
            raise ValueError(f"content_gradient must be in [0, 1]; got {content_gradient!r}")
        self.content_beta = _content_beta(content_beta)
        self.guidance_warmup = warmup_schedule("guidance_warmup", guidance_warmup)

        # === Layers ===
        self.guidance_decoder = GuidanceDecoder(
            image_shape=self.image_shape,
            num_content=self.num_content,
            transforms=self.transforms,
            hidden_units=self.transform_hidden_units,
            max_scale=self.max_scale,
            max_translation=self.max_translation,
            transform_map=self.transform_map,
            template_init=self.template_init,
            basis_gain=self.basis_gain,
            # float32 under every policy: the warp's pixel coordinates need its precision.
            dtype="float32",
            name="guidance_decoder",
        )
        self.check_decoder("sub", self.sub_decode)
        if self.guidance_warmup is not None or callable(self.content_beta):
            # The batches trained, which the warm-up and a content_beta schedule follow
            # (saved with the weights).
            self.guidance_step = add_step_counter(self, "guidance_step")

    @property
    def num_content(self):
        return self.latent_dim - self.num_deformation

    def split_latent(self, z):
        """``(z_def, z_cont)``: the first ``num_deformation`` units, and the rest."""
        z = tf.convert_to_tensor(z, dtype=tf.float32)
        return z[:, : self.num_deformation], z[:, self.num_deformation :]

    def sub_decode(self, z):
        """The sub-decoder's image: the content template warped by ``z_def``, in [0, 1]."""
        z_def, z_cont = self.split_latent(z)
        return tf.cast(self.guidance_decoder(z_def, z_cont), tf.float32)

    def content(self, z):
        """The unwarped content template rendered from ``z_cont``, in [0, 1]."""
        return tf.cast(self.guidance_decoder.content(self.split_latent(z)[1]), tf.float32)

    def transform_parameters(self, z):
        """The transform each deformation unit drives: dict of scale_x, scale_y (factors),
        angle (radians), translate_x, translate_y (fractions of the half-size)."""
        return self.guidance_decoder.transform_parameters(self.split_latent(z)[0])

    def guidance_factor(self):
        """The warm-up's factor at the current :attr:`guidance_step` (1.0 without one)."""
        if self.guidance_warmup is None:
            return 1.0
        return tf.cast(self.guidance_warmup(self.guidance_step), tf.float32)

    def content_beta_value(self):
        """``content_beta`` at the current :attr:`guidance_step` (None without one)."""
        if callable(self.content_beta):
            return tf.cast(self.content_beta(self.guidance_step), tf.float32)
        return self.content_beta

    def train_step(self, data):
        results = super().train_step(data)
        if hasattr(self, "guidance_step"):
            self.guidance_step.assign_add(1)
        return results

    def content_kl(self, z_mean, z_log_var):
        """Batch mean of ``KL(q(z_cont|x) || N(0, I))``, the content units' share of ``kl``
        (:func:`keras_gvae.losses.gaussian_kl` of the content units)."""
        mean = tf.cast(z_mean, tf.float32)[:, self.num_deformation :]
        log_var = tf.cast(z_log_var, tf.float32)[:, self.num_deformation :]
        return tf.reduce_mean(gaussian_kl(mean, log_var))

    def decoders(self):
        return {"main": self.decode, "sub": self.sub_decode}

    def guidance_terms(self, x, z, z_mean, z_log_var, training=False):
        code = z if self.sub_input == "sample" else z_mean
        if self.content_gradient != 1.0:
            # Same values; the sub-decoder's gradient into the content units is scaled.
            z_def, z_cont = self.split_latent(code)
            a = self.content_gradient
            code = tf.concat([z_def, a * z_cont + (1.0 - a) * tf.stop_gradient(z_cont)], axis=1)
        rendered = self.sub_decode(code)
        sub = -tf.reduce_mean(self.observation_distribution(means=rendered).log_prob(x))
        orth = orthogonality_penalty(tf.cast(self.guidance_decoder.basis, tf.float32))
        guided = self.sub_weight * sub
        content_beta = self.content_beta_value()
        # kl_weight: the KL weight of every unit (beta; 1 in GuidedBetaTCVAE).
        if callable(self.content_beta) or (
            content_beta is not None and content_beta != self.kl_weight
        ):
            guided += (content_beta - self.kl_weight) * self.content_kl(z_mean, z_log_var)
        total = self.guidance_factor() * guided + self.orthogonality_weight * orth
        return total, {"sub_reconstruction": sub, "orthogonality": orth}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "transforms": self.transforms,
                "sub_weight": self.sub_weight,
                "orthogonality_weight": self.orthogonality_weight,
                "transform_hidden_units": self.transform_hidden_units,
                "max_scale": self.max_scale,
                "max_translation": self.max_translation,
                "transform_map": self.transform_map,
                "template_init": self.template_init,
                "basis_gain": self.basis_gain,
                "sub_input": self.sub_input,
                "content_gradient": self.content_gradient,
                "content_beta": (
                    keras.saving.serialize_keras_object(self.content_beta)
                    if callable(self.content_beta)
                    else self.content_beta
                ),
                "guidance_warmup": (
                    None
                    if self.guidance_warmup is None
                    else keras.saving.serialize_keras_object(self.guidance_warmup)
                ),
            }
        )
        return config


def _content_beta(value):
    """``content_beta`` as None, a float >= 0, or a schedule (a serialized one is rebuilt)."""
    if isinstance(value, dict):
        value = keras.saving.deserialize_keras_object(value)
    if value is None or callable(value):
        return value
    number = None if isinstance(value, bool) else _as_float(value)
    if number is None or not (math.isfinite(number) and number >= 0):
        from keras_gvae.errors import ParameterError

        raise ParameterError(
            "content_beta",
            f"content_beta={value!r}: expected None, a finite number >= 0 or a schedule",
        )
    return number


def _as_float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
