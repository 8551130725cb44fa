"""Interpreters and shells whose code opsgate does not read: ``unknown`` whenever they
are given a program.

``julia``/``ruby``/``perl`` … one-liners are read for their effects (``_interp``);
for the languages below opsgate has no reading at all, so code handed to them inline
(``racket -e``, ``sbcl --eval``, ``crystal eval``), on stdin, as a script file, or
typed into their prompt is code it cannot model (SPEC §2): never allowed blind,
whatever it looks like.  Asking only for the version or the help passes, and so do
the tools' other jobs (``swift build``, ``clojure -M:test``, ``crystal spec``), which
run the project's own code like any build tool.

The shells here (nushell, xonsh, elvish …) are read as POSIX commands as well, so a
visible ``rm -rf ~`` is still a deletion, but their syntax differs enough that what
passes the POSIX reading is unknown too.
"""

from __future__ import annotations

from typing import NamedTuple

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

__all__ = ["OPAQUE_HANDLERS"]

_ANY = "any"  # any first operand is a script; no operand at all, the prompt
_NONE = "none"  # operands are subcommands or files to build, not programs to run


class _Language(NamedTuple):
    inline: tuple[str, ...]  # options whose value is code (or a script to load)
    scripts: tuple[str, ...] | str  # which first operand runs as a program: _ANY, _NONE, suffixes
    subcommands: tuple[str, ...] = ()  # subcommands that run code or a script


_LANGUAGES: dict[str, _Language] = {
    "ocaml": _Language((), _ANY),
    "racket": _Language(("-e", "--eval", "-r", "--script", "-u", "--require-script"), _ANY),
    "guile": _Language(("-c", "-s", "-l", "-e"), _ANY),
    "sbcl": _Language(("--eval", "--script", "--load"), _NONE),
    "clisp": _Language(("-x", "-i"), _ANY),
    "ecl": _Language(("-eval", "-load", "-shell"), _NONE),
    "csi": _Language(("-e", "-eval", "-p", "-print", "-s", "-script", "-ss"), _ANY),
    "chez": _Language(("--script", "--program"), _NONE),
    "scheme": _Language(("--script", "--program"), _NONE),
    "petite": _Language(("--script", "--program"), _NONE),
    "gforth": _Language(("-e", "--evaluate"), _ANY),
    "tclsh": _Language((), _ANY),
    "wish": _Language((), _ANY),
    "jshell": _Language(("-R",), _ANY),
    "groovy": _Language(("-e",), _ANY),
    "kotlin": _Language(("-e", "-expression"), (".kts",)),
    "kotlinc": _Language(("-e", "-expression", "-script"), (".kts",)),
    "scala": _Language(("-e", "--execute-scala", "--execute-script"), (".sc", ".scala")),
    "scala-cli": _Language(("-e", "--execute-scala", "--execute-script"), (".sc",)),
    "amm": _Language(("-c", "--code"), (".sc",)),
    "clojure": _Language(("-e", "--eval"), (".clj", ".cljc")),
    "clj": _Language(("-e", "--eval"), (".clj", ".cljc")),
    "bb": _Language(("-e", "--eval", "-f", "--file"), (".clj", ".bb", ".cljc")),
    "nbb": _Language(("-e", "--eval"), (".cljs", ".cljc")),
    "swift": _Language(("-e",), (".swift",)),
    "crystal": _Language(("-e",), (".cr",), ("eval", "run", "i", "interactive")),
    "ghc": _Language(("-e",), _NONE),
    "ghci": _Language(("-e",), _ANY),
    "runghc": _Language((), _ANY),
    "runhaskell": _Language((), _ANY),
    "erl": _Language(("-eval", "-s", "-run"), _NONE),
    "escript": _Language(("-e",), _ANY),
    "raku": _Language(("-e",), _ANY),
    "perl6": _Language(("-e",), _ANY),
    "rakudo": _Language(("-e",), _ANY),
    "janet": _Language(("-e",), _ANY),
    "fennel": _Language(("-e", "--eval"), _ANY),
    "hy": _Language(("-c",), _ANY),
    "octave": _Language(("--eval",), _ANY),
    "octave-cli": _Language(("--eval",), _ANY),
    "matlab": _Language(("-batch", "-r"), _NONE),
    "gnuplot": _Language(("-e",), _ANY),
    "qjs": _Language(("-e", "--eval"), _ANY),
    "d8": _Language(("-e",), _ANY),
    "jsc": _Language(("-e",), _ANY),
    "rhino": _Language(("-e",), _ANY),
    "jrunscript": _Language(("-e",), _ANY),
    "pike": _Language(("-e",), _ANY),
    "nim": _Language((), _NONE, ("e", "secret")),
    "wolframscript": _Language(("-code", "-c", "-file", "-f", "-script"), _ANY),
    "maxima": _Language(("--batch-string", "-r", "--run-string", "-b", "--batch"), _NONE),
    "sage": _Language(("-c",), _ANY),
    "dotnet-script": _Language(("-e",), (".csx",), ("eval",)),
}
# Shells with a syntax of their own: their ``-c`` code is also read as POSIX commands.
_SHELLS: dict[str, _Language] = {
    name: _Language(("-c", "--commands", "--command"), _ANY)
    for name in (
        "nu",
        "nushell",
        "xonsh",
        "elvish",
        "ion",
        "murex",
        "osh",
        "ysh",
        "oil",
        "rc",
        "oksh",
        "loksh",
        "sash",
        "hush",
    )
}
_INFO = frozenset({"-v", "-V", "--version", "-version", "-h", "--help", "-help", "-?"})


def _opaque(cmd: Command, ctx: Context) -> list[Finding]:
    language = _SHELLS.get(cmd.name) or _LANGUAGES[cmd.name]
    if any(w in _INFO for w in cmd.words[:2]):
        return []
    seen: list[Finding] = []
    code = cmd.option(*language.inline) if cmd.name in _SHELLS else None
    if code is not None:
        seen = ctx.classify_shell(code, via=cmd.name)
    why = _runs(cmd, language)
    if why is None:
        return seen
    return [*seen, unknown(f"{cmd.name} {why}, code opsgate does not read", cmd.text)]


def _runs(cmd: Command, language: _Language) -> str | None:
    """How ``cmd`` is given a program (inline, a script, stdin, its prompt), or None
    when it does another job."""
    words = cmd.words
    if any(flag in words or cmd.option(flag) is not None for flag in language.inline):
        return "runs inline code"
    operands = cmd.positionals(language.inline)
    first = operands[0].value if operands else None
    if first is not None and first in language.subcommands:
        return f"{first} runs a program"
    if language.scripts == _NONE:
        return None
    if first is not None:
        scripts = language.scripts
        if scripts == _ANY or (isinstance(scripts, tuple) and first.endswith(scripts)):
            return f"runs the script {first}"
        return None
    if cmd.stdin is not None:
        return "runs the program on its input"
    if language.scripts == _ANY:
        return "starts an interactive prompt (what is typed there is unseen)"
    return None


OPAQUE_HANDLERS: dict[str, Handler] = {name: _opaque for name in (*_LANGUAGES, *_SHELLS)}
