"""Errors keras_gvae raises for bad settings."""

from __future__ import annotations


class ParameterError(ValueError):
    """A bad value of one named parameter (of `keras_gvae.training.TrainConfig`, a loader or
    a model): the message names the parameter as Python spells it, and ``parameter`` holds
    that name, so that a front end can point at its own spelling (``gvae`` names the flag).

    Messages write a parameter with its value as ``name=value`` (``learning_rate=inf``,
    ``overwrite=True``, or ``data_dir=`` for "pass a value"): ``gvae`` rewrites exactly these
    into its flags (``--learning-rate inf``, ``--overwrite``, ``--data-dir``).

    Args:
        parameter: str, the parameter's name; or a tuple of names when the message
            names several (e.g. "learning_rate", "clip_norm").
        message: str, the message.
        within: optional str, the dict-valued parameter ``parameter`` is a key of (e.g.
            "model_kwargs" for a model argument). Default None.
    """

    def __init__(self, parameter: str | tuple[str, ...], message: str, within: str | None = None):
        super().__init__(message)
        self.parameter = parameter
        self.within = within


def parameters_of(err) -> tuple[str, ...]:
    """The parameter names an error names (its ``parameter``: a name or a tuple of names)."""
    parameter = getattr(err, "parameter", None)
    if isinstance(parameter, str):
        return (parameter,)
    if isinstance(parameter, (tuple, list)):
        return tuple(p for p in parameter if isinstance(p, str))
    return ()
