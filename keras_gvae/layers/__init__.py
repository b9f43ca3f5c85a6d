"""Layers of keras_gvae."""

from keras_gvae.layers.affine_spatial_transformer import AffineSpatialTransformer, affine_theta
from keras_gvae.layers.attribute_classifier import AttributeClassifier
from keras_gvae.layers.guidance_decoder import (
    TRANSFORM_PARAMETERS,
    GuidanceDecoder,
    transform_parameter_names,
)

__all__ = [
    "AffineSpatialTransformer",
    "AttributeClassifier",
    "GuidanceDecoder",
    "TRANSFORM_PARAMETERS",
    "affine_theta",
    "transform_parameter_names",
]
