"""The ``opsgate`` command line: a thin client of the library.

``main`` is the one place errors are caught.  Each command group lives in its own
module exposing ``register(subparsers)``; the parser is only built when needed, so
``opsgate hook <agent>`` (the hot path) imports nothing but the hook.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

TYPE_CHECKING = False  # not `from typing import …`: the hook path must not import typing
if TYPE_CHECKING:
    import argparse

__all__ = ["main"]

# Command-group modules, each with register(subparsers).  Order is help order.
_GROUPS = (
    "check",
    "hook",
    "install",
    "doctor",
    "policy",
    "audit",
    "serve",
    "cards",
    "users",
    "inventory",
    "secrets",
    "ops",
    "incident",
    "lockdown",
    "mcp",
    "login",
    "config",
    "completion",
)


def _parser() -> argparse.ArgumentParser:
    import argparse
    import importlib

    from opsgate import __version__

    parser = argparse.ArgumentParser(
        prog="opsgate",
        description="The control layer between AI agents and infrastructure.",
    )
    parser.add_argument("--version", action="version", version=f"opsgate {__version__}")
    from opsgate.cli._flags import add_setting

    add_setting(parser, "config")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in _GROUPS:
        try:
            module = importlib.import_module(f"{__name__}.{group}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{group}":
                raise
            continue
        module.register(sub)
    return parser


# Options that take every argument after them as a command (argv); argparse refuses
# the customary ``--`` before it, so it is dropped here.
_TAKE_THE_REST = ("--from-command",)


def _rest_after(args: list[str]) -> list[str]:
    for i, arg in enumerate(args):
        if arg == "--":
            return args  # an ordinary end of options, before any such option
        if arg in _TAKE_THE_REST and args[i + 1 : i + 2] == ["--"]:
            return [*args[: i + 1], *args[i + 2 :]]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) >= 2 and args[0] == "hook" and not args[1].startswith("-"):
        # Hot path: no argparse, no other command groups.
        from opsgate.hooks import run_hook

        return run_hook(args[1], args[2:])
    from opsgate.config import set_flags

    try:
        return _run(args)
    finally:
        set_flags({})  # the command's flags end with it (main may run again in-process)


def _run(args: list[str]) -> int:
    from opsgate.errors import EXIT_INTERRUPTED, MissingExtra, OpsgateError

    try:
        parser = _parser()
        ns = parser.parse_args(_rest_after(args))
        from opsgate.cli._flags import given_settings
        from opsgate.config import set_flags

        set_flags(given_settings(ns))  # the highest layer, for the rest of the command
        if not getattr(ns, "func", None):
            parser.print_help()
            return 0
        code: int = ns.func(ns)
    except (ModuleNotFoundError, MissingExtra) as exc:
        # The one place a missing optional dependency becomes a one-line hint.
        missing = exc if isinstance(exc, MissingExtra) else MissingExtra.from_import(exc)
        if missing is None:
            raise
        print(f"opsgate: {missing.message}", file=sys.stderr)
        return missing.exit_code
    except OpsgateError as exc:
        print(f"opsgate: error: {exc.diagnostics()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `opsgate check … | head`: the reader left; that is not an error.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return code
