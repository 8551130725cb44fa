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

__all__ = ["_READERS", "_reader", "matches_secret_line", "search_hunt"]

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
    searcher = cmd.name in ("grep", "egrep", "fgrep", "rg", "ag", "ack")
    if cmd.name in _PATTERN_FIRST and operands and not explicit_pattern:
        pattern, operands = operands[0], operands[1:]
        hunt = _secret_hunt(cmd, pattern, operands, ctx) if searcher else []
        if hunt:
            return hunt
    elif searcher and explicit_pattern:
        for value in cmd.options("-e", "--regexp"):
            hunt = _secret_hunt(cmd, Arg(value), operands, ctx)
            if hunt:
                return hunt
    recursive = cmd.name in ("rg", "ag", "ack") or cmd.has(
        "-r", "-R", "--recursive", "--dereference-recursive"
    )
    found = secret_operands(cmd, operands, ctx, recursive=recursive)
    if not found and recursive:
        from opsgate.classify.families._secrets_links import followed_links

        return followed_links(cmd, ctx, operands or [Arg(".")])
    return found


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
    """``grep -r 'PRIVATE KEY' ~/``: searching outside the project for secret values;
    ``rg --hidden STRIPE .``: a search whose pattern matches a credentials file's lines,
    over a directory that holds one the program searches."""
    recursive = cmd.name in ("rg", "ag", "ack") or cmd.has("-r", "-R", "--recursive")
    if not recursive:
        return []
    # ripgrep and its kin skip hidden and ignored files unless told otherwise.
    hidden = cmd.name in ("grep", "egrep", "fgrep") or cmd.has(
        "--hidden", "-u", "-uu", "-uuu", "--no-ignore", "-a", "--all-types"
    )
    return search_hunt(cmd, pattern, operands, ctx, hidden=hidden)


def search_hunt(cmd: Command, pattern: Arg, operands: list[Arg], ctx: Context, *,
                hidden: bool, tracked: bool = False) -> list[Finding]:  # fmt: skip
    """A recursive search that prints matching lines, judged by its pattern and where
    it looks: outside the project, a pattern for secret values (``PRIVATE KEY``,
    ``password``) is a secret read; inside, a pattern that matches a credentials
    file's lines (``STRIPE``, ``sk_live``, ``.``) is one when the search would read
    such a file there (asked of the file source; ``tracked``: git grep's tracked
    files only)."""
    if cmd.has("-l", "--files-with-matches", "-c", "--count", "-q", "--quiet", "-L"):
        return []  # names, counts or nothing: no line is printed
    value = pattern.value if pattern.static else ""
    hunting = _SECRET_PATTERN.search(value) is not None
    matches_lines = hunting or (
        pattern.static and matches_secret_line(value, cmd.has("-i", "--ignore-case"),
                                               cmd.has("-F", "--fixed-strings"))
    )  # fmt: skip
    if not matches_lines:
        return []
    project = ctx.project_dir
    for arg in operands or [Arg(".")]:
        full = _resolve(arg.value, ctx, cmd.cwd)
        outside = project is None or not (full == project or full.startswith(project + "/"))
        if hunting and (outside or is_secret_path(full)):
            return [_secret(cmd.text, f"searches {arg.value} for secret values", full)]
        found = _secret_file_in(ctx, full, hidden, tracked) if ctx.remote is None else None
        if found is not None:
            reason = f"searches {arg.value} for {value!r}, and {found} holds such values"
            return [_secret(cmd.text, reason, found)]
    return []


# What a credentials file's lines look like: a search pattern that matches one of them
# prints the like from a real one.
_SECRET_LINES = (
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG",
    "STRIPE_SECRET_KEY=sk_live_51H8abcdefGHIJKL",
    "OPENAI_API_KEY=sk-proj-abc123DEF456",
    "ANTHROPIC_API_KEY=sk-ant-api03-abc123",
    "GITHUB_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "SLACK_BOT_TOKEN=xoxb-123456789012-abcdefghij",
    "DATABASE_URL=postgres://app:s3cr3t@db.internal:5432/shop",
    "REDIS_PASSWORD=hunter2",
    "password: hunter2",
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "//registry.npmjs.org/:_authToken=npm_abc123",
)


def matches_secret_line(pattern: str, ignore_case: bool, fixed: bool) -> bool:
    """Whether ``pattern`` (a grep/ripgrep pattern) matches a typical credentials line.
    A pattern Python cannot read is tried as plain text."""
    if not pattern or len(pattern) > 512:
        return not pattern  # an empty pattern matches every line
    flags = re.IGNORECASE if ignore_case else 0
    try:
        compiled = re.compile(re.escape(pattern) if fixed else pattern, flags)
    except (re.error, RecursionError, OverflowError):
        compiled = re.compile(re.escape(pattern), flags)
    return any(compiled.search(line) for line in _SECRET_LINES)


def _secret_file_in(ctx: Context, directory: str, hidden: bool, tracked: bool) -> str | None:
    """A credentials file (``.env``) a recursive search of ``directory`` reads, if there
    is one: a search for ``API_KEY`` there prints its value.  Asked of the file
    source (never the control plane's own disk)."""
    session = getattr(ctx, "session", None)
    if session is None:
        return None
    found = session.files.secret_file_in(directory, hidden=hidden, tracked=tracked)
    return found if isinstance(found, str) else None
