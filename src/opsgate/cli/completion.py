"""``opsgate completion bash|zsh``: a shell completion script, generated from the
command line's own parser (shtab), so it knows every command and flag.

    opsgate completion bash > ~/.local/share/bash-completion/completions/opsgate
    opsgate completion zsh > "${fpath[1]}/_opsgate"
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash or zsh)",
        description="Print a completion script for bash or zsh. bash: save it as "
        "~/.local/share/bash-completion/completions/opsgate (or source it from ~/.bashrc); "
        'zsh: save it as _opsgate in a directory of $fpath, e.g. "${fpath[1]}/_opsgate".',
    )
    parser.add_argument("shell", choices=("bash", "zsh"))
    parser.set_defaults(func=_completion)


def _completion(ns: argparse.Namespace) -> int:
    import shtab

    from opsgate.cli import _parser

    sys.stdout.write(shtab.complete(_parser(), shell=ns.shell))
    return 0
