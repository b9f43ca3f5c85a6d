import keras
import numpy as np
import pytest

import keras_gvae.layers
from keras_gvae.layers import AttributeClassifier, GuidanceDecoder
from tests.helpers import run_layer_serialization_test


def test_config_round_trip_gives_the_same_function():
    layer = AttributeClassifier(hidden_units=(8, 4), negative_slope=0.1, name="head")
    x = np.random.default_rng(0).normal(size=(6, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(layer(x, training=False))
    clone = run_layer_serialization_test(layer)
    clone.build((None, 3))
    assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(clone(x, training=False)), expected)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_one_logit_per_example_through_the_hidden_widths(batch_norm):
    layer = AttributeClassifier(hidden_units=(8, 4), batch_norm=batch_norm)
    assert layer(np.zeros((5, 1), "float32")).shape == (5,)
    kernels = [w.shape for w in layer.weights if w.path.endswith("kernel")]
    assert kernels == [(1, 8), (8, 4), (4, 1)]
    norms = [w for w in layer.weights if "batch_norm" in w.path]
    assert bool(norms) == batch_norm


def layer_classes():
    """Every Layer class keras_gvae.layers exports."""
    return [
        value
        for name in keras_gvae.layers.__all__
        if isinstance(value := getattr(keras_gvae.layers, name), type)
        and issubclass(value, keras.layers.Layer)
    ]


# The smallest constructor arguments of each layer (a new layer needs a line here).
EXAMPLES = {
    "AffineSpatialTransformer": {},
    "AttributeClassifier": {"hidden_units": (4, 4)},
    "GuidanceDecoder": {"image_shape": (8, 8, 1), "num_content": 2},
}


@pytest.mark.parametrize("cls", layer_classes(), ids=lambda cls: cls.__name__)
def test_every_exported_layer_round_trips_through_its_config(cls):
    assert cls.__name__ in EXAMPLES, f"add {cls.__name__}'s constructor arguments to EXAMPLES"
    layer = cls(**EXAMPLES[cls.__name__], name="probe")
    clone = run_layer_serialization_test(layer)
    assert type(clone) is cls and clone.name == "probe"


def test_the_exported_layers_are_all_covered():
    assert {cls.__name__ for cls in layer_classes()} == set(EXAMPLES)
    assert GuidanceDecoder in layer_classes()
