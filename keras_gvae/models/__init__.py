"""Models of keras_gvae: VAE / beta-VAE and Guided-VAE."""

from keras_gvae.models.backbones import (
    conv64_decoder,
    conv64_encoder,
    default_backbone,
    mnist_decoder,
    mnist_encoder,
)
from keras_gvae.models.guided_vae import GuidedVAE
from keras_gvae.models.supervised_guided_vae import SupervisedGuidedVAE
from keras_gvae.models.vae import VAE

__all__ = [
    "GuidedVAE",
    "SupervisedGuidedVAE",
    "VAE",
    "conv64_decoder",
    "conv64_encoder",
    "default_backbone",
    "mnist_decoder",
    "mnist_encoder",
]
