"""TensorFlow imported without its start-up chatter on the terminal.

TensorFlow's C++ start-up lines (oneDNN notes, CUDA probing on a machine without a GPU) are
written to file descriptor 2 before any log level applies, so they are kept off it while
TensorFlow is imported, and shown if the import fails.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import tempfile


@contextlib.contextmanager
def stderr_captured():
    """Keeps what the block writes to file descriptor 2 (Python's and C++'s) off it; writes
    it there after all if the block fails."""
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2 (a detached process): nothing to keep off
        yield
        return
    with tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            sys.stderr.flush()
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def import_tensorflow_quietly(*modules):
    """Imports TensorFlow, lists its GPUs (the CUDA probing, whose failure is logged) and
    imports ``modules`` (e.g. "keras"), with their start-up lines kept off the terminal.
    Does nothing when TensorFlow is already imported."""
    if "tensorflow" in sys.modules:
        return
    with stderr_captured():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
        for name in modules:
            importlib.import_module(name)
