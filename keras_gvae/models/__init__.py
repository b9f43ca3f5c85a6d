"""Models of keras_gvae: VAE / beta-VAE, beta-TCVAE, Guided-VAE (also on beta-TCVAE), and the
supervised model's terms."""

from keras_gvae.models.backbones import (
    conv64_decoder,
    conv64_encoder,
    default_backbone,
    mnist_decoder,
    mnist_encoder,
)
from keras_gvae.models.beta_tcvae import BetaTCVAE
from keras_gvae.models.guided_beta_tcvae import GuidedBetaTCVAE
from keras_gvae.models.guided_vae import GuidedVAE
from keras_gvae.models.supervised_guided_vae import SupervisedGuidedVAE
from keras_gvae.models.terms import (
    AdversarialInhibition,
    Excitation,
    InhibitionTerm,
    LinearWarmup,
    MMDInhibition,
    Ramp,
)
from keras_gvae.models.vae import VAE, LatentCode

__all__ = [
    "AdversarialInhibition",
    "BetaTCVAE",
    "Excitation",
    "GuidedBetaTCVAE",
    "GuidedVAE",
    "InhibitionTerm",
    "LatentCode",
    "LinearWarmup",
    "MMDInhibition",
    "Ramp",
    "SupervisedGuidedVAE",
    "VAE",
    "conv64_decoder",
    "conv64_encoder",
    "default_backbone",
    "mnist_decoder",
    "mnist_encoder",
]
