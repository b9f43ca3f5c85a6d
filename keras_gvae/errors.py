"""Errors keras_gvae raises for bad settings."""

from __future__ import annotations


class ParameterError(ValueError):
    """A bad value of one named parameter (of `keras_gvae.training.TrainConfig`, a loader or
    a model): the message names the parameter as Python spells it, and ``parameter`` holds
    that name, so that a front end can point at its own spelling (``gvae`` names the flag).
    """

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter
