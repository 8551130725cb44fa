"""Readers: cat, grep, jq and friends, judged by whether they print a secret file."""

from __future__ import annotations

import re

from opsgate.classify._command import Arg, Command, Context
from opsgate.classify.families._secrets_common import (
    _SECRET_PATTERN,
    _resolve,
    _secret,
    secret_operands,
)
from opsgate.classify.paths import is_secret_path
from opsgate.models import Finding

__all__ = ["_READERS", "_reader"]

# Options whose next word is not a file, per reader.
_READER_VALUED: dict[str, tuple[str, ...]] = {
    "head": ("-n", "-c", "--lines", "--bytes"),
    "tail": ("-n", "-c", "--lines", "--bytes", "-s", "--pid"),
    "grep": (
        "-e",
        "-f",
        "-m",
        "-A",
        "-B",
        "-C",
        "--include",
        "--exclude",
        "--exclude-dir",
        "--color",
        "--regexp",
        "--file",
        "--max-count",
        "--context",
        "--label",
    ),
    "rg": (
        "-e",
        "-g",
        "-t",
        "-T",
        "-m",
        "-A",
        "-B",
        "-C",
        "--glob",
        "--type",
        "--type-not",
        "-M",
        "--max-columns",
        "-r",
        "--replace",
        "-f",
        "--file",
        "--max-count",
    ),
    "awk": ("-F", "-v", "-f"),
    "cut": ("-d", "-f", "-c", "-b"),
    "xxd": ("-l", "-s", "-c", "-g"),
    "od": ("-A", "-t", "-N", "-j", "-w"),
    "nl": ("-b", "-s", "-w", "-v", "-i", "-n"),
    "jq": ("--arg", "--argjson", "-f", "--from-file", "--indent", "--slurpfile", "--rawfile"),
    "yq": ("-o", "--output-format", "-I", "--indent", "-p", "--input-format"),
    "strings": ("-n", "-t", "-e"),
    "bat": ("-l", "--language", "-r", "--line-range", "--style"),
    "sort": ("-k", "-t", "-o", "-S"),
    "base64": ("-w",),
    "hexdump": ("-n", "-s", "-e", "-f"),
}
_PATTERN_FIRST = frozenset({"grep", "egrep", "fgrep", "rg", "ag", "ack", "awk", "jq", "yq"})
_READERS = frozenset(
    {
        "cat",
        "less",
        "more",
        "head",
        "tail",
        "bat",
        "batcat",
        "nl",
        "xxd",
        "od",
        "hexdump",
        "strings",
        "tac",
        "view",
        "base64",
        "base32",
        "grep",
        "egrep",
        "fgrep",
        "rg",
        "ag",
        "ack",
        "awk",
        "gawk",
        "jq",
        "yq",
        "cut",
        "sort",
        "uniq",
        "wc",
        "diff",
        "cmp",
        "file",
        "md5sum",
        "sha256sum",
        "tr",
        "fold",
        "iconv",
        "column",
        "paste",
        "pr",
        "fmt",
        "dos2unix",
        "zcat",
        "gzip",
        "mcat",
        "pygmentize",
        "highlight",
        "source-highlight",
        "vim",
        "vi",
        "nano",
        "emacs",
        "code",
        "open",
        "xdg-open",
        "look",
        "expand",
        "unexpand",
        "rev",
    }
)
# Readers whose output does not reveal file contents.
_HARMLESS_READERS = frozenset({"wc", "file", "md5sum", "sha256sum", "cmp"})


def _reader(cmd: Command, ctx: Context) -> list[Finding]:
    if cmd.name in _HARMLESS_READERS or _discloses_nothing(cmd):
        return []
    valued = _READER_VALUED.get(cmd.name, ())
    operands = cmd.positionals(valued)
    explicit_pattern = cmd.option("-e", "--regexp", "-f", "--file") is not None
    if cmd.name in _PATTERN_FIRST and operands and not explicit_pattern:
        pattern, operands = operands[0], operands[1:]
        if cmd.name in ("grep", "egrep", "fgrep", "rg", "ag", "ack"):
            hunt = _secret_hunt(cmd, pattern, operands, ctx)
            if hunt:
                return hunt
    recursive = cmd.name in ("rg", "ag", "ack") or cmd.has(
        "-r", "-R", "--recursive", "--dereference-recursive"
    )
    return secret_operands(cmd, operands, ctx, recursive=recursive)


# ``grep -o '^[A-Z_]+='``: a match that stops at the first ``=`` prints only a name.
_NAMES_ONLY = re.compile(r"\^(\[(A-Z|a-z|0-9|[A-Za-z0-9_])+\]|[A-Za-z0-9_])+[+*]?=")


def _discloses_nothing(cmd: Command) -> bool:
    """Modes that print names, counts or nothing: ``grep -q``, ``cut -d= -f1``."""
    if cmd.name in ("grep", "egrep", "fgrep", "rg") and cmd.has(
        "-q", "--quiet", "--silent", "-c", "--count", "-l", "--files-with-matches", "-L"
    ):
        return True
    if cmd.name in ("grep", "egrep") and cmd.has("-o", "--only-matching"):
        operands = cmd.positionals(_READER_VALUED.get(cmd.name, ()))
        pattern = cmd.option("-e", "--regexp") or (operands[0].value if operands else "")
        return _NAMES_ONLY.fullmatch(pattern) is not None
    if cmd.name == "cut":
        delim = cmd.option("-d", "--delimiter")
        fields = cmd.option("-f", "--fields")
        return delim == "=" and fields == "1"
    return False


def _secret_hunt(cmd: Command, pattern: Arg, operands: list[Arg], ctx: Context) -> list[Finding]:
    """``grep -r 'PRIVATE KEY' ~/``: searching outside the project for secret values."""
    recursive = cmd.name in ("rg", "ag", "ack") or cmd.has("-r", "-R", "--recursive")
    if not recursive or not _SECRET_PATTERN.search(pattern.value):
        return []
    prints_values = not cmd.has("-l", "--files-with-matches", "-c", "--count", "-q", "--quiet")
    project = ctx.project_dir
    # ripgrep and its kin skip hidden and ignored files unless told otherwise.
    hidden = cmd.name in ("grep", "egrep", "fgrep") or cmd.has(
        "--hidden", "-u", "-uu", "-uuu", "--no-ignore", "-a", "--all-types"
    )
    for arg in operands or [Arg(".")]:
        full = _resolve(arg.value, ctx, cmd.cwd)
        outside = project is None or not (full == project or full.startswith(project + "/"))
        if not prints_values:
            continue
        if outside or is_secret_path(full):
            return [_secret(cmd.text, f"searches {arg.value} for secret values", full)]
        found = _secret_file_in(ctx, full) if hidden and ctx.remote is None else None
        if found is not None:
            reason = f"searches {arg.value} for secret values, and {found} holds them"
            return [_secret(cmd.text, reason, found)]
    return []


def _secret_file_in(ctx: Context, directory: str) -> str | None:
    """A credentials file (``.env``) directly in ``directory``, if there is one: a
    recursive search for ``API_KEY`` there prints its value.  Asked of the file
    source (never the control plane's own disk)."""
    session = getattr(ctx, "session", None)
    return None if session is None else session.secret_file_in(directory)
