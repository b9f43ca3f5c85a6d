"""The latent explorer's Gradio page and its server (needs the ``explore`` extra).

:func:`build_app` lays out the functions of `keras_gvae.explore.app` and
`keras_gvae.explore.inputs`; :func:`launch` serves the page on one address. Every callback
catches the errors a user can cause (a bad upload, a dataset without files) and shows them
as one line in the page.
"""

from __future__ import annotations

import os

from keras_gvae.explore import app, inputs

INSTALL = 'pip install "keras_gvae[explore]"'
# The endpoint a slider change calls (also the gradio_client's api_name).
UPDATE_API = "update"
# The images come at the model's size (64 x 64): shown larger, with sharp pixels.
PAGE_CSS = """
.decoded img { image-rendering: pixelated; object-fit: contain; width: 100%; height: 100%; }
"""


def require_gradio():
    """Imports gradio; a RuntimeError naming the install command when it is missing."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio
    except ImportError as err:
        raise RuntimeError(
            f"the explorer needs gradio, which is not installed ({err}); install it with {INSTALL}"
        ) from err
    return gradio


class Starts:
    """Where a code can start: a prior draw, a held-out image, an upload. Each returns
    ``(image or None, code, what it was)``; held-out images are read once, on first use."""

    def __init__(self, model, held_out):
        self.model = model
        self._held_out = held_out
        self._images = None

    def held_out(self, index):
        if self._images is None:
            if self._held_out is None:
                raise inputs.HeldOutError("no held-out images for this model")
            self._images = self._held_out()
        index = int(index or 0) % len(self._images)
        image = self._images[index]
        return image, app.encode_image(self.model, image), f"held-out image {index}"

    def upload(self, path):
        image = inputs.read_upload(self.model, path)
        name = os.path.basename(str(path))
        return image, app.encode_image(self.model, image), f"your image {name}"

    def prior(self, seed):
        seed = int(seed or 0)
        return None, app.prior_code(self.model, seed), f"the prior's draw of seed {seed}"


def build_app(model, held_out=None, title="keras_gvae explorer", start="held_out"):
    """The explorer's page for ``model``, as a ``gradio.Blocks``.

    Args:
        model: a keras_gvae model.
        held_out: optional callable returning held-out images (N, H, W, C) (e.g. a
            ``functools.partial`` of `keras_gvae.explore.inputs.held_out_images`).
        title: str, the page's heading.
        start: "held_out" (held-out image 0, or a prior draw when there is none) or "prior"
            (the prior draw of seed 0): the code the page opens with.
    """
    if start not in ("held_out", "prior"):
        raise ValueError(f"start must be 'held_out' or 'prior'; got {start!r}")
    gr = require_gradio()
    render = app.make_renderer(model)
    starts = Starts(model, held_out)
    labels = app.unit_labels(model)
    decoders = list(model.decoders())
    supervised = bool(getattr(model, "attributes", ()))

    def frame_outputs(code):
        return app.slider_update(model, render, code)

    def begin(kind, argument):
        """Outputs of a start: message, input image, sliders, images (and attributes)."""
        try:
            image, code, what = getattr(starts, kind)(argument)
        except (inputs.UploadError, inputs.HeldOutError) as err:
            return [f"**{kind.replace('_', '-')}:** {err}", *[gr.skip()] * (len(started) - 1)]
        code = app.slider_code(code)
        shown = None if image is None else app.to_display(image)
        return [f"started from {what}", shown, *code, *frame_outputs(code)]

    try:
        first_image, first_code, first = getattr(starts, start)(0)
        message = f"started from {first}"
    except inputs.HeldOutError as err:
        first_image, first_code, first = starts.prior(0)
        message = f"**held-out:** {err}; started from {first}"
    first_code = app.slider_code(first_code)
    opening = frame_outputs(first_code)

    with gr.Blocks(title=title) as page:
        gr.Markdown(f"## {title}")
        with gr.Row():
            with gr.Column(scale=3):
                with gr.Row():
                    images = [
                        gr.Image(
                            value,
                            label=f"{name} decoder",
                            type="numpy",
                            format="png",
                            interactive=False,
                            height=300,
                            elem_id=f"image-{name}",
                            elem_classes=["decoded"],
                        )
                        for name, value in zip(decoders, opening, strict=False)
                    ]
                table = gr.Markdown(opening[-1], elem_id="attributes") if supervised else None
                note = gr.Markdown(message, elem_id="message")
                with gr.Row(equal_height=True):
                    seed = gr.Number(0, label="seed", precision=0, minimum=0, min_width=80)
                    prior_button = gr.Button("start from a prior sample", elem_id="prior")
                    index = gr.Number(0, label="image", precision=0, minimum=0, min_width=80)
                    held_out_button = gr.Button("start from a held-out image", elem_id="held-out")
                with gr.Row(equal_height=True):
                    upload = gr.File(
                        label="start from your image", type="filepath", height=140, elem_id="upload"
                    )
                    shown_input = gr.Image(
                        None if first_image is None else app.to_display(first_image),
                        label="the image encoded",
                        type="numpy",
                        format="png",
                        interactive=False,
                        height=140,
                        elem_id="input",
                        elem_classes=["decoded"],
                    )
            with gr.Column(scale=2, min_width=280):
                sliders = [
                    gr.Slider(
                        app.SLIDER_MIN,
                        app.SLIDER_MAX,
                        value=value,
                        step=app.SLIDER_STEP,
                        label=label,
                        elem_id=f"z{unit}",
                    )
                    for unit, (label, value) in enumerate(zip(labels, first_code, strict=True))
                ]
        with gr.Accordion("walk: one unit swept around the current code", open=True):
            with gr.Row(equal_height=True):
                unit = gr.Dropdown(labels, value=labels[0], label="unit", scale=3)
                walk_button = gr.Button("walk", elem_id="walk", scale=1)
            walk_image = gr.Image(
                label="walk", type="pil", format="png", interactive=False, elem_id="walk-image"
            )

        frame = [*images, *([table] if supervised else [])]
        started = [note, shown_input, *sliders, *frame]

        def update(*values):
            return frame_outputs(values)

        def walk(label, *values):
            return app.walk_figure(model, values, labels.index(label))

        for k, slider in enumerate(sliders):
            slider.input(
                update,
                sliders,
                frame,
                api_name=UPDATE_API if k == 0 else None,
                api_visibility="public" if k == 0 else "private",
                trigger_mode="always_last",
                show_progress="hidden",
                queue=False,  # one HTTP request per change, no queue and event stream
            )
        prior_button.click(lambda s: begin("prior", s), seed, started, api_name="prior")
        held_out_button.click(lambda i: begin("held_out", i), index, started, api_name="held_out")
        upload.upload(lambda f: begin("upload", f), upload, started, api_name="upload")
        walk_button.click(walk, [unit, *sliders], walk_image, api_name="walk")
        unit.input(walk, [unit, *sliders], walk_image, api_visibility="private")
    return page


def page_for(path, data_dir=None, spell=None):
    """``(page, model)``: the explorer of the model at ``path`` (a ``.keras`` file or a run
    directory), its held-out images read from the run's dataset (``config.json``).

    ``spell``, optional, a function ``(message, error) -> message`` that words an error
    naming a parameter (``data_dir=``) the way a front end spells it; `gvae explore` passes
    `keras_gvae.cli.main.spell_flags`, so that its page names the flag. Default: as raised.
    """
    import functools
    from pathlib import Path

    from keras_gvae.saving import load_model

    require_gradio()  # before the model is loaded
    model = load_model(path, compile=False)
    run_dir = Path(path) if Path(path).is_dir() else Path(path).parent
    held_out = functools.partial(
        inputs.held_out_images,
        model,
        inputs.run_config(path),
        run_dir=run_dir,
        data_dir=data_dir,
    )
    if spell is not None:
        held_out = _worded(held_out, spell)
    title = f"{run_dir.resolve().name}: {type(model).__name__}, {model.latent_dim} latent units"
    return build_app(model, held_out=held_out, title=title), model


def _worded(held_out, spell):
    """``held_out`` whose `inputs.HeldOutError` messages are worded by ``spell``."""

    def read():
        try:
            return held_out()
        except inputs.HeldOutError as err:
            raise inputs.HeldOutError(spell(str(err), err), parameter=err.parameter) from err

    return read


class AddressError(OSError):
    """An address that cannot be served on; ``parameter`` names the parameters that choose
    it (``("port", "host")``), as `keras_gvae.errors.ParameterError`'s does."""

    def __init__(self, message, parameter=("port", "host")):
        super().__init__(message)
        self.parameter = parameter


def check_port(host, port):
    """An `AddressError` (an OSError) naming the address when ``host:port`` cannot be served
    on (in use, or not an address of this machine)."""
    import socket

    with socket.socket() as probe:
        try:
            probe.bind((host, int(port)))
        except OSError as err:
            raise AddressError(
                f"cannot serve on {host}:{port} ({err.strerror or err}); expected a free port "
                "(port=) on an address of this machine (host=)"
            ) from None


def free_port(host="127.0.0.1"):
    """A TCP port free on ``host`` now (for tests and screenshots)."""
    import socket

    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def launch(page, host="127.0.0.1", port=7860, quiet=True):
    """Serves ``page`` on ``host:port`` in a background thread; returns its address."""
    gr = require_gradio()
    page.queue(default_concurrency_limit=1)
    _, url, _ = page.launch(
        server_name=host,
        server_port=int(port),
        prevent_thread_lock=True,
        share=False,
        inbrowser=False,
        quiet=quiet,
        ssr_mode=False,
        show_error=True,
        max_file_size="20mb",
        css=PAGE_CSS,
        # System fonts: the default theme's web fonts would be fetched from the internet.
        theme=gr.themes.Default(
            font=["ui-sans-serif", "system-ui", "sans-serif"],
            font_mono=["ui-monospace", "monospace"],
        ),
    )
    return url
