"""``gvae explore``: serve the latent explorer of a model on a local address."""

from __future__ import annotations

from keras_gvae.cli.arguments import positive_int

HELP = (
    "explore a model's latent units in the browser: a slider per unit, live images "
    '(needs pip install "keras_gvae[explore]")'
)


def add_arguments(parser):
    parser.add_argument(
        "model",
        help="a .keras file, a run directory, or a pretrained model's name (e.g. guided_shapes)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to serve on; 0.0.0.0 opens the page (no login) to the network",
    )
    parser.add_argument("--port", type=positive_int, default=7860, help="port to serve on")
    parser.add_argument(
        "--data-dir", default=None, help="where the run's dataset files are (held-out images)"
    )


def run(args):
    from keras_gvae.cli.main import spell_flags
    from keras_gvae.explore import ui
    from keras_gvae.pretrained import resolve_model

    ui.require_gradio()  # before the model is resolved and loaded
    ui.check_port(args.host, args.port)
    # The page names --data-dir where the library names data_dir=.
    page, _ = ui.page_for(resolve_model(args.model), data_dir=args.data_dir, spell=spell_flags)
    url = ui.launch(page, host=args.host, port=args.port)
    print(f"gvae explore: serving {page.title} at {url} (Ctrl-C stops it)", flush=True)
    try:
        wait(url)
    finally:
        page.close()
    return 0


def wait(url):
    """Blocks while the server at ``url`` runs (until Ctrl-C or SIGTERM)."""
    import time

    while True:
        time.sleep(1.0)
