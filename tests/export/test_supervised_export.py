import numpy as np
import tensorflow as tf

from keras_gvae import SupervisedGuidedVAE
from keras_gvae.export import export_saved_model, read_metadata


def test_supervised_model_exports_its_attribute_heads(tmp_path):
    model = SupervisedGuidedVAE(
        input_shape=(28, 28, 1), latent_dim=5, attributes=["a", "b"], attribute_units=[2, 0]
    )
    path = export_saved_model(model, tmp_path / "sm")
    meta = read_metadata(path)
    assert meta["attributes"] == ["a", "b"] and meta["model_class"] == "SupervisedGuidedVAE"
    loaded = tf.saved_model.load(str(path))
    assert "attributes" in loaded.signatures
    z = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    got = loaded.signatures["attributes"](z=tf.constant(z))["probabilities"].numpy()
    np.testing.assert_allclose(got, model.attribute_probabilities(z).numpy(), atol=1e-5)


def test_saved_model_stores_each_weight_once(tmp_path):
    from keras_gvae import GuidedVAE

    model = GuidedVAE(input_shape=(28, 28, 1), latent_dim=7)
    path = export_saved_model(model, tmp_path / "sm")
    reader = tf.train.load_checkpoint(str(path / "variables" / "variables"))
    stored = sum(
        int(np.prod(s))
        for k, s in reader.get_variable_to_shape_map().items()
        if k.endswith("VARIABLE_VALUE")
    )
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    assert trainable <= stored <= trainable * 1.01
