import dataclasses
import json
import shlex
from pathlib import Path

import pytest

from keras_gvae import presets
from keras_gvae.cli.main import main

TINY = [
    "--epochs",
    "1",
    "--steps-per-epoch",
    "2",
    "--batch-size",
    "8",
    "--eval-images",
    "8",
    "--quiet",
]


def test_every_preset_is_listed_and_described():
    names = presets.list_presets()
    assert {
        "guided-paper",
        "guided-shapes",
        "guided-mnist",
        "guided-omniglot",
        "supervised-shapes",
        "supervised-position",
    } <= set(names)
    for name in names:
        # Every recipe is a valid configuration: TrainConfig checks its model arguments
        # against the model's constructor, so a misspelt argument fails here.
        config = presets.train_config(name)
        assert config.preset == name
        assert presets.describe(name).splitlines()[0] == (
            f"{name}: {presets.get_preset(name).description}"
        )


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
    assert (
        main(
            [
                "train",
                *TINY,
                "--model-arg",
                "sub_weight=2",
                "--seed",
                "5",
                "--out",
                str(tmp_path / "b"),
            ]
        )
        == 0
    )
    config = _config(tmp_path / "b")
    assert config["model_kwargs"] == {**recipe, "sub_weight": 2} and config["seed"] == 5
    assert config["preset"] == "guided-shapes" and "--seed 5" in config["command"]
    card = (tmp_path / "b" / "MODEL_CARD.md").read_text()
    # Every Recipe field the run changes, in the Recipe's order (eval_images is one).
    tiny = "epochs=1, steps_per_epoch=2, batch_size=8"
    assert (
        f"- Preset: `guided-shapes` (keras_gvae.presets), with {tiny}, seed=5, "
        "model_kwargs.sub_weight=2, eval_images=8 over it\n" in card
    )
    assert (
        f"- Preset: `guided-shapes` (keras_gvae.presets), with {tiny}, eval_images=8 over it\n"
        in (tmp_path / "a" / "MODEL_CARD.md").read_text()
    )
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


SAVED = Path(__file__).resolve().parents[1] / "saved_models"


def _reproduce_commands():
    """``--out`` -> the argv of each ``gvae train`` line of saved_models/reproduce.sh."""
    text = (SAVED / "reproduce.sh").read_text().replace("\\\n", " ")
    commands = {}
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if words[:2] == ["gvae", "train"]:
            argv = words[1:]
            commands[argv[argv.index("--out") + 1]] = argv
    return commands


def _saved_config(run):
    """The TrainConfig a shipped run's config.json records (read as `resume_config` reads
    it: fields the run's version did not have yet keep their defaults, which is what it
    did then)."""
    from keras_gvae.training import TrainConfig

    saved = json.loads((run / "config.json").read_text())
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    saved = {k: v for k, v in saved.items() if k in fields}
    if isinstance(saved.get("attributes"), list):
        saved["attributes"] = tuple(saved["attributes"])
    return TrainConfig(**saved)


def test_every_shipped_model_is_the_recipe_of_a_preset():
    from keras_gvae.cli.main import build_parser
    from keras_gvae.cli.train import RECIPE_FLAGS, config_from_args, typed_flags

    runs = sorted(p for p in SAVED.iterdir() if (p / "config.json").exists())
    commands = _reproduce_commands()
    assert sorted(commands) == [f"saved_models/{run.name}" for run in runs]
    for run in runs:
        argv = commands[f"saved_models/{run.name}"]
        # reproduce.sh names a preset and says only where the data is beside it.
        assert "--preset" in argv and "--model-arg" not in argv
        assert typed_flags(argv) & set(RECIPE_FLAGS) <= {"data_dir"}, run.name
        args = build_parser().parse_args(argv)
        args.argv = argv
        reproduced = config_from_args(args)
        saved = _saved_config(run)
        assert saved.preset in (None, reproduced.preset), run.name  # older runs record none
        # Every setting of the run (the recipe, the budget, the seed, what was written)
        # but the command line itself and the progress bar.
        ignore = {"command", "verbose", "preset"}
        expected = {k: v for k, v in dataclasses.asdict(saved).items() if k not in ignore}
        got = {k: v for k, v in dataclasses.asdict(reproduced).items() if k not in ignore}
        assert got == expected, run.name
        assert presets.differences(reproduced) == (
            {"data_dir": reproduced.data_dir} if reproduced.data_dir else {}
        ), run.name


def test_no_readme_command_lists_model_arguments():
    readme = (SAVED.parent / "README.md").read_text()
    assert "--model-arg " not in readme.replace("`gvae train --model-arg NAME=VALUE`", "")


def test_the_supervised_presets_are_not_defaults():
    # ``--model supervised`` needs its --attributes: no recipe chooses them for it.
    assert presets.default_preset("supervised", "shapes_binary") is None
    assert presets.default_preset("supervised", "shapes_binary_upright") is None
    config = presets.train_config("supervised-position", seed=2)
    assert config.attributes == ("right_half", "bottom_half") and config.lr_schedule == "cosine"
    assert presets.differences(config) == {"seed": 2}


def test_differences_name_the_fields_and_model_arguments_changed():
    config = presets.train_config("guided-shapes", seed=3, model_kwargs={"sub_weight": 2.0})
    assert presets.differences(config) == {"seed": 3, "model_kwargs.sub_weight": 2.0}
    assert presets.differences(presets.train_config("guided-shapes")) == {}
    assert presets.differences(dataclasses.replace(config, preset=None)) == {}
