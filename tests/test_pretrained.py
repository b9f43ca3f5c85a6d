"""Pretrained models by name: found in folders, loaded, accepted by `gvae traverse`."""

import numpy as np
import pytest
from PIL import Image

from keras_gvae import pretrained
from keras_gvae.cli.main import main


@pytest.fixture(autouse=True)
def _seed_everything():
    """conftest's, without its per-test ``keras.backend.clear_session()`` (1-2 s a test):
    these tests share one tiny model."""
    import keras

    keras.utils.set_random_seed(1234)


def fake_run(folder, name):
    """A folder that looks like a run directory (a ``model.keras`` file) for listing."""
    (folder / name).mkdir(parents=True)
    (folder / name / "model.keras").write_bytes(b"")


@pytest.fixture
def env_folder(tmp_path, monkeypatch):
    folder = tmp_path / "pretrained"
    folder.mkdir()
    monkeypatch.setenv(pretrained.ENV_VAR, str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny_model():
    import keras_gvae

    return keras_gvae.VAE(input_shape=(28, 28, 1), latent_dim=3, seed=0)


def test_names_are_the_run_folders_of_the_env_folder_and_saved_models(env_folder):
    fake_run(env_folder, "mine")
    fake_run(env_folder, ".mine.partial-1a2b")  # an unfinished output is no model
    (env_folder / "notes").mkdir()  # a folder without model.keras is no model
    shipped = {
        p.name
        for p in pretrained.REPOSITORY_MODELS.glob("*")
        if (p / "model.keras").is_file() and not p.name.startswith(".")
    }
    assert pretrained.list_pretrained() == sorted({"mine", *shipped})


def test_a_name_in_the_env_folder_wins_over_the_repository(env_folder):
    fake_run(env_folder, "guided_shapes")
    assert pretrained.pretrained_path("guided_shapes") == env_folder / "guided_shapes"


def test_several_env_folders_are_searched_in_order(tmp_path, monkeypatch):
    first, second = tmp_path / "a", tmp_path / "b"
    fake_run(first, "same")
    fake_run(second, "same")
    fake_run(second, "only_b")
    monkeypatch.setenv(pretrained.ENV_VAR, f"{first}:{second}")
    assert pretrained.pretrained_path("same") == first / "same"
    assert pretrained.pretrained_path("only_b") == second / "only_b"


def test_an_unknown_name_is_one_line_listing_the_known_ones(env_folder):
    fake_run(env_folder, "alpha")
    fake_run(env_folder, "beta")
    with pytest.raises(pretrained.UnknownPretrainedError) as info:
        pretrained.pretrained_path("gamma")
    message = str(info.value)
    assert "\n" not in message
    assert "'gamma'" in message and "alpha, beta" in message


def test_no_pretrained_models_anywhere_says_how_to_add_them(env_folder, monkeypatch):
    monkeypatch.setattr(pretrained, "REPOSITORY_MODELS", env_folder / "absent")
    with pytest.raises(pretrained.UnknownPretrainedError, match=pretrained.ENV_VAR):
        pretrained.pretrained_path("guided_shapes")


def test_paths_are_kept_as_paths(env_folder, tmp_path):
    fake_run(env_folder, "run")
    assert pretrained.resolve_model("run") == env_folder / "run"
    assert str(pretrained.resolve_model("elsewhere/run")) == "elsewhere/run"
    assert str(pretrained.resolve_model("missing.keras")) == "missing.keras"
    (tmp_path / "run").mkdir()
    assert pretrained.resolve_model(tmp_path / "run") == tmp_path / "run"


def test_load_pretrained_restores_the_saved_model(env_folder, tiny_model):
    (env_folder / "tiny").mkdir()
    tiny_model.save(env_folder / "tiny" / "model.keras")
    restored = pretrained.load_pretrained("tiny")
    z = np.random.default_rng(0).standard_normal((2, 3)).astype("float32")
    np.testing.assert_array_equal(restored.decode(z), tiny_model.decode(z))


def test_the_shipped_guided_shapes_loads_by_name():
    if "guided_shapes" not in pretrained.list_pretrained():
        pytest.skip("saved_models/guided_shapes is not in this checkout")
    model = pretrained.load_pretrained("guided_shapes")
    assert type(model).__name__ == "GuidedVAE"
    assert model.parameter_names[0] == "scale"


def test_gvae_traverse_accepts_a_pretrained_name(env_folder, tiny_model, tmp_path):
    (env_folder / "tiny").mkdir()
    tiny_model.save(env_folder / "tiny" / "model.keras")
    out = tmp_path / "traversal.png"
    assert main(["traverse", "tiny", "--out", str(out), "--steps", "3"]) == 0
    assert Image.open(out).size[0] > 3 * 28


def test_gvae_traverse_names_the_known_models_for_an_unknown_name(env_folder, tmp_path, capsys):
    fake_run(env_folder, "alpha")
    assert main(["traverse", "no_such_model", "--out", str(tmp_path / "t.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("gvae traverse: error: unknown pretrained model 'no_such_model'")
    assert "alpha" in err
