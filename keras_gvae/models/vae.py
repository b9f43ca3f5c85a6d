"""The VAE backbone (and beta-VAE) as a Keras 3 Model with its own train/test steps."""

from __future__ import annotations

import math
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_gvae import validation
from keras_gvae.losses import gaussian_kl
from keras_gvae.models.backbones import default_backbone

tfd = tfp.distributions

LIKELIHOODS = ("bernoulli", "gaussian")
# Normal(mean, sqrt(1/2)) gives the summed squared error plus a constant.
SUM_OF_SQUARES_SCALE = math.sqrt(0.5)
# First loss scale under mixed_float16. The losses are sums over pixels (hundreds of nats),
# so Keras' default 2**15 overflows the float16 weight gradients and the first steps are
# skipped (all of the first 4 on a 28x28 VAE); the dynamic scale still grows from here.
INITIAL_LOSS_SCALE = 2.0**8


class LatentCode(NamedTuple):
    """One encoding of a batch: the reparameterised sample ``z`` and the posterior's
    ``z_mean`` and ``z_log_var``, each (batch, latent_dim) float32."""

    z: tf.Tensor
    z_mean: tf.Tensor
    z_log_var: tf.Tensor


def loss_scaled(optimizer, initial_scale=INITIAL_LOSS_SCALE):
    """``optimizer`` in a ``keras.optimizers.LossScaleOptimizer``, unless it is one."""
    optimizer = keras.optimizers.get(optimizer)
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=initial_scale)


@keras.saving.register_keras_serializable(package="keras_gvae")
class VAE(keras.Model):
    """Variational autoencoder (Kingma & Welling 2014); ``beta != 1`` is a beta-VAE.

    The posterior ``q(z|x)`` is a diagonal Normal, the prior ``N(0, I)`` and the
    likelihood a Bernoulli on pixel logits (images in [0, 1]) or a Normal with a fixed
    scale around ``sigmoid(logits)`` (natural images). The loss is the negative ELBO of
    Higgins et al. (2017), Eq. 4, per image:
    ``reconstruction + beta * kl`` where ``reconstruction = -log p(x|z)`` is summed over
    pixels with one reparameterised sample of ``z`` and ``kl = KL(q(z|x) || p(z))`` is
    summed over latent units; both are averaged over the batch. Each term is reported as
    a metric (``loss``, ``reconstruction``, ``kl``).

    Extending: a subclass creates its layers in its own ``__init__`` after
    ``super().__init__()`` and builds them there (``layer.build(shape)``, or
    :meth:`check_decoder` for a renderer; nothing in this constructor calls back into the
    subclass), lists the metrics it reports in the class constant
    ``METRIC_NAMES`` (names that depend on the instance: add trackers with
    :meth:`add_metrics`), and then uses one of two extension points:

    - The loss hook, :meth:`guidance_terms`: extra terms for a sampled code, handed in
      explicitly as ``z``, ``z_mean`` and ``z_log_var``. It returns the weighted sum added
      to the loss and the named terms to report. :meth:`compute_loss_terms` (the negative
      ELBO plus the hook) is what the default :meth:`train_step` minimises and
      :meth:`test_step` reports; :class:`GuidedVAE` is built this way.
    - Taking over the step, for multi-phase training: override :meth:`train_step` (and
      :meth:`test_step` if evaluation differs) and write it with the helpers
      :meth:`unpack_batch` (checked images and labels), :meth:`encode_and_sample` (the
      sampled code as a :class:`LatentCode`, to hand to later phases),
      :meth:`compute_loss_terms` (with ``code=``), :meth:`minimize` (one update of some
      variables by some optimizer, with the replica and loss scaling) and
      :meth:`update_metrics`. Extra optimizers are declared by overriding
      :meth:`optimizer_variables`; ``compile`` then accepts them by name (default: copies
      of ``optimizer``), builds and saves them. :class:`SupervisedGuidedVAE` is built this
      way (three phases, three optimizers).

    Args:
        input_shape: tuple (H, W, C) of the images. Picks the built-in backbone
            (28x28, or H and W divisible by 16). Defaults to (64, 64, 1).
        latent_dim: int, number of latent units. Defaults to 10.
        beta: float, weight of the KL term (1.0 is the plain VAE). Defaults to 1.0.
        likelihood: "bernoulli" (images in [0, 1]) or "gaussian". Defaults to "bernoulli".
        observation_scale: float, the Gaussian likelihood's standard deviation; the
            default sqrt(0.5) makes the reconstruction term the summed squared error
            plus a constant. Ignored for "bernoulli".
        encoder: optional Keras model mapping images to a flat feature vector (the VAE
            adds the ``z_mean``/``z_log_var`` dense heads). Pass with ``decoder``.
        decoder: optional Keras model mapping ``z`` (batch, latent_dim) to pixel logits
            shaped (batch, H, W, C).
        validate_inputs: bool, check every batch given to ``fit``, ``evaluate``,
            ``predict``, ``encode`` and ``call`` for NaN/Inf and, for the Bernoulli
            likelihood, values outside [0, 1]. Defaults to True; set False (also as the
            attribute of a loaded model) to skip the checks for speed.
        seed: optional int, seeds the reparameterisation noise.
        **kwargs: standard Keras model arguments (name, dtype, ...). A mixed ``dtype``
            policy ("mixed_bfloat16", "mixed_float16"; default: the global policy) runs the
            built-in encoder and decoder in half precision with float32 weights, while the
            posterior heads, distributions, losses and metrics stay float32. Under
            "mixed_float16" ``compile`` wraps the optimizer in a
            ``keras.optimizers.LossScaleOptimizer`` and the steps scale the loss.

    Example:
    >>> model = VAE(input_shape=(28, 28, 1), latent_dim=10, beta=4.0)
    >>> model.compile(optimizer=keras.optimizers.Adam(1e-3))
    >>> model.fit(images, epochs=10, batch_size=64)  # doctest: +SKIP
    >>> z_mean, z_log_var = model.encode(images[:8])  # doctest: +SKIP
    """

    METRIC_NAMES = ("loss", "reconstruction", "kl")
    # The labelled attributes the model has a unit (and an excitation head) for, in label
    # column order; empty for the unsupervised models (SupervisedGuidedVAE sets its own).
    attributes = ()

    def __init__(
        self,
        input_shape=(64, 64, 1),
        latent_dim=10,
        beta=1.0,
        likelihood="bernoulli",
        observation_scale=SUM_OF_SQUARES_SCALE,
        encoder=None,
        decoder=None,
        validate_inputs=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # === Config ===
        self.image_shape = tuple(int(s) for s in input_shape)
        if len(self.image_shape) != 3 or min(self.image_shape) < 1:
            raise ValueError(
                "input_shape must be (height, width, channels) of positive ints; "
                f"got {input_shape!r}"
            )
        self.latent_dim = int(latent_dim)
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be a positive int; got {latent_dim!r}")
        self.beta = float(beta)
        if not math.isfinite(self.beta) or self.beta < 0:
            raise ValueError(f"beta must be a finite number >= 0; got {beta!r}")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}; got {likelihood!r}")
        self.likelihood = likelihood
        self.observation_scale = float(observation_scale)
        if not self.observation_scale > 0:
            raise ValueError(f"observation_scale must be > 0; got {observation_scale!r}")
        self._validate_inputs = bool(validate_inputs)
        self.seed = seed
        if (encoder is None) != (decoder is None):
            raise ValueError("Pass both encoder= and decoder=, or neither (built-in backbone).")
        self._custom_backbone = encoder is not None

        # === Layers ===
        # Under a mixed policy the backbone computes in the model's compute dtype; the
        # posterior's parameters (and everything downstream of them) stay float32.
        if encoder is None:
            encoder, decoder = default_backbone(
                self.image_shape, self.latent_dim, dtype=self.dtype_policy
            )
        self.encoder = encoder
        self.decoder = decoder
        self.z_mean_head = keras.layers.Dense(self.latent_dim, name="z_mean", dtype="float32")
        self.z_log_var_head = keras.layers.Dense(self.latent_dim, name="z_log_var", dtype="float32")
        self.seed_generator = keras.random.SeedGenerator(seed)

        # === Metrics ===
        self.loss_trackers = {}
        self.add_metrics(self.METRIC_NAMES)

        # === Build === (the backbone only: subclasses build their own layers)
        with keras.name_scope(self.name, caller=self):
            self._encode_unchecked(tf.zeros((1, *self.image_shape)))
        self.check_decoder("main", self.decode)
        # Not through self.build(): Keras locks a layer's state after build(), and
        # subclasses add their layers after this constructor.
        self.built = True

    @property
    def validate_inputs(self):
        """bool: check input images (see the class docstring); settable."""
        return self._validate_inputs

    @validate_inputs.setter
    def validate_inputs(self, value):
        self._validate_inputs = bool(value)
        # The compiled steps read the flag when traced: trace them again.
        self.train_function = self.test_function = self.predict_function = None

    def compile(self, optimizer="rmsprop", **kwargs):
        """``keras.Model.compile``, with the extra optimizers of :meth:`optimizer_variables`.

        Each extra optimizer is passed by its name (default: a copy of ``optimizer``).
        Under "mixed_float16" (with ``auto_scale_loss``, the default) every optimizer is
        wrapped in a ``LossScaleOptimizer`` starting at ``INITIAL_LOSS_SCALE``. Every
        optimizer is built on its variables, inside the model's distribution strategy.
        """
        extra = {name: kwargs.pop(name, None) for name in self._extra_optimizer_names()}
        scale = self.dtype_policy.name == "mixed_float16" and kwargs.get("auto_scale_loss", True)
        super().compile(optimizer=loss_scaled(optimizer) if scale else optimizer, **kwargs)
        for name, given in extra.items():
            given = (
                clone_optimizer(self.optimizer) if given is None else keras.optimizers.get(given)
            )
            setattr(self, name, loss_scaled(given) if scale else given)
        with self.distribute_strategy.scope():
            for name, variables in self.optimizer_variables().items():
                if not getattr(self, name).built:
                    getattr(self, name).build(variables)

    def get_compile_config(self):
        config = super().get_compile_config()
        if config is not None:
            for name in self._extra_optimizer_names():
                config[name] = keras.saving.serialize_keras_object(getattr(self, name))
        return config

    def compile_from_config(self, config):
        # keras.Model's own skips a custom compile() on load; this one is a thin wrapper.
        config = dict(config)
        optimizers = {
            name: keras.saving.deserialize_keras_object(config.pop(name))
            for name in self.optimizer_variables()
            if config.get(name) is not None
        }
        self.compile(**optimizers, **keras.saving.deserialize_keras_object(config))

    def optimizer_variables(self):
        """``{optimizer attribute: the variables it trains}``; here ``{"optimizer": every
        trainable variable}``. A subclass whose step updates parts of the model with
        optimizers of their own adds them (and may narrow ``"optimizer"``'s share)."""
        return {"optimizer": self.trainable_variables}

    def _extra_optimizer_names(self):
        return [name for name in self.optimizer_variables() if name != "optimizer"]

    # ------------------------------------------------------------------ hooks
    def guidance_terms(self, x, z, z_mean, z_log_var, training=False):
        """The loss hook: extra loss terms for a batch and its sampled code.

        Args:
            x: the checked images (batch, H, W, C).
            z: the reparameterised sample (batch, latent_dim) the negative ELBO uses.
            z_mean, z_log_var: the posterior's parameters.
            training: bool, the layers' training mode.

        Returns:
            ``(weighted_sum, terms)``: the scalar added to the negative ELBO (None: nothing
            is added), and a dict of the terms to report (each a scalar, or a ``(values,
            sample_weight)`` pair for a weighted mean), every key in :attr:`metric_names`.
        """
        return None, {}

    @property
    def kl_weight(self):
        """float: the weight of ``kl`` in the negative ELBO, ``beta``. A subclass whose
        ``beta`` weighs another term overrides it (:class:`BetaTCVAE`: 1)."""
        return self.beta

    def decoders(self):
        """Named renderers ``z -> images`` that :meth:`traverse` can sweep."""
        return {"main": self.decode}

    # ------------------------------------------------------------------ build / call
    def check_decoder(self, name, render):
        """Builds a renderer ``z -> images`` (a :meth:`decoders` entry) on a zero code and
        checks that it outputs images shaped ``input_shape``."""
        with keras.name_scope(self.name, caller=self):
            out = render(tf.zeros((1, self.latent_dim)))
        if tuple(out.shape[1:]) != self.image_shape:
            raise ValueError(
                f"The {name} decoder must output images shaped {self.image_shape}; "
                f"it outputs {tuple(out.shape[1:])}"
            )

    def build(self, input_shape=None):
        # Every layer is built by the constructors (see the class docstring).
        self.built = True

    def call(self, inputs, training=None):
        """Deterministic reconstruction: decodes the posterior mean."""
        z_mean, _ = self.encode(inputs, training=training)
        return self.decode(z_mean, training=training, validate=False)  # checked as images

    def compute_output_shape(self, input_shape):
        return input_shape

    # ------------------------------------------------------------------ public API
    def encode(self, x, training=False, validate=None):
        """Posterior parameters ``(z_mean, z_log_var)``, each (batch, latent_dim).

        ``validate`` (default: the model's ``validate_inputs``) checks the images as the
        training steps and the serving signatures do: NaN or Inf, and for the Bernoulli
        likelihood pixels outside [0, 1], raise ``tf.errors.InvalidArgumentError``.
        ``predict`` and ``call`` follow ``validate_inputs``; set it to False (on a loaded
        model too) to skip the checks for speed. An empty batch raises ``ValueError``.
        """
        x = self.check_images(x)
        if x.shape[0] == 0:
            raise ValueError(
                f"{type(self).__name__}.encode got an empty batch (0 images); expected at least one"
            )
        if self.validate_inputs if validate is None else validate:
            x = self.check_values(x)
        return self._encode_unchecked(x, training=training)

    def decode_logits(self, z, training=False):
        """Pixel logits (batch, H, W, C) of the main decoder."""
        # Codes are float32 under every policy; the decoder casts to its compute dtype.
        z = validation.check_codes(z, self.latent_dim)
        return tf.cast(self.decoder(z, training=training), tf.float32)

    def decode(self, z, training=False, validate=None):
        """Images in [0, 1] (the likelihood's mean), shaped (batch, H, W, C).

        ``validate`` (default: the model's ``validate_inputs``) refuses NaN or Inf codes
        with ``tf.errors.InvalidArgumentError``, as :meth:`encode` refuses such images.
        """
        if self.validate_inputs if validate is None else validate:
            z = validation.assert_finite(
                tf.convert_to_tensor(z, dtype=tf.float32), validation.CODES_NOT_FINITE
            )
        return tf.sigmoid(self.decode_logits(z, training=training))

    def reparameterize(self, z_mean, z_log_var):
        """One sample ``z = mean + exp(log_var / 2) * eps`` with ``eps ~ N(0, I)``."""
        shape = tf.shape(z_mean)
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        if replicas == 1:
            eps = keras.random.normal(shape, seed=self.seed_generator, dtype=z_mean.dtype)
        else:
            # Each replica draws the noise of the whole global batch and takes its own rows,
            # so N replicas use the noise one device uses on the same global batch.
            rows = shape[0]
            eps = keras.random.normal(
                tf.concat([[rows * replicas], shape[1:]], 0),
                seed=self.seed_generator,
                dtype=z_mean.dtype,
            )
            start = tf.cast(context.replica_id_in_sync_group, rows.dtype) * rows
            eps = eps[start : start + rows]
        return z_mean + tf.exp(0.5 * z_log_var) * eps

    def posterior(self, z_mean, z_log_var):
        """``q(z|x)`` as a tfp diagonal Normal."""
        return tfd.MultivariateNormalDiag(loc=z_mean, scale_diag=tf.exp(0.5 * z_log_var))

    def prior(self):
        """``p(z) = N(0, I)`` as a tfp distribution."""
        return tfd.MultivariateNormalDiag(loc=tf.zeros(self.latent_dim))

    def observation_distribution(self, means=None, logits=None):
        """``p(x|z)`` over whole images (event shape (H, W, C)) from logits or means."""
        if self.likelihood == "bernoulli":
            base = (
                tfd.Bernoulli(logits=logits, dtype=tf.float32)
                if logits is not None
                else tfd.Bernoulli(probs=tf.clip_by_value(means, 1e-6, 1 - 1e-6), dtype=tf.float32)
            )
        else:
            loc = tf.sigmoid(logits) if logits is not None else means
            base = tfd.Normal(loc=loc, scale=self.observation_scale)
        return tfd.Independent(base, reinterpreted_batch_ndims=3)

    def sample(self, num, seed=None):
        """Decodes ``num`` draws from the prior; numpy (num, H, W, C) in [0, 1]."""
        if int(num) != num or num < 0:
            raise ValueError(f"num, the number of samples, must be an integer >= 0; got {num!r}")
        z = keras.random.normal((int(num), self.latent_dim), seed=seed)
        return keras.ops.convert_to_numpy(self.decode(z))

    def traverse(self, x=None, z=None, units=None, values=None, decoder="main"):
        """Latent traversal: sweep one unit at a time around a base code.

        Args:
            x: optional image (H, W, C) or batch; the base code is the posterior mean of
                its first image.
            z: optional base code (latent_dim,); used when ``x`` is None. Default zeros.
            units: unit indices to sweep. Defaults to all.
            values: the values each unit takes. Defaults to ``linspace(-2.5, 2.5, 9)``.
            decoder: which renderer, a key of :meth:`decoders` ("main"; GuidedVAE also
                has "sub").

        Returns:
            numpy (len(units), len(values), H, W, C) in [0, 1].
        """
        renderers = self.decoders()
        if decoder not in renderers:
            raise ValueError(f"decoder must be one of {tuple(renderers)}; got {decoder!r}")
        if x is not None:
            x = np.asarray(x, dtype=np.float32)
            if x.ndim == 3:
                x = x[None]
            base = keras.ops.convert_to_numpy(self.encode(x[:1])[0])[0]
        elif z is not None:
            base = np.asarray(z, dtype=np.float32).reshape(self.latent_dim)
        else:
            base = np.zeros(self.latent_dim, np.float32)
        units = list(range(self.latent_dim)) if units is None else [int(u) for u in units]
        bad = [u for u in units if not 0 <= u < self.latent_dim]
        if bad:
            raise ValueError(f"units must be in [0, {self.latent_dim}); got {bad}")
        values = np.linspace(-2.5, 2.5, 9) if values is None else np.asarray(values, np.float32)
        codes = np.tile(base, (len(units), len(values), 1)).astype(np.float32)
        for i, unit in enumerate(units):
            codes[i, :, unit] = values
        images = renderers[decoder](codes.reshape(-1, self.latent_dim))
        return keras.ops.convert_to_numpy(images).reshape(
            len(units), len(values), *self.image_shape
        )

    def check_images(self, x):
        """Casts ``x`` to float32 and checks its static shape against ``input_shape``
        (:func:`keras_gvae.validation.check_images`)."""
        return validation.check_images(x, self.image_shape, type(self).__name__)

    def check_values(self, x):
        """Graph-safe checks: no NaN/Inf; for the Bernoulli likelihood, values in [0, 1]
        (:func:`keras_gvae.validation.assert_image_values`)."""
        return validation.assert_image_values(x, bernoulli=self.likelihood == "bernoulli")

    # ------------------------------------------------------------------ losses
    def encode_and_sample(self, x, training=False):
        """The posterior of checked images ``x`` and one reparameterised sample of it, as
        a :class:`LatentCode` (for a step that hands the sampled code to later phases)."""
        z_mean, z_log_var = self._encode_unchecked(x, training=training)
        return LatentCode(self.reparameterize(z_mean, z_log_var), z_mean, z_log_var)

    def compute_loss_terms(self, x, training=False, code=None):
        """All loss terms for a batch of images, as a dict (``loss`` is the total): the
        negative ELBO (:meth:`elbo_terms`) and the terms of :meth:`guidance_terms`.

        ``code`` (a :class:`LatentCode`, default: :meth:`encode_and_sample` of ``x``) is the
        sampled code the terms are computed for.
        """
        if code is None:
            code = self.encode_and_sample(x, training=training)
        z, z_mean, z_log_var = code
        terms = self.elbo_terms(x, z, z_mean, z_log_var, training=training)
        guidance, extra = self.guidance_terms(x, z, z_mean, z_log_var, training=training)
        if guidance is not None:
            terms["loss"] = terms["loss"] + guidance
        terms.update(extra)
        return terms

    def elbo_terms(self, x, z, z_mean, z_log_var, training=False):
        """The negative ELBO of a batch for a given sample ``z``: a dict of scalars
        ``loss = reconstruction + kl_weight * kl`` (batch means of per-image sums; ``kl``
        is :func:`keras_gvae.losses.gaussian_kl` over every unit)."""
        logits = self.decode_logits(z, training=training)
        reconstruction = -tf.reduce_mean(self.observation_distribution(logits=logits).log_prob(x))
        kl = tf.reduce_mean(gaussian_kl(z_mean, z_log_var))
        loss = reconstruction + self.kl_weight * kl
        return {"loss": loss, "reconstruction": reconstruction, "kl": kl}

    def representation_function(self, batch_size=1024, precision=None):
        """A numpy function images -> posterior means (N, latent_dim), for the metrics.

        Encodes with one compiled function in calls of at most ``batch_size`` images.
        ``precision`` (a dtype policy name, default the model's own) encodes with a copy of
        the model in that policy, e.g. "mixed_bfloat16" for a float32 model: the copy
        shares no state and the codes stay float32 (the built-in backbones only; a custom
        encoder keeps its own dtype).
        """
        model = self
        if precision is not None and precision != self.dtype_policy.name:
            model = type(self).from_config({**self.get_config(), "dtype": precision})
            model.set_weights(self.get_weights())
        encode = tf.function(lambda b: model._encode_unchecked(b)[0], reduce_retracing=True)

        def representation(x):
            x = np.asarray(x, np.float32)
            self.check_images(x[:1])
            return np.concatenate(
                [
                    encode(tf.constant(x[i : i + batch_size])).numpy()
                    for i in range(0, len(x), batch_size)
                ]
            )

        return representation

    def _encode_unchecked(self, x, training=False):
        features = self.encoder(x, training=training)
        if len(features.shape) != 2:
            features = tf.reshape(features, [tf.shape(features)[0], -1])
        z_mean = tf.cast(self.z_mean_head(features), tf.float32)
        z_log_var = tf.cast(self.z_log_var_head(features), tf.float32)
        return z_mean, z_log_var

    # ------------------------------------------------------------------ Keras steps
    def unpack_batch(self, data):
        """``(x, y)`` of a batch: the images checked (see :meth:`check_images`; their values
        too with ``validate_inputs``) and the labels, or None."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        x = self.check_images(x)
        return (self.check_values(x) if self.validate_inputs else x), y

    def minimize(self, loss, variables, tape, optimizer=None):
        """One update of ``variables`` by ``optimizer`` (default: ``self.optimizer``) down
        the gradient of ``loss``, a scalar recorded by ``tape`` (a ``tf.GradientTape``; call
        this after its ``with`` block).

        Handles what every step needs: the gradient is divided by the number of replicas
        (they are summed across replicas, so the update follows the global batch's mean),
        scaled by a ``LossScaleOptimizer``'s loss scale (mixed_float16; ``apply`` unscales
        it), and sparse gradients are made dense when there are several replicas.
        """
        optimizer = self.optimizer if optimizer is None else optimizer
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        # The gradient of optimizer.scale_loss(loss / replicas), seeded at ``loss``.
        seed = optimizer.scale_loss(tf.ones_like(loss)) / replicas
        grads = tape.gradient(loss, variables, output_gradients=seed)
        optimizer.apply(dense_across_replicas(grads, replicas), variables)

    def add_metrics(self, names):
        """Adds a ``keras.metrics.Mean`` tracker for each of ``names`` (terms a step reports)."""
        for name in names:
            self.loss_trackers[name] = keras.metrics.Mean(name=name)

    @property
    def metric_names(self):
        """tuple of the names this model reports: ``METRIC_NAMES`` and any added later."""
        return tuple(self.loss_trackers)

    @property
    def metrics(self):
        return list(self.loss_trackers.values())

    def update_metrics(self, terms):
        """Updates the trackers with ``terms`` (name -> scalar, or a ``(values,
        sample_weight)`` pair for a weighted mean) and returns every metric's result."""
        for name, value in terms.items():
            if name not in self.loss_trackers:
                raise ValueError(
                    f"{type(self).__name__} reports the term {name!r}, which has no metric; "
                    "add its name to METRIC_NAMES (or call add_metrics in __init__)"
                )
            values = value if isinstance(value, tuple) else (value,)
            self.loss_trackers[name].update_state(*values)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        x, _ = self.unpack_batch(data)
        with tf.GradientTape() as tape:
            terms = self.compute_loss_terms(x, training=True)
        self.minimize(terms["loss"], self.trainable_variables, tape)
        return self.update_metrics(terms)

    def test_step(self, data):
        return self.update_metrics(self.compute_loss_terms(self.unpack_batch(data)[0]))

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "input_shape": self.image_shape,
                "latent_dim": self.latent_dim,
                "beta": self.beta,
                "likelihood": self.likelihood,
                "observation_scale": self.observation_scale,
                "validate_inputs": self.validate_inputs,
                "seed": self.seed,
            }
        )
        if self._custom_backbone:
            config["encoder"] = keras.saving.serialize_keras_object(self.encoder)
            config["decoder"] = keras.saving.serialize_keras_object(self.decoder)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "decoder"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def clone_optimizer(optimizer):
    """A fresh optimizer with ``optimizer``'s config (no state)."""
    optimizer = keras.optimizers.get(optimizer)
    return type(optimizer).from_config(optimizer.get_config())


def dense_across_replicas(grads, replicas):
    """``grads`` with sparse gradients (``tf.IndexedSlices``, from gathers such as the
    guidance decoder's template lookup) made dense when there are several replicas: their
    sizes differ between replicas, and the all-reduce needs equal shapes. One replica keeps
    them as they are."""
    if replicas == 1:
        return grads
    return [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]
