"""Entry point of the ``gvae`` console script."""

from __future__ import annotations

import argparse
import importlib
import sys

# Sub-command name -> module with HELP, add_arguments(parser) and run(args) -> exit code.
COMMANDS = {
    "train": "keras_gvae.cli.train",
    "traverse": "keras_gvae.cli.traverse",
    "evaluate": "keras_gvae.cli.evaluate",
    "export": "keras_gvae.cli.export",
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="gvae", description="Guided Variational Autoencoders (Ding et al., CVPR 2020) in Keras 3."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as err:
        print(f"gvae {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gvae {args.command}: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
