"""Ctrl-C and SIGTERM held until training reaches a point where Python code runs safely.

Python runs a signal handler between two bytecodes of the main thread, wherever that is. An
exception raised there (``KeyboardInterrupt``, or the ``gvae`` command's SIGTERM) can land
inside TensorFlow code that catches and drops errors, or that is not exception-safe: a
SIGTERM that arrived while TensorFlow built the model or traced the first step was lost (the
run went on and ignored the next one) or broke autograph's context stack (exit 1 and a
traceback). While `HeldSignals` is active, a signal is only recorded; `deliver` runs the
handler that was installed before, at a point chosen by the caller: the end of a training
step (`HeldSignals.callback`), between the stages of a run, and on leaving the block.
"""

from __future__ import annotations

import os
import signal
import threading

HELD = (signal.SIGINT, signal.SIGTERM)


class HeldSignals:
    """A context manager that holds ``signums`` (SIGINT and SIGTERM) until `deliver`.

    Delivering a held signal calls the handler that was installed when the block began
    (Python's SIGINT handler raises ``KeyboardInterrupt``); a signal whose action was the
    default ends the process as it would have. Outside the main thread, or for a signal
    that was ignored, nothing is held.

    Example:

    >>> with HeldSignals() as held:
    ...     pass  # a signal received here waits for held.deliver() or the end of the block
    """

    def __init__(self, signums=HELD):
        self.signums = tuple(signums)
        self.pending = []
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in self.signums:
                previous = signal.getsignal(signum)
                if previous in (signal.SIG_IGN, None):  # None: set outside Python
                    continue
                self._previous[signum] = previous
                signal.signal(signum, self._hold)
        return self

    def _hold(self, signum, frame):
        if signum not in self.pending:
            self.pending.append(signum)

    def deliver(self):
        """Runs the handlers of the signals received so far (in order of arrival)."""
        while self.pending:
            signum = self.pending.pop(0)
            handler = self._previous[signum]
            if handler == signal.SIG_DFL:
                self._restore()
                os.kill(os.getpid(), signum)  # the default action, now
            else:
                handler(signum, None)

    def _restore(self):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def __exit__(self, exc_type, exc, tb):
        self._restore()
        if exc_type is None:
            self.deliver()  # through the handlers of before the block, now back in place
        return False

    def callback(self):
        """A Keras callback that delivers the held signals at the end of every step."""
        import keras

        held = self

        class DeliverHeldSignals(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                held.deliver()

            def on_test_batch_end(self, batch, logs=None):
                held.deliver()

        return DeliverHeldSignals()
