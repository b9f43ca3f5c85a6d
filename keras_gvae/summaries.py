"""TensorBoard summaries written with TensorFlow alone.

``tf.summary.scalar`` and ``tf.summary.image`` are implemented by the ``tensorboard``
package, which TensorFlow 2.21 no longer installs. These write the same events (the
scalar and image plugins' tensors and metadata) with ``tf.summary.write``, so training
logs without it and ``tensorboard --logdir`` (``pip install tensorboard``) shows them.
Call them inside ``writer.as_default()`` of a ``tf.summary.create_file_writer``.
"""

from __future__ import annotations

import io

import numpy as np


def _metadata(plugin, data_class):
    from tensorflow.core.framework import summary_pb2

    # The plugins' own content (ScalarPluginData / ImagePluginData, version 0) serializes
    # to empty bytes.
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin),
        data_class=data_class,
    )


def scalar(tag, value, step):
    """One float32 value, shown on TensorBoard's Scalars tab."""
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    metadata = _metadata("scalars", summary_pb2.DATA_CLASS_SCALAR)
    return tf.summary.write(
        tag, tf.constant(float(value), tf.float32), step=step, metadata=metadata
    )


def png_bytes(image):
    """A PIL image or a uint8 array (H, W[, C]) encoded as PNG."""
    from PIL import Image

    if not isinstance(image, Image.Image):
        image = Image.fromarray(np.asarray(image, np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return image.size, buffer.getvalue()


def image(tag, picture, step):
    """One image (a PIL image or a uint8 array), shown on TensorBoard's Images tab.

    The tensor is the image plugin's: ``[width, height, png]`` as strings.
    """
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    (width, height), png = png_bytes(picture)
    metadata = _metadata("images", summary_pb2.DATA_CLASS_BLOB_SEQUENCE)
    tensor = tf.constant([str(width).encode(), str(height).encode(), png], tf.string)
    return tf.summary.write(tag, tensor, step=step, metadata=metadata)


def read_events(log_dir):
    """Every summary value under ``log_dir`` (recursively), for tests and quick looks.

    Returns ``{(subfolder, tag): [(step, value), ...]}`` in file order, where ``subfolder``
    is the events file's folder relative to ``log_dir`` ("train", "validation", "." ...),
    a scalar's value is a float and an image's is its decoded uint8 array (H, W, 3).
    """
    from pathlib import Path

    import tensorflow as tf

    log_dir = Path(log_dir)
    found = {}
    for path in sorted(log_dir.rglob("events.out.tfevents.*")):
        folder = str(path.parent.relative_to(log_dir))
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                plugin = value.metadata.plugin_data.plugin_name
                array = tf.make_ndarray(value.tensor)
                if plugin == "images":
                    content = tf.io.decode_png(array[2], channels=3).numpy()
                elif plugin == "scalars":
                    content = float(array)
                else:
                    content = array
                found.setdefault((folder, value.tag), []).append((event.step, content))
    return found
