"""Bad input ends in one line that names what the user typed, before any training: flags on
the command line, parameters in Python (issue #23)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from keras_gvae.cli.main import main, spell_flags
from keras_gvae.errors import ParameterError
from keras_gvae.io import OutputExistsError, check_output
from keras_gvae.models import VAE
from keras_gvae.training import TrainConfig

TINY = ["--model", "vae", "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "8"]
TINY += ["--latent-dim", "4", "--eval-images", "8", "--quiet"]


def error_line(capsys):
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    return err


# ------------------------------------------------------------------ --out
@pytest.fixture
def here(tmp_path, monkeypatch):
    """An empty current directory, tmp_path/project/empty."""
    here = tmp_path / "project" / "empty"
    here.mkdir(parents=True)
    monkeypatch.chdir(here)
    return here


def nothing_written(tmp_path, here):
    return (
        here.is_dir()
        and not list(here.iterdir())
        and sorted(p.name for p in tmp_path.rglob("*")) == ["empty", "project"]
    )


@pytest.mark.parametrize("spelled", ["dot", "absolute"])
def test_out_is_never_the_current_directory(spelled, here, tmp_path, capsys):
    out = "." if spelled == "dot" else str(here)
    assert main(["train", *TINY, "--out", out]) == 2
    assert error_line(capsys) == (
        f"gvae train: error: {here} is the current directory; a finished output replaces its "
        "directory, so expected the name of a new folder (e.g. runs/NAME)"
    )
    assert nothing_written(tmp_path, here)


def test_out_is_never_a_parent_of_the_current_directory_even_with_overwrite(here, tmp_path, capsys):
    assert main(["train", *TINY, "--out", "..", "--overwrite"]) == 2
    assert "is a parent of the current directory" in error_line(capsys)
    assert nothing_written(tmp_path, here)


# ------------------------------------------------------------------ numbers
@pytest.mark.parametrize("flag", ["--learning-rate", "--clip-norm"])
@pytest.mark.parametrize("value", ["inf", "nan", "0", "-1"])
def test_a_rate_or_norm_that_is_not_a_finite_positive_number_is_refused(
    flag, value, tmp_path, capsys
):
    out = tmp_path / "run"
    assert main(["train", *TINY, flag, value, "--out", str(out)]) == 2
    shown = repr(float(value))  # as Python reads it: 0 -> 0.0
    assert error_line(capsys) == (
        f"gvae train: error: {flag} {shown}: expected a finite number above 0"
    )
    assert not out.exists() and not list(tmp_path.iterdir())


def test_python_names_the_parameter_not_the_flag():
    with pytest.raises(ParameterError) as err:
        TrainConfig(learning_rate=math.inf)
    assert str(err.value) == "learning_rate=inf: expected a finite number above 0"
    assert err.value.parameter == "learning_rate"


# ------------------------------------------------------------------ --model-arg
@pytest.mark.parametrize(
    "arg, expected",
    [
        ("sub_weight=abc", "--model-arg sub_weight='abc': expected a finite number (the default "),
        ("transform_hidden_units=2.5", "--model-arg transform_hidden_units=2.5: expected an int"),
        (
            "transform_map=1",
            "--model-arg transform_map=1: expected a string (the default is 'mlp')",
        ),
        (
            "transforms=abc",
            "--model-arg transforms='abc': expected a list of names from ('scale', "
            "'uniform_scale', 'rotation', 'translation')",
        ),
        (
            'transforms=["scale","twist"]',
            "--model-arg transforms=['scale', 'twist']: expected a non-empty subset of",
        ),
        ("content_beta=abc", "--model-arg content_beta='abc': expected None, a finite number"),
    ],
)
def test_a_bad_model_argument_names_the_flag_and_what_it_expects(arg, expected, tmp_path, capsys):
    out = tmp_path / "run"
    tiny = [t for t in TINY if t != "vae"]
    tiny[tiny.index("--model") : tiny.index("--model") + 1] = ["--model", "guided"]
    assert main(["train", *tiny, "--latent-dim", "8", "--model-arg", arg, "--out", str(out)]) == 2
    assert error_line(capsys).startswith(f"gvae train: error: {expected}")
    assert not out.exists() and not list(tmp_path.iterdir())


def test_python_model_arguments_name_the_parameter():
    with pytest.raises(ParameterError, match=r"^sub_weight='abc': expected a finite number"):
        TrainConfig(model="guided", model_kwargs={"sub_weight": "abc"})
    from keras_gvae.models import GuidedVAE

    with pytest.raises(ParameterError, match=r"^transforms='abc': expected a list of names"):
        GuidedVAE(input_shape=(28, 28, 1), latent_dim=8, transforms="abc")


# ------------------------------------------------------------------ usage and wording
def test_an_unknown_flag_of_a_command_prints_that_commands_usage(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--bogus"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: gvae train ")
    assert err.strip().endswith("gvae train: error: unrecognized arguments: --bogus")


@pytest.fixture
def taken(tmp_path):
    """A folder of the user's: not empty, not a keras_gvae output."""
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    return out


def test_python_output_messages_name_the_overwrite_parameter(taken):
    with pytest.raises(OutputExistsError) as err:
        check_output(taken, kind="run")
    assert "pass overwrite=True to replace it" in str(err.value) and "--" not in str(err.value)


def test_the_cli_names_the_overwrite_flag(taken, capsys):
    assert main(["train", *TINY, "--out", str(taken)]) == 2
    assert error_line(capsys) == (
        f"gvae train: error: {taken} already exists and is not empty; choose another name, or "
        "pass --overwrite to replace it"
    )


def test_spell_flags_rewrites_exactly_the_parameters_an_error_names():
    def spelled(text, *parameter, within=None):
        return spell_flags(text, ParameterError(parameter, text, within=within))

    assert spelled("try a lower learning_rate= or a clip_norm=", "learning_rate", "clip_norm") == (
        "try a lower --learning-rate or a --clip-norm"
    )
    assert spelled("batch_size=6 must be a multiple; max_batch_size=2", "batch_size") == (
        "--batch-size 6 must be a multiple; max_batch_size=2"
    )
    assert spelled("needs attributes, the names", "attributes") == (
        "needs attributes, the names (--attributes)"
    )
    assert spelled("sub_weight='abc': no", "sub_weight", within="model_kwargs") == (
        "--model-arg sub_weight='abc': no"
    )


# ------------------------------------------------------------------ the model's own calls
@pytest.fixture(scope="module")
def model():
    return VAE(input_shape=(28, 28, 1), latent_dim=2)


def test_encode_refuses_an_empty_batch_in_one_line(model):
    with pytest.raises(ValueError) as err:
        model.encode(np.zeros((0, 28, 28, 1), np.float32))
    assert str(err.value) == "VAE.encode got an empty batch (0 images); expected at least one"


def test_decode_refuses_nan_or_inf_codes_unless_validation_is_off(model):
    for bad in (np.nan, np.inf):
        z = np.array([[0.0, bad]], np.float32)
        with pytest.raises(tf.errors.InvalidArgumentError, match="codes contain NaN or Inf"):
            model.decode(z)
        assert model.decode(z, validate=False).shape == (1, 28, 28, 1)
    assert np.all(np.isfinite(model.decode(np.zeros((1, 2), np.float32))))


def test_sample_refuses_a_negative_count_in_one_line(model):
    with pytest.raises(ValueError) as err:
        model.sample(-1)
    assert str(err.value) == "num, the number of samples, must be an integer >= 0; got -1"
    assert model.sample(0).shape == (0, 28, 28, 1)
