"""keras_gvae: the Guided Variational Autoencoder (Ding et al., CVPR 2020) for Keras 3.

Importing the package registers every layer and model with Keras, so
``keras.saving.load_model("model.keras")`` restores them with ``safe_mode`` on.
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_gvae import layers, losses, models  # noqa: E402
from keras_gvae.models import VAE, GuidedVAE, SupervisedGuidedVAE  # noqa: E402

__version__ = "0.1.0.dev0"

__all__ = ["GuidedVAE", "SupervisedGuidedVAE", "VAE", "layers", "losses", "models", "__version__"]
