"""Library messages name parameters; only ``keras_gvae/cli`` names flags (issue #25).

A message raised, printed, warned or logged by a module outside ``keras_gvae/cli`` that says
``--data-dir`` is wrong for a Python caller (there is no such flag in Python) and spells a
flag the CLI may not have. The library writes ``data_dir=`` (see
`keras_gvae.errors.ParameterError`) and ``gvae`` rewrites it as the flag
(`keras_gvae.cli.main.spell_flags`). Docstrings and comments may name flags for orientation:
only the text of messages is scanned.
"""

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "keras_gvae"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
PRINTERS = {"print", "warn"}  # print(...), warn(...) imported from warnings
WARNERS = {"warnings": {"warn", "warn_explicit"}}
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log", "fatal"}
LOGGERS = {"logging", "logger", "log", "_log", "_logger", "LOGGER", "absl_logging"}


def message_calls(tree):
    """The calls of ``tree`` whose arguments are a message: exceptions raised, print,
    warnings.warn, and logging's methods."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            yield node.exc
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in PRINTERS:
                yield node
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                owner, method = func.value.id, func.attr
                if method in WARNERS.get(owner, ()):
                    yield node
                elif owner in LOGGERS and method in LOG_METHODS:
                    yield node


def text_in(call):
    """The literal text of ``call``'s arguments: string constants and the literal parts of
    f-strings, wherever they stand in the argument expressions."""
    for argument in [*call.args, *(k.value for k in call.keywords)]:
        for node in ast.walk(argument):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                yield node.value


def flags_in_messages(root=PACKAGE, skip=("cli",)):
    """``path:line: text`` of every message outside ``root/skip`` that names a ``--flag``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in skip:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for call in message_calls(tree):
            for text in text_in(call):
                for flag in FLAG.findall(text):
                    found.append(f"keras_gvae/{relative}:{call.lineno}: {flag} in {text!r}")
    return found


def test_no_library_message_names_a_command_line_flag():
    offenders = flags_in_messages()
    assert not offenders, (
        "library messages must name the parameter (data_dir=, see "
        "keras_gvae.errors.ParameterError) and leave the flag to keras_gvae/cli:\n"
        + "\n".join(offenders)
    )
