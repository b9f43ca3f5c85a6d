"""SavedModel export with named serving signatures, laid out for TensorFlow Serving."""

from __future__ import annotations

import json
import numbers
from pathlib import Path

import keras
import tensorflow as tf

from keras_gvae.io import atomic_directory, check_output, write_json
from keras_gvae.validation import signature_images, signature_input, signature_unit

METADATA_FILE = "keras_gvae.json"
"""Name of the metadata file written to ``<version>/assets.extra/``."""


def signature_names(model) -> list[str]:
    """The signatures :func:`export_saved_model` writes for ``model``, in order."""
    names = ["serving_default", "reconstruct", "encode", "decode", "traverse"]
    if "sub" in model.decoders():
        names.append("sub_decode")
    if model.attributes:
        names.append("attributes")
    return names + ["metadata"]


def model_metadata(model) -> dict:
    """What a client needs to build requests: shapes, names and the signature list."""
    return {
        "model_class": type(model).__name__,
        "latent_dim": int(model.latent_dim),
        "image_shape": [int(s) for s in model.image_shape],
        "likelihood": str(getattr(model, "likelihood", "bernoulli")),
        "attributes": [str(a) for a in getattr(model, "attributes", None) or []],
        "parameter_names": [str(p) for p in getattr(model, "parameter_names", ())],
        "signatures": signature_names(model),
    }


def export_saved_model(model, path, version=1, overwrite=False) -> Path:
    """Writes ``model`` as a SavedModel at ``path/<version>/`` with named signatures.

    The layout is the one TensorFlow Serving expects under a model's ``base_path``
    (numbered version directories). Every signature takes and returns float32 tensors
    with a dynamic batch size; inputs and outputs are named:

    - ``serving_default`` and ``reconstruct``: ``x`` (batch, H, W, C) ->
      ``reconstruction`` (batch, H, W, C) in [0, 1] (``model(x)``, the decoded posterior
      mean), ``z_mean``, ``z_log_var`` (batch, latent_dim).
    - ``encode``: ``x`` -> ``z_mean``, ``z_log_var``.
    - ``decode``: ``z`` (batch, latent_dim) -> ``image`` (batch, H, W, C) in [0, 1].
    - ``traverse``: ``z`` (batch, latent_dim), ``unit`` (int32 scalar), ``values`` (V,)
      -> ``images`` (batch, V, H, W, C): each base code with ``z[:, unit]`` set to each
      value, decoded (the sweep of :meth:`VAE.traverse`, for one unit).
    - ``sub_decode`` (models with a "sub" decoder in ``decoders()``, e.g. GuidedVAE):
      ``z`` -> ``image`` (the sub-decoder's rendering), ``content`` (the unwarped template) and one
      (batch,) output per transform parameter (``scale_x``, ``angle``, ...).
    - ``attributes`` (models with ``attributes``, SupervisedGuidedVAE): ``z`` ->
      ``probabilities`` (batch, K).
    - ``metadata``: no inputs -> ``model_class``, ``latent_dim``, ``image_shape``,
      ``likelihood``, ``attributes`` (the K attribute names, in column order of
      ``probabilities``), ``parameter_names`` and ``signatures``.

    The same metadata is written as JSON to ``<version>/assets.extra/keras_gvae.json``
    (TF Serving ignores ``assets.extra`` apart from warm-up files).

    Inputs are validated by the signatures themselves (:mod:`keras_gvae.validation`): the
    TensorSpecs reject wrong ranks, sizes and dtypes, and graph assertions reject
    non-finite values, ``unit`` outside ``[0, latent_dim)`` and, for the Bernoulli
    likelihood, images outside [0, 1]; each message starts with ``keras_gvae:``.

    The version directory is assembled under a temporary sibling name
    (``.<version>.partial-<id>``, which TF Serving ignores) and renamed when complete,
    so a failed export leaves nothing behind.

    Args:
        model: a keras_gvae model (``VAE``, ``GuidedVAE`` or a subclass).
        path: str or Path, the model's base directory (TF Serving's ``base_path``).
        version: int >= 1, the version sub-directory. Defaults to 1.
        overwrite: bool, replace an existing version directory that keras_gvae wrote (one
            without its marker file is never replaced). Defaults to False.

    Returns:
        The Path of the version directory, ``path/<version>``.

    Raises:
        FileExistsError: ``path/<version>`` exists and ``overwrite`` is False.
        ValueError: ``version`` is not a positive int.

    Example:
    >>> out = export_saved_model(model, "/models/gvae", version=1)  # doctest: +SKIP
    >>> decode = tf.saved_model.load(str(out)).signatures["decode"]  # doctest: +SKIP
    >>> decode(z=tf.zeros((2, model.latent_dim)))["image"].shape  # doctest: +SKIP
    TensorShape([2, 64, 64, 1])
    """
    if isinstance(version, bool) or not isinstance(version, numbers.Integral) or version < 1:
        raise ValueError(
            f"version must be a positive int (TF Serving's version number); got {version!r}"
        )
    target = Path(path) / str(int(version))
    check_output(target, overwrite=overwrite, kind="saved_model")  # before the slow build
    archive = build_export_archive(model)
    with atomic_directory(target, overwrite=overwrite, kind="saved_model") as tmp:
        archive.write_out(str(tmp), verbose=False)
        write_json(tmp / "assets.extra" / METADATA_FILE, model_metadata(model))
    return target


def read_metadata(version_dir) -> dict:
    """The ``assets.extra/keras_gvae.json`` of an exported version directory."""
    return json.loads((Path(version_dir) / "assets.extra" / METADATA_FILE).read_text())


def build_export_archive(model) -> keras.export.ExportArchive:
    """A ``keras.export.ExportArchive`` holding every signature of :func:`export_saved_model`."""
    height, width, channels = model.image_shape
    latent_dim = int(model.latent_dim)
    x_spec = tf.TensorSpec((None, height, width, channels), tf.float32, name="x")
    z_spec = tf.TensorSpec((None, latent_dim), tf.float32, name="z")
    bernoulli = getattr(model, "likelihood", "bernoulli") == "bernoulli"

    def reconstruct(x):
        z_mean, z_log_var = model.encode(signature_images(x, model.image_shape, bernoulli))
        return {
            "reconstruction": model.decode(z_mean),
            "z_mean": z_mean,
            "z_log_var": z_log_var,
        }

    def encode(x):
        z_mean, z_log_var = model.encode(signature_images(x, model.image_shape, bernoulli))
        return {"z_mean": z_mean, "z_log_var": z_log_var}

    def decode(z):
        return {"image": model.decode(signature_input(z, "z", (None, latent_dim)))}

    def traverse(z, unit, values):
        z = signature_input(z, "z", (None, latent_dim))
        values = signature_input(values, "values", (None,))
        unit = signature_unit(unit, latent_dim)
        mask = tf.one_hot(unit, latent_dim, dtype=z.dtype)  # (latent_dim,)
        # (batch, V, latent_dim): the base code everywhere but at `unit`, which takes each value.
        codes = z[:, None, :] * (1.0 - mask) + values[None, :, None] * mask
        images = model.decode(tf.reshape(codes, (-1, latent_dim)))
        shape = tf.concat([tf.shape(codes)[:2], [height, width, channels]], axis=0)
        return {"images": tf.reshape(images, shape)}

    def sub_decode(z):
        z = signature_input(z, "z", (None, latent_dim))
        outputs = {"image": model.sub_decode(z), "content": model.content(z)}
        outputs.update(
            {k: tf.cast(v, tf.float32) for k, v in model.transform_parameters(z).items()}
        )
        return outputs

    def attributes(z):
        probabilities = model.attribute_probabilities(signature_input(z, "z", (None, latent_dim)))
        return {"probabilities": tf.cast(probabilities, tf.float32)}

    info = model_metadata(model)

    def metadata():
        return {
            "model_class": tf.constant(info["model_class"]),
            "latent_dim": tf.constant(info["latent_dim"], tf.int32),
            "image_shape": tf.constant(info["image_shape"], tf.int32),
            "likelihood": tf.constant(info["likelihood"]),
            "attributes": tf.constant(
                info["attributes"], tf.string, shape=(len(info["attributes"]),)
            ),
            "parameter_names": tf.constant(
                info["parameter_names"], tf.string, shape=(len(info["parameter_names"]),)
            ),
            "signatures": tf.constant(info["signatures"], tf.string),
        }

    endpoints = {
        "serving_default": (reconstruct, [x_spec]),
        "reconstruct": (reconstruct, [x_spec]),
        "encode": (encode, [x_spec]),
        "decode": (decode, [z_spec]),
        "traverse": (
            traverse,
            [
                z_spec,
                tf.TensorSpec((), tf.int32, name="unit"),
                tf.TensorSpec((None,), tf.float32, name="values"),
            ],
        ),
        "sub_decode": (sub_decode, [z_spec]),
        "attributes": (attributes, [z_spec]),
        "metadata": (metadata, []),
    }
    archive = keras.export.ExportArchive()
    # No archive.track(model): add_endpoint tracks the variables each endpoint uses, and
    # tracking the model as well stored every weight twice (Keras 3.15), doubling the size.
    for name in signature_names(model):
        fn, specs = endpoints[name]
        archive.add_endpoint(name, fn, input_signature=specs)
    return archive
