import numpy as np
import pytest
from PIL import Image

from keras_gvae.evaluation import mutual_information_matrix, plot_mi_matrix
from tests.evaluation.fakes import identity_codes


def test_writes_a_png(tmp_path, factors):
    train, _ = factors
    mi = mutual_information_matrix(identity_codes(train), train)
    path = plot_mi_matrix(
        mi,
        tmp_path / "plots" / "mi.png",
        factor_names=["shape", "scale", "x"],
        title="Mutual information",
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) > 50
    assert sorted(p.name for p in path.parent.iterdir()) == ["mi.png"]  # no temporary left


def test_rejects_mismatched_names(tmp_path):
    with pytest.raises(ValueError, match="code names"):
        plot_mi_matrix(np.zeros((2, 3)), tmp_path / "mi.png", code_names=["a"])
    assert not list(tmp_path.iterdir())


def test_attribute_sweep_figure():
    from keras_gvae import SupervisedGuidedVAE
    from keras_gvae.visualization import attribute_sweep_figure, to_uint8

    model = SupervisedGuidedVAE(input_shape=(28, 28, 1), latent_dim=3, attributes=["a", "b"])
    x = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
    figure = attribute_sweep_figure(model, x, [(-1.0, 1.0), (0.0, 2.0)], steps=4)
    # Two panels side by side, each two rows of four 28x28 tiles at zoom 2 under a title.
    tile_rows = 2 * (2 * (28 + 2) + 2)
    assert figure.height == tile_rows + 16
    assert figure.width > 2 * 2 * (4 * (28 + 2) + 2)
    # The last tile of the first panel's first row is image 0 decoded with unit 0 at +1.0
    # (labels "image i" take 8 + 6 * 7 pixels; the 2-pixel grid padding is zoomed too).
    left, top = 8 + 6 * 7 + 2 * 2 + 3 * 2 * (28 + 2), 16 + 2 * 2
    tile = np.asarray(figure)[top : top + 56 : 2, left : left + 56 : 2]
    expected = to_uint8(model.traverse(x=x[0], units=[0], values=[1.0])[0, 0])
    np.testing.assert_array_equal(tile, expected)
