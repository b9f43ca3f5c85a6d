"""The supervised Guided-VAE's loss terms as small serializable objects.

Each term holds its own options and computes its own objective; the model owns the layers
(excitation heads, adversaries) and runs the phases. :class:`Excitation` is the guidance
term of phase 1; the inhibition terms (:class:`AdversarialInhibition`,
:class:`MMDInhibition`) make up the encoder's inhibition objective of phase 3. A warm-up is
a schedule (:class:`LinearWarmup`, or any ``keras.optimizers.schedules`` schedule) of the
model's own step counter.

Every term has ``get_config`` / ``from_config`` and is registered with Keras, so it
round-trips inside a model's config (``load_model`` with ``safe_mode`` on).
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from keras_gvae.losses import group_mmd, masked_sigmoid_cross_entropy

# Which code a head reads: the posterior mean or the reparameterised sample.
CODE_SOURCES = ("mean", "sample")


def check_code_source(name, value):
    """``value`` if it is "mean" or "sample"; a ValueError naming ``name`` otherwise."""
    if value not in CODE_SOURCES:
        raise ValueError(f"{name} must be 'mean' or 'sample'; got {value!r}")
    return value


def check_positive_steps(name, value):
    """``value`` as an int >= 1; a ValueError naming ``name`` otherwise."""
    if int(value) != value or int(value) < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def pick_code(source, latent):
    """``latent.z_mean`` for source "mean", the sample ``latent.z`` for "sample"."""
    return latent.z_mean if source == "mean" else latent.z


class Term:
    """Base of the loss terms: a non-negative ``weight`` and the config round trip."""

    def __init__(self, weight):
        self.weight = float(weight)
        if not math.isfinite(self.weight) or self.weight < 0:
            raise ValueError(
                f"{type(self).__name__} weight must be a finite number >= 0; got {weight!r}"
            )

    def get_config(self):
        return {"weight": self.weight}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self):
        return hash((type(self).__name__, repr(sorted(self.get_config().items()))))

    def __repr__(self):
        options = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({options})"


@keras.saving.register_keras_serializable(package="keras_gvae")
class Excitation(Term):
    """Excitation (Ding et al. 2020, Sec. 3.2): a classifier ``p(y_k | z[t_k])`` per
    attribute, trained with the VAE; its cross-entropy joins phase 1's loss.

    Args:
        weight: float, the authors' ``w_cls``. Defaults to 200.
        input: which code the heads read in training: "sample" (the authors') or "mean"
            (the posterior mean, free of the sampling noise). Evaluation always reads the
            mean. Defaults to "sample".
        hidden_units: widths of each head's hidden layers (:class:`AttributeClassifier`);
            ``()`` is a logistic regression on the unit. Defaults to (32, 32), the authors'.
    """

    def __init__(self, weight=200.0, input="sample", hidden_units=(32, 32)):
        super().__init__(weight)
        self.input = check_code_source("input", input)
        self.hidden_units = tuple(int(h) for h in hidden_units)

    def code(self, latent, training=True):
        """The code the heads read: ``input``'s in training, the posterior mean otherwise."""
        return pick_code(self.input if training else "mean", latent)

    def objective(self, logits, targets, mask):
        """The heads' cross-entropy against the labels (see
        :func:`keras_gvae.losses.masked_sigmoid_cross_entropy`)."""
        return masked_sigmoid_cross_entropy(targets, logits, mask)

    def get_config(self):
        return {
            **super().get_config(),
            "input": self.input,
            "hidden_units": list(self.hidden_units),
        }


class InhibitionTerm(Term):
    """Base of the terms of the encoder's inhibition objective.

    A subclass implements :meth:`objective`; the model adds ``weight * objective`` of each
    term, scaled by its warm-up, to phase 3 (and to phase 1 with ``joint_inhibition``).
    """

    def objective(self, model, latent, targets, mask, training=True):
        """The term's unweighted value for a batch.

        Args:
            model: the :class:`SupervisedGuidedVAE` (its adversaries and attribute units).
            latent: a :class:`~keras_gvae.models.vae.LatentCode` (``z``, ``z_mean``, ...).
            targets, mask: float tensors (batch, K) from ``model.check_labels``.
            training: bool, the layers' training mode.
        """
        raise NotImplementedError


@keras.saving.register_keras_serializable(package="keras_gvae")
class AdversarialInhibition(InhibitionTerm):
    """Adversarial inhibition (Ding et al. 2020, Sec. 3.2): an adversary ``C_k`` per
    attribute sees every other unit ``z[rest_k]`` and learns on ``stop_gradient(z)`` to
    predict ``y_k`` (phase 2); the encoder learns to push its prediction to 0.5 (phase 3).

    Args:
        weight: float, weight of the encoder's inhibition loss. Defaults to 200.
        input: which code the adversaries see: "sample" (the authors') or "mean" (the
            posterior mean, the code that downstream users and the leakage check read).
            Defaults to "sample".
        steps: int, adversary updates per batch (phase 2 repeated). Defaults to 1.
        hidden_units: widths of each adversary's hidden layers; ``()`` is a logistic
            regression. Defaults to (32, 32), the authors'.
    """

    def __init__(self, weight=200.0, input="sample", steps=1, hidden_units=(32, 32)):
        super().__init__(weight)
        self.input = check_code_source("input", input)
        self.steps = check_positive_steps("steps", steps)
        self.hidden_units = tuple(int(h) for h in hidden_units)

    def code(self, latent):
        """The code the adversaries see (``input``)."""
        return pick_code(self.input, latent)

    def objective(self, model, latent, targets, mask, training=True):
        """The adversaries' cross-entropy against the target 0.5 on the code they see."""
        # Batch statistics in the adversaries' BatchNorm when training: with the moving
        # averages the encoder could "fool" them by shifting and scaling z instead of
        # removing y_k.
        return self.inhibition(model.adversary_logits(self.code(latent), training=training), mask)

    @staticmethod
    def inhibition(logits, mask):
        """Cross-entropy of the adversaries' ``logits`` against 0.5 (labelled entries)."""
        return masked_sigmoid_cross_entropy(tf.fill(tf.shape(logits), 0.5), logits, mask)

    def get_config(self):
        return {
            **super().get_config(),
            "input": self.input,
            "steps": self.steps,
            "hidden_units": list(self.hidden_units),
        }


@keras.saving.register_keras_serializable(package="keras_gvae")
class MMDInhibition(InhibitionTerm):
    """A non-adversarial inhibition term: ``sum_k MMD^2`` (Gaussian kernels, see
    :func:`keras_gvae.losses.group_mmd`) between ``z_mean[rest_k]`` of the positives and
    of the negatives of attribute ``k`` in the batch.

    Args:
        weight: float, the term's weight. Defaults to 1.
        standardize: bool, standardise ``z_mean[rest_k]`` over the batch first, so that
            shrinking every code (posterior collapse) does not lower the term. Defaults to
            False.
        unbiased: bool, the unbiased U-statistic instead of the V-statistic, whose positive
            floor the encoder can lower only by pulling all codes together. Defaults to
            False.
    """

    def __init__(self, weight=1.0, standardize=False, unbiased=False):
        super().__init__(weight)
        self.standardize = bool(standardize)
        self.unbiased = bool(unbiased)

    def objective(self, model, latent, targets, mask, training=True):
        return tf.add_n(
            [
                group_mmd(
                    model.rest(latent.z_mean, u),
                    targets[:, k] * mask[:, k],
                    (1.0 - targets[:, k]) * mask[:, k],
                    standardize=self.standardize,
                    unbiased=self.unbiased,
                )
                for k, u in enumerate(model.attribute_units)
            ]
        )

    def get_config(self):
        return {**super().get_config(), "standardize": self.standardize, "unbiased": self.unbiased}


@keras.saving.register_keras_serializable(package="keras_gvae")
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """A factor that rises linearly from 0 at step 0 to 1 at step ``steps``, then stays 1.

    Called with a step count (a model's ``iterations``); any
    ``keras.optimizers.schedules.LearningRateSchedule`` can take its place.

    Args:
        steps: int >= 1, the length of the warm-up.
    """

    def __init__(self, steps):
        self.steps = check_positive_steps("steps", steps)

    def __call__(self, step):
        return tf.clip_by_value(tf.cast(step, tf.float32) / float(self.steps), 0.0, 1.0)

    def get_config(self):
        return {"steps": self.steps}

    def __eq__(self, other):
        return type(other) is type(self) and other.steps == self.steps

    def __hash__(self):
        return hash((type(self).__name__, self.steps))

    def __repr__(self):
        return f"LinearWarmup(steps={self.steps})"


@keras.saving.register_keras_serializable(package="keras_gvae")
class Ramp(keras.optimizers.schedules.LearningRateSchedule):
    """A value that stays ``start`` until step ``begin``, moves linearly to ``end`` at step
    ``stop``, then stays ``end``: ``start + (end - start) * clip((step - begin) / (stop -
    begin), 0, 1)``.

    A schedule of a model's step counter, e.g. ``GuidedVAE(content_beta=Ramp(4.0, 1.0,
    2000, 5000))``: the content units' KL weight taxed early and released late.

    Args:
        start: float, the value up to step ``begin``.
        end: float, the value from step ``stop`` on.
        begin: int >= 0, the step the ramp starts at.
        stop: int > ``begin``, the step it reaches ``end`` at.
    """

    def __init__(self, start, end, begin, stop):
        self.start, self.end = float(start), float(end)
        if not (math.isfinite(self.start) and math.isfinite(self.end)):
            raise ValueError(f"start and end must be finite numbers; got {start!r}, {end!r}")
        if isinstance(begin, bool) or not isinstance(begin, int) or begin < 0:
            raise ValueError(f"begin must be an int >= 0; got {begin!r}")
        if isinstance(stop, bool) or not isinstance(stop, int) or stop <= begin:
            raise ValueError(f"stop must be an int > begin ({begin}); got {stop!r}")
        self.begin, self.stop = begin, stop

    def __call__(self, step):
        progress = (tf.cast(step, tf.float32) - float(self.begin)) / float(self.stop - self.begin)
        return self.start + (self.end - self.start) * tf.clip_by_value(progress, 0.0, 1.0)

    def get_config(self):
        return {"start": self.start, "end": self.end, "begin": self.begin, "stop": self.stop}

    def __eq__(self, other):
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self):
        return hash((type(self).__name__, *self.get_config().values()))

    def __repr__(self):
        return f"Ramp({self.start:g}, {self.end:g}, begin={self.begin}, stop={self.stop})"


def warmup_schedule(name, value):
    """A warm-up argument as a schedule or None: None or 0 -> None (full weight from the
    start), an int ``n`` -> ``LinearWarmup(n)``, a serialized schedule (dict) -> that
    schedule, a schedule (any callable of the step) -> itself."""
    if isinstance(value, dict):
        return keras.saving.deserialize_keras_object(value)
    if isinstance(value, bool) or not (
        value is None or isinstance(value, int | float) or callable(value)
    ):
        raise ValueError(f"{name} must be None, a number of steps or a schedule; got {value!r}")
    if isinstance(value, int | float):
        return LinearWarmup(int(value)) if value > 0 else None
    return value


def add_step_counter(model, name):
    """An int64 count of the batches ``model`` trained, saved with its weights, that a
    warm-up follows (counted once per global step under a distribution strategy)."""
    return model.add_weight(
        name=name,
        shape=(),
        dtype="int64",
        initializer="zeros",
        trainable=False,
        aggregation="only_first_replica",
    )
