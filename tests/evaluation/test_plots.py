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
