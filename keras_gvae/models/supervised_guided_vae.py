"""Supervised Guided-VAE: excitation and inhibition of one latent unit per attribute."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_gvae.layers.attribute_classifier import AttributeClassifier
from keras_gvae.losses import masked_sigmoid_cross_entropy
from keras_gvae.models.terms import (
    AdversarialInhibition,
    Excitation,
    InhibitionTerm,
    MMDInhibition,
    add_step_counter,
    warmup_schedule,
)
from keras_gvae.models.vae import VAE, LatentCode

# The flat keys of configs saved before the term objects (e.g. the shipped
# saved_models/supervised_position/model.keras): key -> (the term it set, the term's option).
# Only :meth:`SupervisedGuidedVAE.from_config` reads them, so those files still load.
_SAVED_FLAT_KEYS = {
    "excitation_weight": ("excitation", "weight"),
    "excitation_input": ("excitation", "input"),
    "excitation_hidden_units": ("excitation", "hidden_units"),
    "inhibition_weight": ("adversarial", "weight"),
    "adversary_input": ("adversarial", "input"),
    "adversary_steps": ("adversarial", "steps"),
    "adversary_hidden_units": ("adversarial", "hidden_units"),
    "mmd_weight": ("mmd", "weight"),
    "mmd_standardize": ("mmd", "standardize"),
    "mmd_unbiased": ("mmd", "unbiased"),
}


def _terms_of_saved_flat_config(config):
    """``config`` with the flat keys of a config saved before the term objects replaced by
    ``excitation`` and ``inhibition`` terms: the excitation and adversarial terms take the
    options saved; an :class:`MMDInhibition` is added when ``mmd_weight > 0`` (as the flat
    arguments did)."""
    options = {"excitation": {}, "adversarial": {}, "mmd": {}}
    for key in [k for k in config if k in _SAVED_FLAT_KEYS]:
        term, option = _SAVED_FLAT_KEYS[key]
        options[term][option] = config.pop(key)
    if any(options.values()):
        config.setdefault("excitation", Excitation(**options["excitation"]))
        if "inhibition" not in config:
            inhibition = [AdversarialInhibition(**options["adversarial"])]
            if float(options["mmd"].get("weight", 0.0)) > 0:
                inhibition.append(MMDInhibition(**options["mmd"]))
            config["inhibition"] = inhibition
    return config


def _deserialize(term, cls):
    if isinstance(term, dict):
        term = keras.saving.deserialize_keras_object(term)
    if not isinstance(term, cls):
        raise ValueError(f"expected a {cls.__name__}; got {term!r}")
    return term


@keras.saving.register_keras_serializable(package="keras_gvae")
class SupervisedGuidedVAE(VAE):
    """Supervised Guided-VAE (Ding et al., "Guided Variational Autoencoder for
    Disentanglement Learning", CVPR 2020, Sec. 3.2 and Algorithm 2), for K >= 1 attributes.

    Attribute ``k`` owns latent unit ``t_k`` (``attribute_units[k]``, by default ``k``).

    - Excitation (:class:`~keras_gvae.models.terms.Excitation`): a classifier
      ``p(y_k | z[t_k])`` (:class:`AttributeClassifier`, 1 -> 32 -> 32 -> 1, BatchNorm,
      LeakyReLU(0.2)) is trained with the VAE; its binary cross-entropy joins the negative
      ELBO with the term's weight.
    - Inhibition (:class:`~keras_gvae.models.terms.AdversarialInhibition`): an adversary
      ``C_k`` sees every other unit ``z[rest_k]``. It learns on ``stop_gradient(z)`` to
      predict ``y_k`` with its own optimizer; the encoder then learns to push ``C_k``'s
      prediction to 0.5 (cross-entropy against the target 0.5, with the negative ELBO kept
      in that step's objective as an anchor). Further inhibition terms (e.g.
      :class:`~keras_gvae.models.terms.MMDInhibition`) join the encoder's objective.

    The model takes over the training step (see :class:`VAE`, "Extending"): every batch
    runs three phases in the authors' order: (1) VAE + excitation update of the encoder,
    decoder and excitation heads; (2) adversary update; (3) encoder inhibition update. Each
    phase has its own optimizer (``optimizer``, ``adversary_optimizer``,
    ``inhibition_optimizer``; the last two default to copies of the first), so
    ``optimizer.iterations`` counts batches; the loss hook :meth:`guidance_terms` stays
    free for subclasses (its terms join phase 1 and evaluation).

    Labels ``y`` are (batch, K): ``y > 0`` is positive and anything else negative, so
    both {0, 1} and {-1, +1} codings work. Missing labels are NaN (or equal to
    ``missing_value``) and drop out of that attribute's losses and accuracies.

    Reductions: the ELBO terms are per-image sums averaged over the batch, as in
    :class:`VAE`; the classification terms are summed over the labelled examples and
    divided by the batch size (:func:`keras_gvae.losses.masked_sigmoid_cross_entropy`).
    Reported metrics: loss, reconstruction, kl, excitation, adversary, inhibition, and
    per attribute ``<name>_accuracy`` (excitation head) and ``<name>_adversary_accuracy``.
    Evaluation runs the heads (on the posterior mean) and the adversaries (on their term's
    ``input``) in inference mode.

    With no term arguments the model is the paper's algorithm. Why the options and
    safeguards are as they are: see benchmarks/results/supervised_attribute_control.md.

    Args:
        input_shape: tuple (H, W, C). Defaults to (64, 64, 1).
        latent_dim: int, must exceed the number of attributes. Defaults to 10.
        attributes: list of K attribute names (metric names and export metadata).
        attribute_units: optional list of K distinct unit indices. Defaults to 0..K-1.
        missing_value: optional float that marks a missing label (NaN always does).
        excitation: an :class:`~keras_gvae.models.terms.Excitation` (its weight, the code
            its heads read, their widths). Defaults to ``Excitation()``, the authors'.
        inhibition: a list of inhibition terms (:class:`~keras_gvae.models.terms.InhibitionTerm`)
            with exactly one :class:`~keras_gvae.models.terms.AdversarialInhibition` (the
            adversaries: their input, steps and widths). Defaults to
            ``[AdversarialInhibition()]``, the authors'.
        joint_inhibition: bool, also add the inhibition objective (adversaries frozen)
            to phase 1's loss, so the encoder's main update already works against them.
            Defaults to False (the authors' separate phase 3 only).
        inhibition_warmup: the factor of the inhibition objective as a function of the
            model's step counter :attr:`iterations`: a schedule (e.g.
            ``LinearWarmup(1000)``, any ``keras.optimizers.schedules`` schedule), an int
            ``n`` for ``LinearWarmup(n)``, or None / 0 for the full weight from the start.
            The counter is the model's, so recompiling does not restart the warm-up; in a
            fresh run it equals ``optimizer.iterations``. Defaults to None.
        **kwargs: the arguments of :class:`VAE` and standard Keras model arguments.

    Example:
    >>> from keras_gvae.models.terms import AdversarialInhibition, MMDInhibition
    >>> model = SupervisedGuidedVAE(
    ...     input_shape=(64, 64, 1), latent_dim=4, beta=8.0,
    ...     attributes=["right_half", "bottom_half"],
    ...     inhibition=[AdversarialInhibition(input="mean"),
    ...                 MMDInhibition(300.0, standardize=True, unbiased=True)],
    ...     joint_inhibition=True, inhibition_warmup=1000)
    >>> model.compile(optimizer=keras.optimizers.Adam(5e-4))
    >>> model.fit(images_and_labels, epochs=10)  # doctest: +SKIP
    """

    METRIC_NAMES = VAE.METRIC_NAMES + ("excitation", "adversary", "inhibition")

    def __init__(
        self,
        input_shape=(64, 64, 1),
        latent_dim=10,
        attributes=("attribute",),
        attribute_units=None,
        missing_value=None,
        excitation=None,
        inhibition=None,
        joint_inhibition=False,
        inhibition_warmup=None,
        **kwargs,
    ):
        excitation = _deserialize(Excitation() if excitation is None else excitation, Excitation)
        if inhibition is None:
            inhibition = [AdversarialInhibition()]
        inhibition = [_deserialize(t, InhibitionTerm) for t in inhibition]
        super().__init__(input_shape=input_shape, latent_dim=latent_dim, **kwargs)
        # === Config ===
        if isinstance(attributes, str):
            attributes = [a for a in attributes.split(",") if a]
        self.attributes = [str(a) for a in attributes]
        if not self.attributes or len(set(self.attributes)) != len(self.attributes):
            raise ValueError(f"attributes must be distinct names, at least one; got {attributes!r}")
        k = len(self.attributes)
        if self.latent_dim <= k:
            raise ValueError(
                f"latent_dim={latent_dim} must exceed the number of attributes ({k}): each "
                "attribute owns one unit and its adversary needs the others"
            )
        units = list(range(k)) if attribute_units is None else [int(u) for u in attribute_units]
        if (
            len(units) != k
            or len(set(units)) != k
            or not all(0 <= u < self.latent_dim for u in units)
        ):
            raise ValueError(
                f"attribute_units must be {k} distinct indices in [0, {latent_dim}); "
                f"got {attribute_units!r}"
            )
        self.attribute_units = units
        self.missing_value = None if missing_value is None else float(missing_value)
        self.excitation = excitation
        adversarial = [t for t in inhibition if isinstance(t, AdversarialInhibition)]
        if len(adversarial) != 1:
            raise ValueError(
                "inhibition must hold exactly one AdversarialInhibition (the adversaries of "
                f"phase 2); got {inhibition!r}"
            )
        self.inhibition = tuple(inhibition)
        self.joint_inhibition = bool(joint_inhibition)
        self.inhibition_warmup = warmup_schedule("inhibition_warmup", inhibition_warmup)

        # === Layers ===
        self.excitation_heads = [
            AttributeClassifier(
                self.excitation.hidden_units, dtype="float32", name=f"excitation_{i}"
            )
            for i in range(k)
        ]
        self.adversaries = [
            AttributeClassifier(
                self.adversarial.hidden_units, dtype="float32", name=f"adversary_{i}"
            )
            for i in range(k)
        ]
        for head, adversary in zip(self.excitation_heads, self.adversaries, strict=True):
            head.build((None, 1))
            adversary.build((None, self.latent_dim - 1))
        # The batches trained, which the warm-up follows (saved with the weights).
        self.iterations = add_step_counter(self, "iterations")

        # === Metrics ===
        self.add_metrics(
            f"{a}_{m}" for a in self.attributes for m in ("accuracy", "adversary_accuracy")
        )

    # ------------------------------------------------------------------ terms
    @property
    def adversarial(self):
        """The :class:`AdversarialInhibition` term (the adversaries' options)."""
        return next(t for t in self.inhibition if isinstance(t, AdversarialInhibition))

    @property
    def mmd(self):
        """The first :class:`MMDInhibition` term, or None."""
        return next((t for t in self.inhibition if isinstance(t, MMDInhibition)), None)

    def load_own_variables(self, store):
        # Files saved before the model had its step counter hold no variables of its own:
        # the counter then starts at 0.
        if len(store.keys()):
            super().load_own_variables(store)

    # ------------------------------------------------------------------ optimizers
    def optimizer_variables(self):
        return {
            "optimizer": self.vae_variables,
            "adversary_optimizer": self.adversary_variables,
            "inhibition_optimizer": self.encoder_variables,
        }

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
                tf.cast(adv(self.rest(z, u), training=training), tf.float32)
                for adv, u in zip(self.adversaries, self.attribute_units, strict=True)
            ],
            axis=1,
        )

    def predict_attributes(self, x):
        """Attribute probabilities of images from their posterior means, numpy (batch, K)."""
        return keras.ops.convert_to_numpy(self.attribute_probabilities(self.encode(x)[0]))

    @staticmethod
    def rest(z, unit):
        """``z`` without its column ``unit``: what that unit's adversary sees."""
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

    _masked_bce = staticmethod(masked_sigmoid_cross_entropy)

    def _unpack(self, data):
        x, y = self.unpack_batch(data)
        targets, mask = self.check_labels(y)
        return x, targets, mask

    def accuracy_terms(self, logits, adversary_logits, targets, mask):
        """Per attribute, ``(correct, mask)`` pairs of the excitation heads'
        (``<name>_accuracy``) and the adversaries' (``<name>_adversary_accuracy``) logits."""
        terms = {}
        for k, name in enumerate(self.attributes):
            for suffix, lg in (("accuracy", logits), ("adversary_accuracy", adversary_logits)):
                correct = tf.cast(
                    tf.equal(tf.cast(lg[:, k] > 0, tf.float32), targets[:, k]), tf.float32
                )
                terms[f"{name}_{suffix}"] = (correct, mask[:, k])
        return terms

    # ------------------------------------------------------------------ inhibition
    def inhibition_factor(self):
        """The warm-up's factor at the current :attr:`iterations` (1.0 without one)."""
        return 1.0 if self.inhibition_warmup is None else self.inhibition_warmup(self.iterations)

    def inhibition_terms(self, z, z_mean, targets, mask, training=True):
        """``(inhibition, objective)``: the adversarial term's value (the adversaries'
        cross-entropy against 0.5 on the code they see), and the encoder's inhibition
        objective ``factor * sum_t weight_t * objective_t`` over the inhibition terms,
        ``factor`` being :meth:`inhibition_factor`."""
        latent = LatentCode(z, z_mean, None)
        inhibition = objective = None
        for term in self.inhibition:
            value = term.objective(self, latent, targets, mask, training=training)
            if term is self.adversarial:
                inhibition = value
            objective = (
                term.weight * value if objective is None else objective + term.weight * value
            )
        return inhibition, self.inhibition_factor() * objective

    # ------------------------------------------------------------------ the three phases
    def vae_step(self, x, targets, mask):
        """Phase 1: negative ELBO (with the loss hook's terms) + excitation, on encoder,
        decoder and excitation heads; advances :attr:`iterations`.

        Returns ``(terms, the code the adversaries see, the excitation logits)``.
        """
        with tf.GradientTape() as tape:
            code = self.encode_and_sample(x, training=True)
            terms = self.compute_loss_terms(x, training=True, code=code)
            logits = self.attribute_logits(self.excitation.code(code), training=True)
            excitation = self.excitation.objective(logits, targets, mask)
            loss = terms["loss"] + self.excitation.weight * excitation
            if self.joint_inhibition:
                loss = loss + self.inhibition_terms(code.z, code.z_mean, targets, mask)[1]
        self.minimize(loss, self.vae_variables, tape)
        self.iterations.assign_add(1)
        terms.update(loss=loss, excitation=excitation)
        return terms, self.adversarial.code(code), logits

    def adversary_step(self, z, targets, mask):
        """Phase 2: the adversaries learn to predict y_k from stop_gradient(z[rest_k])."""
        z = tf.stop_gradient(z)
        with tf.GradientTape() as tape:
            logits = self.adversary_logits(z, training=True)
            loss = masked_sigmoid_cross_entropy(targets, logits, mask)
        self.minimize(loss, self.adversary_variables, tape, self.adversary_optimizer)
        return loss, logits

    def inhibition_step(self, x, targets, mask):
        """Phase 3: the encoder pushes every adversary's prediction towards 0.5.

        The encoder's objective here is :meth:`inhibition_terms`' objective plus the
        negative ELBO, which anchors the posterior while the adversaries are fooled.
        """
        with tf.GradientTape() as tape:
            code = self.encode_and_sample(x, training=True)
            loss, objective = self.inhibition_terms(code.z, code.z_mean, targets, mask)
            elbo = self.elbo_terms(x, *code, training=True)["loss"]
            total = objective + elbo
        self.minimize(total, self.encoder_variables, tape, self.inhibition_optimizer)
        return loss

    def train_step(self, data):
        x, targets, mask = self._unpack(data)
        terms, seen, logits = self.vae_step(x, targets, mask)
        for _ in range(self.adversarial.steps):
            adversary, adversary_logits = self.adversary_step(seen, targets, mask)
        inhibition = self.inhibition_step(x, targets, mask)
        terms.update(
            adversary=adversary,
            inhibition=inhibition,
            **self.accuracy_terms(logits, adversary_logits, targets, mask),
        )
        return self.update_metrics(terms)

    def test_step(self, data):
        x, targets, mask = self._unpack(data)
        code = self.encode_and_sample(x)
        terms = self.compute_loss_terms(x, code=code)
        logits = self.attribute_logits(self.excitation.code(code, training=False))
        adversary_logits = self.adversary_logits(self.adversarial.code(code))
        terms["excitation"] = self.excitation.objective(logits, targets, mask)
        terms["loss"] = terms["loss"] + self.excitation.weight * terms["excitation"]
        terms["adversary"] = masked_sigmoid_cross_entropy(targets, adversary_logits, mask)
        terms["inhibition"] = AdversarialInhibition.inhibition(adversary_logits, mask)
        terms.update(self.accuracy_terms(logits, adversary_logits, targets, mask))
        return self.update_metrics(terms)

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "attributes": list(self.attributes),
                "attribute_units": list(self.attribute_units),
                "missing_value": self.missing_value,
                "excitation": keras.saving.serialize_keras_object(self.excitation),
                "inhibition": [keras.saving.serialize_keras_object(t) for t in self.inhibition],
                "joint_inhibition": self.joint_inhibition,
                "inhibition_warmup": keras.saving.serialize_keras_object(self.inhibition_warmup),
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        # A config saved before the term objects holds flat keys (mmd_weight, ...): they
        # become the terms they stood for, so those .keras files load unchanged.
        return super().from_config(_terms_of_saved_flat_config(dict(config)))
