"""`gvae explore`: the explorer's functions, its server driven by gradio_client, the command,
and the page in a headless Chromium."""

import functools
import io
import sys

import numpy as np
import pytest
from PIL import Image

import keras_gvae
from keras_gvae.explore import app, inputs
from keras_gvae.pretrained import list_pretrained, load_pretrained, pretrained_path


@pytest.fixture(autouse=True)
def _seed_everything():
    """conftest's seeding, without its per-test ``keras.backend.clear_session()``: these tests
    share a few module-level models, and its garbage collection costs 1-2 s a test."""
    import keras

    keras.utils.set_random_seed(1234)


# === Models ===


@pytest.fixture(scope="module")
def guided():
    return keras_gvae.GuidedVAE(input_shape=(28, 28, 1), latent_dim=7, seed=0)


@pytest.fixture(scope="module")
def supervised():
    return keras_gvae.SupervisedGuidedVAE(
        input_shape=(28, 28, 1), latent_dim=4, attributes=["a", "b"], attribute_units=[2, 0]
    )


@pytest.fixture(scope="module")
def shapes_model():
    """The shipped guided_shapes model, by name."""
    if "guided_shapes" not in list_pretrained():
        pytest.skip("saved_models/guided_shapes is not in this checkout")
    return load_pretrained("guided_shapes")


def random_code(model, seed=0):
    return np.random.default_rng(seed).standard_normal(model.latent_dim).astype("float32")


def png_file(path, image):
    Image.fromarray(image).save(path)
    return path


# === The functions ===


def test_sliders_are_labelled_with_transforms_and_content(guided):
    assert app.unit_labels(guided) == [
        "z0 (scale_x)",
        "z1 (scale_y)",
        "z2 (angle)",
        "z3 (translate_x)",
        "z4 (translate_y)",
        "z5 (content)",
        "z6 (content)",
    ]


def test_sliders_are_labelled_with_the_attribute_each_unit_carries(supervised):
    assert app.unit_labels(supervised) == ["z0 (b)", "z1", "z2 (a)", "z3"]


def test_a_frame_is_what_each_decoder_makes_of_the_code(guided):
    code = random_code(guided)
    frame = app.make_renderer(guided)(code)
    # The traced graph may round differently from eager calls (fused ops): 1e-5 is far below
    # one grey level (1/255).
    np.testing.assert_allclose(frame["main"], guided.decode(code[None])[0], atol=1e-5)
    np.testing.assert_allclose(frame["sub"], guided.sub_decode(code[None])[0], atol=1e-5)


def test_moving_one_slider_changes_the_shown_images(guided):
    render = app.make_renderer(guided)
    code = random_code(guided)
    moved = code.copy()
    moved[0] += 1.5
    before, after = render(code), render(moved)
    for name in ("main", "sub"):
        shown = app.to_display(before[name])
        assert shown.shape == (28, 28, 3) and shown.dtype == np.uint8
        assert not np.array_equal(shown, app.to_display(after[name]))


def test_a_frame_of_the_supervised_model_has_the_heads_probabilities(supervised):
    code = random_code(supervised)
    frame = app.make_renderer(supervised)(code)
    again = supervised.predict_attributes(frame["main"][None])[0]
    np.testing.assert_allclose(frame["attributes"], again, atol=1e-5)
    of_code = supervised.attribute_probabilities(code[None]).numpy()[0]
    np.testing.assert_allclose(frame["attributes_of_code"], of_code, atol=1e-5)
    table = app.attribute_table(supervised, frame).splitlines()
    assert table[2] == f"| a | z2 | {again[0]:.3f} | {of_code[0]:.3f} |"
    assert table[3] == f"| b | z0 | {again[1]:.3f} | {of_code[1]:.3f} |"


def test_a_code_of_the_wrong_length_is_refused(guided):
    with pytest.raises(ValueError, match="expected a code of 7 finite numbers"):
        app.make_renderer(guided)(np.zeros(6))


def test_prior_codes_are_reproducible_from_their_seed(guided):
    np.testing.assert_array_equal(app.prior_code(guided, 3), app.prior_code(guided, 3))
    assert not np.array_equal(app.prior_code(guided, 3), app.prior_code(guided, 4))


def test_slider_codes_are_clipped_to_the_sliders_range():
    assert app.slider_code([-9.0, 0.123, 5.0]) == [app.SLIDER_MIN, 0.12, app.SLIDER_MAX]


def test_the_walk_sweeps_one_unit_around_the_current_code(guided):
    code = random_code(guided)
    walk = np.asarray(app.walk_figure(guided, code, unit=2, values=[-2.0, 0.0, 2.0]))
    row = guided.traverse(z=code, units=[2], values=[-2.0, 0.0, 2.0])[0]
    # labelled_panel's layout at zoom 2: label column 8 + 6 * len("z2 (angle)"), title 16 px,
    # tiles of 28 px with a 2 px pad.
    left, top, step = 8 + 6 * len("z2 (angle)") + 2 * 2, 16 + 2 * 2, 2 * (28 + 2)
    for k in range(3):
        tile = walk[top : top + 56 : 2, left + k * step : left + k * step + 56 : 2]
        np.testing.assert_array_equal(tile, app.to_display(row[k]))
    assert walk.shape[1] > 2 * (left + 3 * step)  # the sub-decoder's row beside it


@pytest.mark.parametrize("name", list_pretrained())
def test_every_shipped_model_redraws_when_a_slider_moves(name):
    model = load_pretrained(name)
    render = app.make_renderer(model)
    code = app.slider_code(app.prior_code(model, 0))
    moved = list(code)
    moved[0] += 1.5
    before, after = app.slider_update(model, render, code), app.slider_update(model, render, moved)
    decoders = len(model.decoders())
    assert len(before) == decoders + bool(model.attributes)
    for shown, again in zip(before[:decoders], after[:decoders], strict=True):
        assert not np.array_equal(shown, again)
    if model.attributes:
        assert before[-1].startswith("| attribute | unit |")


# === Starting images ===


def test_an_upload_becomes_the_models_input(guided, tmp_path):
    pixels = np.zeros((80, 100, 4), np.uint8)  # transparent
    pixels[20:60, 30:70] = 255  # an opaque white square
    image = inputs.read_upload(guided, png_file(tmp_path / "square.png", pixels))
    assert image.shape == (28, 28, 1) and image.dtype == np.float32
    assert image[0, 0, 0] == 0.0 and image[14, 14, 0] == 1.0
    z_mean, _ = guided.encode(image[None])
    np.testing.assert_allclose(app.encode_image(guided, image), z_mean[0], atol=1e-6)


def test_an_upload_gets_the_models_channels(tmp_path):
    model = keras_gvae.VAE(input_shape=(16, 16, 3), latent_dim=2, seed=0)
    red = np.zeros((32, 32), np.uint8)
    red = np.stack([red + 255, red, red], axis=-1)
    image = inputs.read_upload(model, png_file(tmp_path / "red.png", red))
    assert image.shape == (16, 16, 3)
    np.testing.assert_array_equal(image[0, 0], [1.0, 0.0, 0.0])


@pytest.mark.parametrize("content", [b"not an image", "truncated"])
def test_a_bad_upload_is_one_line_naming_the_file(guided, tmp_path, content):
    if content == "truncated":
        buffer = io.BytesIO()
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)).save(
            buffer, format="PNG"
        )
        content = buffer.getvalue()[: len(buffer.getvalue()) // 2]
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(inputs.UploadError) as info:
        inputs.read_upload(guided, path)
    assert "\n" not in str(info.value) and str(info.value).startswith("bad.png")


def test_held_out_images_come_from_the_runs_dataset_not_its_training_stream(shapes_model):
    from keras_gvae import data

    config = inputs.run_config(pretrained_path("guided_shapes"))
    images = inputs.held_out_images(shapes_model, config, count=8)
    assert images.shape == (8, 64, 64, 1)
    assert set(np.unique(images)) == {0.0, 1.0}
    training = next(iter(data.load("shapes", batch_size=8, seed=config["seed"])))[0].numpy()
    assert not np.array_equal(images, training)


def test_held_out_images_of_a_folder_run_are_its_held_out_fraction(guided, tmp_path):
    from keras_gvae.data import split_held_out

    folder = tmp_path / "digits"
    folder.mkdir()
    pixels = {}
    for k in range(10):
        image = np.zeros((28, 28), np.uint8)
        image[k + 2 : k + 10, 4:20] = 255
        pixels[f"{k}.png"] = image
        png_file(folder / f"{k}.png", image)
    config = {"dataset": str(folder), "held_out": 0.2, "held_out_seed": 3, "seed": 0}
    config |= {"image_size": [28, 28], "color_mode": "grayscale"}
    images = inputs.held_out_images(guided, config, count=64)
    _, held = split_held_out(sorted(pixels), 0.2, 3)
    expected = {pixels[name].tobytes() for name in held}
    assert {(image[..., 0] * 255).round().astype(np.uint8).tobytes() for image in images} == (
        expected
    )


def test_held_out_images_of_a_dataset_without_its_files_are_one_line(guided, tmp_path):
    config = {"dataset": "mnist", "data_dir": str(tmp_path / "nowhere"), "seed": 0}
    with pytest.raises(inputs.HeldOutError) as info:
        inputs.held_out_images(guided, config)
    message = str(info.value)
    assert "\n" not in message and "'mnist'" in message and "pass data_dir= with" in message
    assert info.value.parameter == "data_dir" and "--" not in message  # the CLI names flags


def test_a_model_without_a_config_has_no_held_out_images(guided):
    with pytest.raises(inputs.HeldOutError, match="no config.json"):
        inputs.held_out_images(guided, None)


# === The command ===


def test_without_gradio_the_command_names_the_install_in_one_line(monkeypatch, capsys):
    from keras_gvae.cli.main import main

    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio raises ImportError
    assert main(["explore", "guided_shapes"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("gvae explore: error: ")
    assert 'pip install "keras_gvae[explore]"' in err


def test_the_command_serves_a_pretrained_model_by_name(shapes_model, monkeypatch):
    import contextlib

    import httpx

    from keras_gvae.cli import explore
    from keras_gvae.cli.main import main
    from keras_gvae.explore import ui

    port = ui.free_port()
    served = {}

    def fetch_then_stop(url):
        served["url"] = url
        served["page"] = httpx.get(url, timeout=30)
        raise KeyboardInterrupt  # Ctrl-C

    monkeypatch.setattr(explore, "wait", fetch_then_stop)
    # Not capsys: uvicorn's logging set-up closes the handlers' streams that are not the
    # current sys.stderr (absl's, opened on pytest's), so sys.stderr stays as it is.
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["explore", "guided_shapes", "--port", str(port)]) == 130
    assert f"at http://127.0.0.1:{port}/" in out.getvalue()
    assert served["page"].status_code == 200 and "guided_shapes" in served["page"].text
    with pytest.raises(httpx.ConnectError):  # closed after Ctrl-C
        httpx.get(served["url"], timeout=5)


def test_the_commands_page_names_the_data_dir_flag_when_the_runs_files_are_missing(
    guided, tmp_path, monkeypatch
):
    from keras_gvae.cli.main import main
    from keras_gvae.explore import ui

    run = tmp_path / "run"
    run.mkdir()
    guided.save(run / "model.keras")
    (run / "config.json").write_text('{"dataset": "mnist", "data_dir": "nowhere", "seed": 0}')
    pages = []

    def keep_then_stop(page, **kwargs):
        pages.append(page)
        raise KeyboardInterrupt  # Ctrl-C before serving

    monkeypatch.setattr(ui, "launch", keep_then_stop)
    assert main(["explore", str(run), "--port", str(ui.free_port())]) == 130
    (message,) = [b.value for b in pages[0].blocks.values() if b.elem_id == "message"]
    assert message.startswith("**held-out:** no held-out images of 'mnist'")
    assert "; pass --data-dir with its files; started from the prior's draw of seed 0" in message


def test_a_port_in_use_names_the_parameters_that_choose_the_address():
    import socket

    from keras_gvae.explore import ui

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError) as info:
            ui.check_port("127.0.0.1", port)
    assert str(info.value).startswith(f"cannot serve on 127.0.0.1:{port} (")
    assert str(info.value).endswith(
        "expected a free port (port=) on an address of this machine (host=)"
    )
    assert info.value.parameter == ("port", "host")


def test_the_command_refuses_a_port_in_use_before_loading(capsys):
    import socket

    from keras_gvae.cli.main import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["explore", "no_such_model", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"gvae explore: error: cannot serve on 127.0.0.1:{port}")
    assert "--port" in err and len(err.splitlines()) == 1
    assert err.endswith("expected a free port (--port) on an address of this machine (--host)")


def test_the_command_refuses_an_unknown_name_listing_the_known_ones(capsys):
    from keras_gvae.cli.main import main

    assert main(["explore", "no_such_model"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gvae explore: error: unknown pretrained model 'no_such_model'")
    assert "guided_shapes" in err and len(err.splitlines()) == 1


# === The server, driven by gradio_client ===


@pytest.fixture(scope="module")
def server(shapes_model):
    from keras_gvae.explore import ui

    run_dir = pretrained_path("guided_shapes")
    held_out = functools.partial(
        inputs.held_out_images, shapes_model, inputs.run_config(run_dir), count=8
    )
    page = ui.build_app(shapes_model, held_out=held_out, title="guided_shapes")
    url = ui.launch(page, port=ui.free_port())
    yield url
    page.close()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)


def shown(path):
    return np.asarray(Image.open(path).convert("RGB"))


def test_a_slider_change_returns_the_decoded_image(client, shapes_model):
    code = app.slider_code(app.encode_image(shapes_model, inputs_image(shapes_model)))
    first = client.predict(*code, api_name="/update")
    moved = list(code)
    moved[0] = 1.5
    second = client.predict(*moved, api_name="/update")
    assert not np.array_equal(shown(first[0]), shown(second[0]))
    for path, render in zip(second, (shapes_model.decode, shapes_model.sub_decode), strict=True):
        expected = app.to_display(render(np.float32([moved]))[0])
        assert np.abs(shown(path).astype(int) - expected).max() <= 1


def inputs_image(model):
    config = inputs.run_config(pretrained_path("guided_shapes"))
    return inputs.held_out_images(model, config, count=1)[0]


def test_the_scale_slider_grows_the_sprite(client):
    code = [0.0] * 10
    areas = []
    for value in (0.0, 1.0, 2.0):
        code[0] = value
        areas.append(shown(client.predict(*code, api_name="/update")[0]).sum())
    assert areas[0] < areas[1] < areas[2]


def test_an_upload_sets_the_sliders_to_its_code(client, shapes_model, tmp_path):
    from gradio_client import handle_file

    pixels = np.zeros((64, 64), np.uint8)
    pixels[20:44, 24:40] = 255
    path = png_file(tmp_path / "sprite.png", pixels)
    message, _, *rest = client.predict(handle_file(str(path)), api_name="/upload")
    assert message == "started from your image sprite.png"
    expected = app.slider_code(app.encode_image(shapes_model, pixels[..., None] / 255.0))
    np.testing.assert_allclose(rest[:10], expected, atol=0.011)


def test_a_bad_upload_shows_one_line_in_the_page(client, tmp_path):
    from gradio_client import handle_file

    path = tmp_path / "notes.png"
    path.write_text("not an image")
    message, *_ = client.predict(handle_file(str(path)), api_name="/upload")
    assert message.startswith("**upload:** notes.png is not an image")
    assert "\n" not in message
    # The server still answers.
    assert client.predict(*([0.0] * 10), api_name="/update")[0]


def test_held_out_and_prior_starts_set_the_sliders(client, shapes_model):
    message, _, *rest = client.predict(1, api_name="/held_out")
    assert message == "started from held-out image 1"
    message, image, *rest = client.predict(5, api_name="/prior")
    assert message == "started from the prior's draw of seed 5"
    assert rest[:10] == app.slider_code(app.prior_code(shapes_model, 5))


def test_the_walk_endpoint_draws_the_chosen_unit(client):
    walk = shown(client.predict("z0 (scale)", *([0.0] * 10), api_name="/walk"))
    assert walk.shape[1] > 2 * 9 * 64  # nine values, two decoders


def test_the_latency_benchmark_runs(tmp_path):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "explore_latency.py"
    spec = importlib.util.spec_from_file_location("explore_latency", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "latency.md"
    text = module.main(
        ["--models", "guided_shapes", "--moves", "2", "--no-browser", "--out", str(out)]
    )
    assert out.read_text() == text
    assert "| guided_shapes | GuidedVAE | 10 | main, sub |" in text


# === The page in a headless browser ===


def test_moving_a_slider_in_the_browser_changes_the_image(server, tmp_path):
    from keras_gvae.explore import browser

    try:
        browser.find_chromium()
    except browser.BrowserUnavailable as err:
        pytest.skip(f"no headless browser here: {err}")
    move = browser.move_slider_and_capture(
        server, unit=0, value=1.5, screenshot=tmp_path / "page.png"
    )
    assert move.value == 1.5
    assert move.source_after != move.source_before
    assert move.pixels_after != move.pixels_before
    assert Image.open(tmp_path / "page.png").size[0] == browser.WINDOW[0]
