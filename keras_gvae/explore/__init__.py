"""``gvae explore``: an interactive latent explorer in the browser.

- `keras_gvae.explore.app`: the logic as plain functions (decode a code, label the units,
  walk one unit);
- `keras_gvae.explore.inputs`: the starting images (an upload, held-out images);
- `keras_gvae.explore.ui`: the Gradio page and its server (the ``explore`` extra:
  ``pip install "keras_gvae[explore]"``);
- `keras_gvae.explore.browser`: a headless Chromium on the page (screenshots, tests).

Only ``ui`` and ``browser`` import the optional packages, when they are used.
"""
