"""Entry point of the ``gvae`` console script, and its one error boundary.

Parsing (and ``--help``) imports no TensorFlow. Every expected error of a command becomes
one line on stderr, ``gvae COMMAND: error: ...``, and exit code 2; Ctrl-C (SIGINT) and
SIGTERM end a command the same way, with exit codes 130 and 143, after its partial outputs
are cleaned up (a trained model is kept and named).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading
import warnings

# Sub-command name -> module with HELP, add_arguments(parser) and run(args) -> exit code.
COMMANDS = {
    "train": "keras_gvae.cli.train",
    "traverse": "keras_gvae.cli.traverse",
    "evaluate": "keras_gvae.cli.evaluate",
    "export": "keras_gvae.cli.export",
    "explore": "keras_gvae.cli.explore",
}
EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED = 2, 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that the same clean-up runs."""


class HelpFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" to every option's help that has a default worth showing."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (
            "%(default)" in text
            or "default:" in text
            or not action.option_strings
            or action.default in (None, False, [], argparse.SUPPRESS)
        ):
            return text
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"


def build_parser():
    parser = argparse.ArgumentParser(
        prog="gvae",
        description="Guided Variational Autoencoders (Ding et al., CVPR 2020) in Keras 3.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(
            name, help=module.HELP, description=module.HELP, formatter_class=HelpFormatter
        )
        module.add_arguments(command)
        command.set_defaults(run=module.run, command_parser=command)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # named with the command's usage, not the top level's
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.argv = argv
    prefix = f"gvae {args.command}"
    with _sigterm_as_interrupt(), _one_line_warnings(prefix):
        try:
            _import_tensorflow_quietly()
            return args.run(args)
        except KeyboardInterrupt as err:
            how = "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted"
            kept = getattr(err, "kept_partial", None)
            done = f"the unfinished output is kept in {kept}" if kept else "nothing was written"
            print(f"{prefix}: {how}; {done}", file=sys.stderr)
            return EXIT_TERMINATED if isinstance(err, Terminated) else EXIT_INTERRUPTED
        except Exception as err:
            if not isinstance(err, expected_errors()):
                raise
            print(
                f"{prefix}: error: {spell_flags(one_line(err), err)}{_kept_note(err)}",
                file=sys.stderr,
            )
            return EXIT_ERROR


def expected_errors():
    """The error classes a command may raise for bad input or a bad environment: bad values
    and files (ValueError: ModelLoadError, DatasetError...), the file system (OSError:
    OutputExistsError, PermissionError, no space...), failed steps (RuntimeError: export
    verification, a missing extra) and TensorFlow's run-time checks (NaN inputs...)."""
    classes = [ValueError, OSError, RuntimeError]
    tf = sys.modules.get("tensorflow")
    errors = getattr(tf, "errors", None)
    if errors is not None and hasattr(errors, "OpError"):
        classes.append(errors.OpError)
    return tuple(classes)


def one_line(err):
    """The message of ``err`` on one line (TensorFlow's: its first line, without the graph)."""
    text = getattr(err, "message", None)
    text = str(text if isinstance(text, str) else err).strip()
    if type(err).__module__.startswith("tensorflow"):
        text = text.splitlines()[0] if text else type(err).__name__
    text = " ".join(text.split())
    if isinstance(err, OSError) and err.filename and str(err.filename) not in text:
        text = f"{text}: {err.filename}"
    return text or type(err).__name__


# Parameters whose flag is not ``--`` + the name with dashes.
FLAGS = {"model_kwargs": "--model-arg", "representative_data": "--images"}


def spell_flags(text, err):
    """``text``, the message of ``err``, with the parameters ``err`` names (its
    ``parameter``, see `keras_gvae.errors.ParameterError`) written as the flags the user
    typed: ``overwrite=True`` -> ``--overwrite``, ``learning_rate=inf`` -> ``--learning-rate
    inf``, ``data_dir=`` -> ``--data-dir``, a model argument ``content_beta='abc'`` ->
    ``--model-arg content_beta='abc'``. A parameter not written so is named at the end,
    `` (--flag)``."""
    import re

    from keras_gvae.errors import parameters_of

    within = getattr(err, "within", None)
    unnamed = []
    for parameter in parameters_of(err):
        if within:
            flag, joiner = f"{FLAGS.get(within, _dashed(within))} {parameter}", "="
        else:
            flag, joiner = FLAGS.get(parameter, _dashed(parameter)), " "

        def flagged(match, flag=flag, joiner=joiner):
            if match.group(1) or not match.group(2):  # name=True, or a bare name=
                return flag
            return flag + joiner + match.group(2)

        pattern = rf"(?<![\w.-]){re.escape(parameter)}=(True\b)?([^\s,;)]*)"
        text, found = re.subn(pattern, flagged, text)
        if not found:
            unnamed.append(flag)
    return text + "".join(f" ({flag})" for flag in unnamed)


def _dashed(parameter):
    return "--" + parameter.replace("_", "-")


def _kept_note(err):
    """What the unfinished output kept by a failure holds, and how to go on with it."""
    kept = getattr(err, "kept_partial", None)
    if not kept:
        return ""
    from pathlib import Path

    if (Path(kept) / "backup").is_dir():  # a run's training backups (training.BACKUP)
        if isinstance(err, _non_finite_loss_error()):
            return f" (nothing was deleted: the unfinished run is kept in {kept})"
        if (Path(kept) / "model.keras").exists():  # trained; a later step failed
            return (
                f" (nothing was deleted: the trained run is kept in {kept}, with its "
                "model.keras; the same command goes on from it)"
            )
        return (
            f" (nothing was deleted: the unfinished run is kept in {kept}; the same command "
            f"goes on from its last backup, as does gvae train --resume {_quote(kept)})"
        )
    if not (Path(kept) / "model.keras").exists() and (Path(kept) / "best.keras").exists():
        return f" (nothing was deleted: {kept} keeps best.keras)"
    return f" (nothing was deleted: the output is kept in {kept}; rename it to use it or remove it)"


def _non_finite_loss_error():
    from keras_gvae.callbacks import NonFiniteLossError

    return NonFiniteLossError


def _quote(path):
    import shlex

    return shlex.quote(str(path))


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM raises `Terminated` (once; a second one during the clean-up is ignored)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = []

    def handler(signum, frame):
        if not raised:
            raised.append(signum)
            raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _one_line_warnings(prefix):
    """keras_gvae's own warnings (stale partial outputs) as ``gvae CMD: warning: ...``."""
    from keras_gvae.io import StalePartialWarning

    with warnings.catch_warnings():
        warnings.simplefilter("always", StalePartialWarning)
        show = warnings.showwarning

        def one_line_show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, StalePartialWarning):
                print(f"{prefix}: warning: {message}", file=sys.stderr)
            else:
                show(message, category, filename, lineno, file, line)

        warnings.showwarning = one_line_show
        yield


def _import_tensorflow_quietly():
    """Imports TensorFlow with its start-up chatter (CUDA probing on a machine without a GPU,
    oneDNN notes, printed by C++ before any log level applies) kept off the terminal; shown
    if this fails."""
    from keras_gvae._startup import import_tensorflow_quietly

    import_tensorflow_quietly()


if __name__ == "__main__":
    sys.exit(main())
