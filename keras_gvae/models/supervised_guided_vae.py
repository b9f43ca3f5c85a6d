"""Supervised Guided-VAE: excitation and inhibition of one latent unit per attribute."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_gvae.layers.attribute_classifier import AttributeClassifier
from keras_gvae.losses import group_mmd
from keras_gvae.models.vae import VAE, dense_across_replicas, loss_scaled


def _code_source(name, value):
    """Checks an ``adversary_input`` / ``excitation_input`` value: which code a head reads."""
    if value not in ("mean", "sample"):
        raise ValueError(f"{name} must be 'mean' or 'sample'; got {value!r}")
    return value


def _pick_code(source, z, z_mean):
    """``z_mean`` for source "mean", the sample ``z`` for "sample"."""
    return z_mean if source == "mean" else z


def _clone_optimizer(optimizer):
    optimizer = keras.optimizers.get(optimizer)
    return type(optimizer).from_config(optimizer.get_config())


@keras.saving.register_keras_serializable(package="keras_gvae")
class SupervisedGuidedVAE(VAE):
    """Supervised Guided-VAE (Ding et al., "Guided Variational Autoencoder for
    Disentanglement Learning", CVPR 2020, Sec. 3.2 and Algorithm 2), for K >= 1 attributes.

    Attribute ``k`` owns latent unit ``t_k`` (``attribute_units[k]``, by default ``k``).

    - Excitation: a classifier ``p(y_k | z[t_k])`` (:class:`AttributeClassifier`,
      1 -> 32 -> 32 -> 1, BatchNorm, LeakyReLU(0.2)) is trained with the VAE; its binary
      cross-entropy joins the negative ELBO with weight ``excitation_weight``.
    - Inhibition: an adversary ``C_k`` sees every other unit ``z[rest_k]``. It learns on
      ``stop_gradient(z)`` to predict ``y_k`` with its own optimizer; the encoder then
      learns to push ``C_k``'s prediction to 0.5 (cross-entropy against the target 0.5,
      weighted by ``inhibition_weight``, with the negative ELBO kept in that step's
      objective as an anchor).

    Every batch runs three phases in the authors' order: (1) VAE + excitation update of
    the encoder, decoder and excitation heads; (2) adversary update; (3) encoder
    inhibition update. Each phase has its own optimizer (``optimizer``,
    ``adversary_optimizer``, ``inhibition_optimizer``; the last two default to copies
    of the first), so ``optimizer.iterations`` counts batches.

    Labels ``y`` are (batch, K): ``y > 0`` is positive and anything else negative, so
    both {0, 1} and {-1, +1} codings work. Missing labels are NaN (or equal to
    ``missing_value``) and drop out of that attribute's losses and accuracies.

    Reductions: the ELBO terms are per-image sums averaged over the batch, as in
    :class:`VAE`; the classification terms are summed over the labelled examples and
    divided by the batch size, so with the authors' weight 200 the ratio of
    classification to ELBO terms matches their code (both summed over the batch).
    Reported metrics: loss, reconstruction, kl, excitation, adversary, inhibition, and
    per attribute ``<name>_accuracy`` (excitation head) and ``<name>_adversary_accuracy``.

    Args:
        input_shape: tuple (H, W, C). Defaults to (64, 64, 1).
        latent_dim: int, must exceed the number of attributes. Defaults to 10.
        attributes: list of K attribute names (metric names and export metadata).
        attribute_units: optional list of K distinct unit indices. Defaults to 0..K-1.
        excitation_weight: float, the authors' w_cls. Defaults to 200.
        inhibition_weight: float, weight of the encoder's inhibition loss. Defaults to 200.
        missing_value: optional float that marks a missing label (NaN always does).
        adversary_input: ``"sample"`` (the authors': the adversaries see the sampled z)
            or ``"mean"`` (they see the posterior mean, the code that the after-the-fact
            leakage check and downstream users read).
        excitation_input: ``"sample"`` (the authors': the excitation heads see the sampled
            z) or ``"mean"`` (they see the posterior mean, free of the sampling noise).
            Measured on the shapes at latent_dim 4, beta 8: ``is_heart``'s head on the
            sample was learned and then lost as the KL term reorganised the code (0.95 ->
            0.56), on the mean it held 0.95-0.99. Defaults to "sample".
        adversary_steps: adversary updates per batch (phase 2 repeated). Defaults to 1.
        excitation_hidden_units, adversary_hidden_units: hidden widths of the heads and
            adversaries. Default (32, 32), the authors'; ``()`` is a logistic regression.
        joint_inhibition: bool, also add the inhibition objective (adversaries frozen)
            to phase 1's loss, so the encoder's main update already works against them.
            Defaults to False (the authors' separate phase 3 only).
        inhibition_warmup: int, batches over which the inhibition objective's weight
            rises linearly from 0 to its full value. Defaults to 0 (full from the start).
        mmd_weight: float, weight of a non-adversarial inhibition term: the squared MMD
            (Gaussian kernels) between ``z_mean[rest_k]`` of the positives and of the
            negatives of each attribute in the batch. Defaults to 0 (off).
        mmd_standardize: bool, standardise ``z_mean[rest_k]`` over the batch before the
            MMD (see :func:`keras_gvae.losses.group_mmd`), so that shrinking every code
            towards zero, i.e. posterior collapse, does not lower the term. Defaults to False.
        mmd_unbiased: bool, use the unbiased (U-statistic) MMD estimate. The default
            V-statistic has a positive floor even when the groups are alike, which the
            encoder can lower only by pulling all codes together (a pull towards posterior
            collapse); the U-statistic's expectation is zero then. Defaults to False.
        **kwargs: the arguments of :class:`VAE` and standard Keras model arguments.

    Example:
    >>> model = SupervisedGuidedVAE(input_shape=(64, 64, 3), latent_dim=16,
    ...                             attributes=["Smiling", "Male"], likelihood="gaussian")
    >>> model.compile(optimizer=keras.optimizers.Adam(1e-4),
    ...               adversary_optimizer=keras.optimizers.Adam(1e-4))
    >>> model.fit(images_and_labels, epochs=10)  # doctest: +SKIP
    """

    METRIC_NAMES = VAE.METRIC_NAMES + ("excitation", "adversary", "inhibition")

    def __init__(
        self,
        input_shape=(64, 64, 1),
        latent_dim=10,
        attributes=("attribute",),
        attribute_units=None,
        excitation_weight=200.0,
        inhibition_weight=200.0,
        missing_value=None,
        adversary_input="sample",
        excitation_input="sample",
        adversary_steps=1,
        excitation_hidden_units=(32, 32),
        adversary_hidden_units=(32, 32),
        joint_inhibition=False,
        inhibition_warmup=0,
        mmd_weight=0.0,
        mmd_standardize=False,
        mmd_unbiased=False,
        **kwargs,
    ):
        # === Config === (read by create_guidance_layers during VAE.__init__)
        if isinstance(attributes, str):
            attributes = [a for a in attributes.split(",") if a]
        self.attributes = [str(a) for a in attributes]
        if not self.attributes or len(set(self.attributes)) != len(self.attributes):
            raise ValueError(f"attributes must be distinct names, at least one; got {attributes!r}")
        k = len(self.attributes)
        if int(latent_dim) <= k:
            raise ValueError(
                f"latent_dim={latent_dim} must exceed the number of attributes ({k}): each "
                "attribute owns one unit and its adversary needs the others"
            )
        units = list(range(k)) if attribute_units is None else [int(u) for u in attribute_units]
        if len(units) != k or len(set(units)) != k or not all(0 <= u < int(latent_dim) for u in units):
            raise ValueError(
                f"attribute_units must be {k} distinct indices in [0, {latent_dim}); got {attribute_units!r}"
            )
        self.attribute_units = units
        self.excitation_weight = float(excitation_weight)
        self.inhibition_weight = float(inhibition_weight)
        self.missing_value = None if missing_value is None else float(missing_value)
        self.adversary_input = _code_source("adversary_input", adversary_input)
        self.excitation_input = _code_source("excitation_input", excitation_input)
        if int(adversary_steps) < 1:
            raise ValueError(f"adversary_steps must be a positive integer; got {adversary_steps!r}")
        self.adversary_steps = int(adversary_steps)
        self.excitation_hidden_units = tuple(int(h) for h in excitation_hidden_units)
        self.adversary_hidden_units = tuple(int(h) for h in adversary_hidden_units)
        self.joint_inhibition = bool(joint_inhibition)
        self.inhibition_warmup = int(inhibition_warmup)
        self.mmd_weight = float(mmd_weight)
        self.mmd_standardize = bool(mmd_standardize)
        self.mmd_unbiased = bool(mmd_unbiased)
        self.METRIC_NAMES = type(self).METRIC_NAMES + tuple(
            f"{a}_{m}" for a in self.attributes for m in ("accuracy", "adversary_accuracy")
        )
        super().__init__(input_shape=input_shape, latent_dim=latent_dim, **kwargs)

    def create_guidance_layers(self):
        # === Layers ===
        self.excitation_heads = [
            AttributeClassifier(
                self.excitation_hidden_units, dtype="float32", name=f"excitation_{i}")
            for i in range(len(self.attributes))
        ]
        self.adversaries = [
            AttributeClassifier(
                self.adversary_hidden_units, dtype="float32", name=f"adversary_{i}")
            for i in range(len(self.attributes))
        ]
        for head, adversary in zip(self.excitation_heads, self.adversaries, strict=True):
            head.build((None, 1))
            adversary.build((None, self.latent_dim - 1))

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="adam", adversary_optimizer=None, inhibition_optimizer=None, **kwargs):
        """Like ``keras.Model.compile``, with the adversary's and the inhibition step's
        optimizers (default: copies of ``optimizer``)."""
        super().compile(optimizer=optimizer, **kwargs)
        self.adversary_optimizer = (
            _clone_optimizer(self.optimizer) if adversary_optimizer is None
            else keras.optimizers.get(adversary_optimizer)
        )
        self.inhibition_optimizer = (
            _clone_optimizer(self.optimizer) if inhibition_optimizer is None
            else keras.optimizers.get(inhibition_optimizer)
        )
        if self.dtype_policy.name == "mixed_float16" and kwargs.get("auto_scale_loss", True):
            # As keras.Model.compile does for ``optimizer``: dynamic loss scaling.
            self.adversary_optimizer = loss_scaled(self.adversary_optimizer)
            self.inhibition_optimizer = loss_scaled(self.inhibition_optimizer)
        # Build the extra optimizers now, inside the model's distribution strategy.
        with self.distribute_strategy.scope():
            self.optimizer.build(self.vae_variables)
            self.adversary_optimizer.build(self.adversary_variables)
            self.inhibition_optimizer.build(self.encoder_variables)

    def get_compile_config(self):
        config = super().get_compile_config() or {}
        if getattr(self, "adversary_optimizer", None) is not None:
            config["adversary_optimizer"] = keras.saving.serialize_keras_object(
                self.adversary_optimizer)
            config["inhibition_optimizer"] = keras.saving.serialize_keras_object(
                self.inhibition_optimizer)
        return config

    def compile_from_config(self, config):
        config = dict(config)
        extra = {
            key: keras.saving.deserialize_keras_object(config.pop(key))
            for key in ("optimizer", "adversary_optimizer", "inhibition_optimizer")
            if config.get(key) is not None
        }
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**extra, **config)

    # ------------------------------------------------------------------ variables
    @property
    def encoder_variables(self):
        return (
            self.encoder.trainable_variables
            + self.z_mean_head.trainable_variables
            + self.z_log_var_head.trainable_variables
        )

    @property
    def adversary_variables(self):
        return [v for a in self.adversaries for v in a.trainable_variables]

    @property
    def vae_variables(self):
        """Everything phase 1 trains: encoder, decoder and excitation heads."""
        adversary = {id(v) for v in self.adversary_variables}
        return [v for v in self.trainable_variables if id(v) not in adversary]

    # ------------------------------------------------------------------ public API
    def attribute_logits(self, z, training=False):
        """Excitation-head logits (batch, K), each from its own unit ``z[:, t_k]``."""
        z = tf.convert_to_tensor(z, dtype=tf.float32)
        return tf.stack(
            [
                tf.cast(head(z[:, u : u + 1], training=training), tf.float32)
                for head, u in zip(self.excitation_heads, self.attribute_units, strict=True)
            ],
            axis=1,
        )

    def attribute_probabilities(self, z):
        """``p(y_k = 1 | z[t_k])`` for every attribute, (batch, K)."""
        return tf.sigmoid(self.attribute_logits(z))

    def adversary_logits(self, z, training=False):
        """Adversary logits (batch, K), each from all units except ``t_k``."""
        z = tf.convert_to_tensor(z, dtype=tf.float32)
        return tf.stack(
            [
                tf.cast(adv(self._rest(z, u), training=training), tf.float32)
                for adv, u in zip(self.adversaries, self.attribute_units, strict=True)
            ],
            axis=1,
        )

    def predict_attributes(self, x):
        """Attribute probabilities of images from their posterior means, numpy (batch, K)."""
        return keras.ops.convert_to_numpy(self.attribute_probabilities(self.encode(x)[0]))

    def _rest(self, z, unit):
        return tf.concat([z[:, :unit], z[:, unit + 1 :]], axis=1)

    # ------------------------------------------------------------------ labels
    def check_labels(self, y):
        """Returns ``(targets in {0, 1}, mask of present labels)``, both float32 (batch, K)."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} trains on (images, labels): labels shaped "
                f"(batch, {len(self.attributes)}) for attributes {self.attributes}"
            )
        y = tf.cast(tf.convert_to_tensor(y), tf.float32)
        if y.shape.rank == 1 and len(self.attributes) == 1:
            y = y[:, None]
        if y.shape.rank != 2 or (y.shape[1] is not None and y.shape[1] != len(self.attributes)):
            raise ValueError(
                f"labels must have shape (batch, {len(self.attributes)}) for attributes "
                f"{self.attributes}; got {tuple(y.shape)}"
            )
        present = tf.logical_not(tf.math.is_nan(y))
        if self.missing_value is not None:
            present = tf.logical_and(present, tf.not_equal(y, self.missing_value))
        targets = tf.where(present, tf.cast(y > 0, tf.float32), 0.0)
        return targets, tf.cast(present, tf.float32)

    @staticmethod
    def _masked_bce(targets, logits, mask):
        """Sum over labelled examples and attributes, divided by the batch size."""
        bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)
        return tf.reduce_sum(bce * mask) / tf.cast(tf.shape(logits)[0], tf.float32)

    # ------------------------------------------------------------------ the three phases
    def _replicas(self):
        return tf.distribute.get_strategy().num_replicas_in_sync

    def vae_step(self, x, targets, mask):
        """Phase 1: negative ELBO + excitation, on encoder, decoder and excitation heads."""
        variables = self.vae_variables
        with tf.GradientTape() as tape:
            terms = self.compute_loss_terms(x, training=True)
            z, z_mean = terms.pop("z"), terms.pop("z_mean")
            logits = self.attribute_logits(_pick_code(self.excitation_input, z, z_mean), training=True)
            excitation = self._masked_bce(targets, logits, mask)
            loss = terms["loss"] + self.excitation_weight * excitation
            if self.joint_inhibition:
                loss = loss + self.inhibition_terms(z, z_mean, targets, mask)[1]
            scaled = self.optimizer.scale_loss(loss / self._replicas())
        grads = dense_across_replicas(tape.gradient(scaled, variables), self._replicas())
        self.optimizer.apply(grads, variables)
        terms.update(loss=loss, excitation=excitation)
        return terms, self.adversary_code(z, z_mean), logits

    def adversary_step(self, z, targets, mask):
        """Phase 2: the adversaries learn to predict y_k from stop_gradient(z[rest_k])."""
        z = tf.stop_gradient(z)
        variables = self.adversary_variables
        with tf.GradientTape() as tape:
            logits = self.adversary_logits(z, training=True)
            loss = self._masked_bce(targets, logits, mask)
            scaled = self.adversary_optimizer.scale_loss(loss / self._replicas())
        grads = dense_across_replicas(tape.gradient(scaled, variables), self._replicas())
        self.adversary_optimizer.apply(grads, variables)
        return loss, logits

    def adversary_code(self, z, z_mean):
        """The code the adversaries see: ``z_mean`` or the sample ``z`` (``adversary_input``)."""
        return _pick_code(self.adversary_input, z, z_mean)

    def _ramp(self):
        """Factor of the inhibition terms: rises linearly from 0 to 1 over the first
        ``inhibition_warmup`` batches (1 throughout when it is 0)."""
        if self.inhibition_warmup <= 0:
            return 1.0
        step = tf.cast(self.optimizer.iterations, tf.float32)
        return tf.clip_by_value(step / float(self.inhibition_warmup), 0.0, 1.0)

    def inhibition_terms(self, z, z_mean, targets, mask, training=True):
        """``(inhibition, objective)``: the adversaries' cross-entropy against 0.5 on the
        code they see, and the encoder's weighted objective ``ramp * (inhibition_weight *
        inhibition + mmd_weight * sum_k MMD^2(z_mean[rest_k] | y_k = 1, | y_k = 0))``."""
        seen = self.adversary_code(z, z_mean)
        # Batch statistics in the adversaries' BatchNorm: with the moving averages the
        # encoder could "fool" them by shifting and scaling z instead of removing y_k.
        logits = self.adversary_logits(seen, training=training)
        inhibition = self._masked_bce(tf.fill(tf.shape(logits), 0.5), logits, mask)
        objective = self.inhibition_weight * inhibition
        if self.mmd_weight > 0:
            mmd = tf.add_n([
                group_mmd(self._rest(z_mean, u), targets[:, k] * mask[:, k],
                          (1.0 - targets[:, k]) * mask[:, k], standardize=self.mmd_standardize,
                          unbiased=self.mmd_unbiased)
                for k, u in enumerate(self.attribute_units)
            ])
            objective = objective + self.mmd_weight * mmd
        return inhibition, self._ramp() * objective

    def inhibition_step(self, x, targets, mask):
        """Phase 3: the encoder pushes every adversary's prediction towards 0.5.

        The encoder's objective here is :meth:`inhibition_terms`' objective (the
        adversaries' term, plus the MMD term when ``mmd_weight > 0``) plus the negative
        ELBO: without the ELBO anchor, fooling the adversary moved the posterior
        means without bound (KL over 8000 nats on the shapes within 1500 steps).
        """
        variables = self.encoder_variables
        with tf.GradientTape() as tape:
            z_mean, z_log_var = self._encode_unchecked(x, training=True)
            z = self.reparameterize(z_mean, z_log_var)
            loss, objective = self.inhibition_terms(z, z_mean, targets, mask)
            elbo = self.elbo_terms(x, z, z_mean, z_log_var, training=True)["loss"]
            scaled = self.inhibition_optimizer.scale_loss((objective + elbo) / self._replicas())
        grads = dense_across_replicas(tape.gradient(scaled, variables), self._replicas())
        self.inhibition_optimizer.apply(grads, variables)
        return loss

    def compute_loss_terms(self, x, training=False):
        z_mean, z_log_var = self._encode_unchecked(x, training=training)
        z = self.reparameterize(z_mean, z_log_var)
        terms = self.elbo_terms(x, z, z_mean, z_log_var, training=training)
        terms["z"], terms["z_mean"] = z, z_mean
        return terms

    def _unpack(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        x = self.check_images(x)
        if self.validate_inputs:
            x = self.check_values(x)
        targets, mask = self.check_labels(y)
        return x, targets, mask

    def train_step(self, data):
        x, targets, mask = self._unpack(data)
        terms, z, logits = self.vae_step(x, targets, mask)
        for _ in range(self.adversary_steps):
            adversary, adv_logits = self.adversary_step(z, targets, mask)
        inhibition = self.inhibition_step(x, targets, mask)
        terms.update(adversary=adversary, inhibition=inhibition)
        return self._update_all(terms, targets, mask, logits, adv_logits)

    def test_step(self, data):
        x, targets, mask = self._unpack(data)
        z_mean, z_log_var = self._encode_unchecked(x)
        z = self.reparameterize(z_mean, z_log_var)
        terms = self.elbo_terms(x, z, z_mean, z_log_var, training=False)
        logits = self.attribute_logits(z_mean)
        adv_logits = self.adversary_logits(self.adversary_code(z, z_mean))
        terms["excitation"] = self._masked_bce(targets, logits, mask)
        terms["loss"] = terms["loss"] + self.excitation_weight * terms["excitation"]
        terms["adversary"] = self._masked_bce(targets, adv_logits, mask)
        terms["inhibition"] = self._masked_bce(tf.fill(tf.shape(adv_logits), 0.5), adv_logits, mask)
        return self._update_all(terms, targets, mask, logits, adv_logits)

    def _update_all(self, terms, targets, mask, logits, adv_logits):
        for k, name in enumerate(self.attributes):
            for suffix, lg in (("accuracy", logits), ("adversary_accuracy", adv_logits)):
                correct = tf.cast(tf.equal(tf.cast(lg[:, k] > 0, tf.float32), targets[:, k]), tf.float32)
                self.loss_trackers[f"{name}_{suffix}"].update_state(correct, sample_weight=mask[:, k])
        return self._update_trackers(terms)

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "attributes": list(self.attributes),
                "attribute_units": list(self.attribute_units),
                "excitation_weight": self.excitation_weight,
                "inhibition_weight": self.inhibition_weight,
                "missing_value": self.missing_value,
                "adversary_input": self.adversary_input,
                "excitation_input": self.excitation_input,
                "adversary_steps": self.adversary_steps,
                "excitation_hidden_units": list(self.excitation_hidden_units),
                "adversary_hidden_units": list(self.adversary_hidden_units),
                "joint_inhibition": self.joint_inhibition,
                "inhibition_warmup": self.inhibition_warmup,
                "mmd_weight": self.mmd_weight,
                "mmd_standardize": self.mmd_standardize,
                "mmd_unbiased": self.mmd_unbiased,
            }
        )
        return config

