import json

import pytest

from keras_gvae import presets
from keras_gvae.cli.main import main

TINY = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8", "--eval-images", "8",
        "--quiet"]


def test_every_preset_is_listed_and_described():
    names = presets.list_presets()
    assert {"guided-paper", "guided-shapes"} <= set(names)
    for name in names:
        text = presets.describe(name)
        assert text.startswith(name + ": ")
        for key, value in presets.get_preset(name).settings.get("model_kwargs", {}).items():
            assert f"{key} = {json.dumps(value)}" in text


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown preset 'nope'; expected one of .*guided-shapes"):
        presets.get_preset("nope")


def test_overrides_replace_fields_and_merge_model_arguments():
    config = presets.train_config("guided-shapes", seed=3, model_kwargs={"sub_weight": 2.0})
    recipe = presets.get_preset("guided-shapes").settings["model_kwargs"]
    assert config.preset == "guided-shapes" and config.seed == 3
    assert config.model_kwargs == {**recipe, "sub_weight": 2.0}
    # The preset itself is not changed by an override.
    assert "sub_weight" not in presets.get_preset("guided-shapes").settings["model_kwargs"]


def test_build_gives_the_recipe_model():
    model = presets.build("guided-shapes", input_shape=(64, 64, 1))
    recipe = presets.get_preset("guided-shapes").settings["model_kwargs"]
    config = model.get_config()
    for key, value in recipe.items():
        assert config[key] == (tuple(value) if isinstance(value, list) else value)
    assert model.optimizer is not None


def test_list_presets_prints_every_recipe(capsys):
    assert main(["train", "--list-presets"]) == 0
    out = capsys.readouterr().out
    for name in presets.list_presets():
        assert f"{name}: " in out


def _config(run):
    return json.loads((run / "config.json").read_text())


@pytest.mark.slow
def test_gvae_train_uses_the_default_preset_and_flags_override_it(tmp_path):
    recipe = presets.get_preset("guided-shapes").settings["model_kwargs"]
    assert main(["train", *TINY, "--out", str(tmp_path / "a")]) == 0
    config = _config(tmp_path / "a")
    assert config["preset"] == "guided-shapes" and config["model_kwargs"] == recipe
    assert main(["train", *TINY, "--model-arg", "sub_weight=2", "--seed", "5",
                 "--out", str(tmp_path / "b")]) == 0
    config = _config(tmp_path / "b")
    assert config["model_kwargs"] == {**recipe, "sub_weight": 2} and config["seed"] == 5
    assert main(["train", *TINY, "--preset", "none", "--out", str(tmp_path / "c")]) == 0
    config = _config(tmp_path / "c")
    assert config["preset"] is None and config["model_kwargs"] == {}
    # A model without a registered preset trains with its own defaults.
    assert main(["train", *TINY, "--model", "vae", "--out", str(tmp_path / "d")]) == 0
    assert _config(tmp_path / "d")["preset"] is None


def test_an_unknown_preset_is_refused_before_training(tmp_path, capsys):
    assert main(["train", *TINY, "--preset", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "unknown preset 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_presets_are_an_attribute_of_the_package():
    import keras_gvae

    assert keras_gvae.presets is presets
