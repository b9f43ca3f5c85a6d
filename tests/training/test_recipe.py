"""A run's settings are a Recipe (what it trains) and RunOptions (how the run is carried out):
the recipe alone decides the weights, the resume key and what a resumed run keeps."""

import dataclasses
import json

import keras
import numpy as np
import pytest

from keras_gvae import io, presets
from keras_gvae.errors import ParameterError
from keras_gvae.saving import load_model
from keras_gvae.training import (
    OPTION_FIELDS,
    RECIPE_FIELDS,
    Recipe,
    RunOptions,
    TrainConfig,
    build_model,
    resume_config,
    resume_key,
    train,
    training_data,
)
from keras_gvae.training.config import legacy_resume_key

TINY = dict(model="vae", epochs=2, steps_per_epoch=3, batch_size=8, latent_dim=4, eval_images=8)


def test_the_settings_are_split_once():
    assert set(RECIPE_FIELDS).isdisjoint(OPTION_FIELDS)
    flat = [f.name for f in dataclasses.fields(TrainConfig)]
    assert sorted(flat) == sorted(RECIPE_FIELDS + OPTION_FIELDS)
    assert set(OPTION_FIELDS) == {
        "out",
        "overwrite",
        "resume",
        "export",
        "slim",
        "command",
        "verbose",
        "backup_every",
        "tensorboard",
    }
    # What a preset may set is the recipe but its own name.
    assert presets.RECIPE_FIELDS == tuple(f for f in RECIPE_FIELDS if f != "preset")
    for name in presets.list_presets():
        assert set(presets.get_preset(name).settings) <= set(presets.RECIPE_FIELDS), name


def test_a_train_config_is_its_recipe_and_options():
    recipe = Recipe(seed=3, learning_rate=1e-3, model_kwargs={"sub_weight": 2.0})
    options = RunOptions(out="runs/x", backup_every=5)
    config = TrainConfig.of(recipe, options)
    assert isinstance(config, Recipe)
    assert config.recipe == recipe and config.options == options
    assert config.learning_rate == 1e-3 and config.out == "runs/x"
    assert TrainConfig.of(recipe).options == RunOptions()


def test_bad_values_name_the_field_of_either_half():
    with pytest.raises(ParameterError, match=r"learning_rate=0: expected a finite number above 0"):
        Recipe(learning_rate=0)
    with pytest.raises(ParameterError, match=r"backup_every=0: expected an integer above 0"):
        RunOptions(backup_every=0)
    with pytest.raises(ParameterError, match=r"epochs=0: expected an integer above 0"):
        TrainConfig(epochs=0, backup_every=0)


def test_the_resume_key_is_the_recipe_and_ignores_the_options():
    config = TrainConfig(**TINY, out="a", export=True, slim=True, resume="r", backup_every=2)
    key = resume_key(config)
    assert list(key) == list(RECIPE_FIELDS)
    assert key == resume_key(config.recipe) == dataclasses.asdict(config.recipe)
    other = dataclasses.replace(config, out="b", export=False, slim=False, resume=None)
    assert resume_key(other) == key
    assert resume_key(dataclasses.replace(config, save_best=True)) != key
    # The key of the version before the split: every field but these six.
    before = ("out", "overwrite", "command", "verbose", "backup_every", "tensorboard")
    old = {k: v for k, v in dataclasses.asdict(config).items() if k not in before}
    assert legacy_resume_key(config) == old


def test_a_partial_kept_before_the_split_is_still_resumed(tmp_path):
    out = tmp_path / "run"
    config = TrainConfig(**TINY, out=str(out), verbose=0)
    with pytest.raises(KeyboardInterrupt):
        # A partial as the version before the split kept it, under its resume key.
        with io.atomic_directory(
            out, keep_if=lambda tmp: True, resume_key=legacy_resume_key(config)
        ) as tmp:
            (tmp / "written-before.txt").write_text("kept\n")
            raise KeyboardInterrupt
    assert train(config) == out
    assert (out / "written-before.txt").read_text() == "kept\n"  # it went on in that partial
    assert not list(tmp_path.glob(".run.partial-*"))


@pytest.mark.slow
def test_a_run_trains_the_weights_its_recipe_builds_through_the_public_path(tmp_path):
    """gvae train's fit loop (backups, callbacks, the run directory) changes no number: its
    model.keras equals the recipe's model built, seeded and fitted by hand."""
    recipe = Recipe(**TINY, save_best=True)
    out = tmp_path / "run"
    assert train(TrainConfig.of(recipe, RunOptions(out=str(out), verbose=0))) == out
    saved = json.loads((out / "config.json").read_text())
    assert {k: saved[k] for k in RECIPE_FIELDS} == json.loads(
        json.dumps(dataclasses.asdict(recipe))
    )

    keras.utils.set_random_seed(recipe.seed)
    data = training_data(recipe)
    model = build_model(recipe, data.input_shape)
    model.fit(
        data.train,
        epochs=recipe.epochs,
        steps_per_epoch=recipe.steps_per_epoch,
        validation_data=(data.eval_images,),  # save_best: a validation pass every epoch
        shuffle=False,
        verbose=0,
    )
    trained = load_model(out / "model.keras")
    expected = model.weights + model.optimizer.variables
    got = trained.weights + trained.optimizer.variables
    assert [v.shape for v in got] == [v.shape for v in expected]
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), err_msg=a.path
        )


def test_a_resumed_run_keeps_its_recipe_and_takes_new_options(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    settings = dataclasses.asdict(TrainConfig(**TINY, out=str(out), backup_every=2))
    settings["attributes"] = None
    (out / "config.json").write_text(json.dumps(settings))  # a flat dict of every field
    partial = tmp_path / ".run.partial-0a1b2c3d"
    out.rename(partial)
    config = resume_config(partial, epochs=5, verbose=0, tensorboard=True)
    assert config.recipe == dataclasses.replace(TrainConfig(**TINY).recipe, epochs=5)
    assert (config.out, config.resume, config.overwrite) == (str(out), str(partial), False)
    assert config.backup_every == 2 and config.tensorboard and config.verbose == 0
    with pytest.raises(ValueError, match="resume_config takes only"):
        resume_config(partial, seed=1)
