"""What a command writes to its standard output, when that is knowable text.

``echo 'DROP TABLE x' | psql`` and ``base64 -d <<< cm0gLXJmIH4= | sh`` hide the
real action in a pipe.  Pure text producers and decoders are evaluated here so the
next stage sees the payload.  Network fetches and unknown producers yield ``None``
text; network and decoder output is marked untrusted (never auto-allowed when run).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command, Stdin
from opsgate.classify._pipes_names import LISTERS, NAME_LISTERS, listed_names, listing_roots
from opsgate.classify._shell_setup import prints_shell_setup
from opsgate.classify.families._system_kills import PROCESS_LIST, lists_every_process

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["DECODERS", "FETCHERS", "PRINTERS", "output_of"]

PRINTERS = frozenset({"echo", "printf", "print"})
FETCHERS = frozenset(
    {
        "curl",
        "wget",
        "fetch",
        "http",
        "https",
        "xh",
        "aria2c",
        "lwp-request",
        "invoke-webrequest",
        "iwr",
        "nc",
        "ncat",
        "socat",
        "gh",
    }
)
DECODERS = frozenset(
    {
        "base64",
        "base32",
        "basenc",
        "xxd",
        "openssl",
        "gunzip",
        "zcat",
        "gzip",
        "bzip2",
        "bzcat",
        "xz",
        "xzcat",
        "unxz",
        "zstd",
        "uudecode",
        "rev",
        "tr",
        "gpg",
        "age",
        "uncompress",
        "brotli",
        "lz4",
    }
)
_PASSTHROUGH = frozenset(
    {
        "cat",
        "tee",
        "tac",
        "head",
        "tail",
        "sort",
        "uniq",
        "cut",
        "sed",
        "awk",
        "grep",
        "egrep",
        "fgrep",
        "tr",
        "dos2unix",
        "col",
        "fold",
        "expand",
        "paste",
        "nl",
        "stdbuf",
        "cat -",
        "less",
        "more",
    }
)
_MAX_TEXT = 256 * 1024
# Producers of a process table: a filter over it is still the table, for `| xargs kill`.
_PROCESS_LISTS = frozenset({"pipe:ps", "pipe:top", "pipe:htop", "pipe:pstree"})


def origin_mark(out: Stdin | None) -> str:
    """The suffix a word of run-time text keeps when it comes from a process list
    (``$(pgrep -u "$USER")<pipe:ps``), so ``kill`` knows what it is given."""
    return f"<{out.source}" if out is not None and out.source in _PROCESS_LISTS else ""


def origin_of(text: str) -> str:
    """The process-list suffix of a word's text, or ""."""
    at = text.rfind("<pipe:")
    return text[at:] if at >= 0 and text[at + 1 :] in _PROCESS_LISTS else ""


def output_of(cmd: Command, w: Walker) -> Stdin | None:
    name = cmd.name
    stdin = cmd.stdin
    if name in PRINTERS:
        return _printed(cmd)
    if prints_shell_setup(cmd):
        # ``eval "$(pyenv init -)"``: the tool's own set-up code, no command to judge.
        return Stdin("", "setup:" + name)
    if name in FETCHERS:
        if name == "gh" and cmd.subcommand() != ("api",):
            return Stdin(None, "pipe:" + name)
        return Stdin(None, "pipe:" + name, untrusted=True)
    if name in ("base64", "base32", "basenc") and cmd.has("-d", "--decode", "-D"):
        return _decoded(stdin, name, _b64)
    if name == "openssl" and cmd.words[:1] in (("base64",), ("enc",)) and cmd.has("-d"):
        return _decoded(stdin, name, _b64)
    if name == "xxd" and cmd.has("-r"):
        return _decoded(stdin, name, _unhex)
    if name == "rev":
        return _decoded(stdin, name, lambda t: "\n".join(line[::-1] for line in t.split("\n")))
    if name == "tr" and len(cmd.positionals()) == 2 and not cmd.flags():
        a, b = (p.value for p in cmd.positionals())
        return _decoded(stdin, name, lambda t: _translate(t, a, b))
    if name in DECODERS:
        return Stdin(None, "pipe:" + name, untrusted=True)
    if name == "cat" and not cmd.positionals():
        return stdin
    if name == "cat":
        return _cat_files(cmd, w)
    if name in ("tee",):
        return stdin
    if name in _PASSTHROUGH and stdin is not None and stdin.untrusted:
        return Stdin(None, stdin.source, untrusted=True)
    if name in _PASSTHROUGH and stdin is not None and stdin.source in _PROCESS_LISTS:
        return Stdin(None, stdin.source)  # `ps aux | grep x | awk …` is still ps's list
    if name == "pgrep" and lists_every_process(cmd):
        return Stdin(None, PROCESS_LIST)  # every pid, as ps lists them
    if name == "mktemp" and all(a.static for a in cmd.args):
        base = cmd.option("-p", "--tmpdir") or "/tmp"
        return Stdin(base.rstrip("/") + "/tmp.opsgate\n", "mktemp")
    if name == "pwd" and cmd.cwd:
        return Stdin(cmd.cwd + "\n", "pwd")
    if name in ("dirname", "basename") and cmd.positionals():
        return _path_part(cmd)
    if name in NAME_LISTERS:
        names = listed_names(cmd, w) if name in LISTERS and all(a.static for a in cmd.args) else ()
        return Stdin(None, "pipe:" + name, names=names, roots=listing_roots(cmd, w))
    if name in _PASSTHROUGH and stdin is not None and (stdin.names or stdin.roots):
        # `find ~/.ssh | sort | cpio -o`; `find . -name '*.pyc' | head | xargs rm`
        return Stdin(None, stdin.source, names=stdin.names, roots=stdin.roots)
    return Stdin(None, "pipe:" + name)


def _printed(cmd: Command) -> Stdin | None:
    if not all(a.static for a in cmd.args):
        return Stdin(None, "pipe:" + cmd.name)
    words = list(cmd.words)
    if cmd.name == "echo":
        newline = True
        interpret = False
        while words and re.fullmatch(r"-[neE]+", words[0]):
            flags = words.pop(0)
            newline = newline and "n" not in flags
            interpret = interpret or "e" in flags
        text = " ".join(words)
        if interpret:
            text = _backslashes(text)
        return Stdin(text + ("\n" if newline else ""), "pipe:echo")
    if words and words[0] == "-v":
        return Stdin(None, "pipe:printf")
    if words and words[0] == "--":  # ``printf -- '-rf,~'``: the format starts after it
        words = words[1:]
    if not words:
        return Stdin("", "pipe:printf")
    return Stdin(_printf(words[0], words[1:]), "pipe:printf")


def _backslashes(text: str) -> str:
    text = re.sub(r"\\0?([0-7]{1,3})", lambda m: chr(int(m.group(1), 8) & 0xFF), text)
    try:
        return codecs.decode(text.encode("latin-1", "backslashreplace"), "unicode_escape")
    except (UnicodeDecodeError, ValueError):
        return text


def _printf(fmt: str, args: list[str]) -> str:
    """A small printf: %s %b %d %c %%, and the usual escapes; reused until args run out."""
    out: list[str] = []
    queue = list(args)
    for _ in range(64):
        out.append(_printf_once(fmt, queue))
        if not queue or "%" not in fmt:
            break
    return _backslashes("".join(out))


def _printf_once(fmt: str, queue: list[str]) -> str:
    def repl(m: re.Match[str]) -> str:
        spec = m.group(1)
        if spec == "%":
            return "%"
        value = queue.pop(0) if queue else ""
        if spec == "b":
            return _backslashes(value)
        return value

    return re.sub(r"%[-+ #0-9.]*([sbdicuxXoefgq%])", repl, fmt)


def _decoded(stdin: Stdin | None, name: str, fn: object) -> Stdin:
    if stdin is None or stdin.text is None:
        return Stdin(None, "pipe:" + name, untrusted=True)
    try:
        text = fn(stdin.text)  # type: ignore[operator]  # one of the decoders above
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return Stdin(None, "pipe:" + name, untrusted=True)
    return Stdin(str(text)[:_MAX_TEXT], "decoded:" + name, untrusted=True)


def _b64(text: str) -> str:
    compact = "".join(text.split())
    return base64.b64decode(compact + "=" * (-len(compact) % 4)).decode("utf-8")


def _unhex(text: str) -> str:
    return bytes.fromhex("".join(text.split())).decode("utf-8")


def _ranges(spec: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            out.extend(chr(c) for c in range(ord(spec[i]), ord(spec[i + 2]) + 1))
            i += 3
        else:
            out.append(spec[i])
            i += 1
    return "".join(out)


def _translate(text: str, a: str, b: str) -> str:
    src, dst = _ranges(a), _ranges(b)
    if not dst:
        raise ValueError("empty translation")
    dst = dst + dst[-1] * max(0, len(src) - len(dst))
    return text.translate(str.maketrans(src, dst[: len(src)]))


def _cat_files(cmd: Command, w: Walker) -> Stdin:
    texts: list[str] = []
    for arg in cmd.positionals():
        source = w.script_source(arg.value, cmd.cwd) if arg.static else None
        if source is None or source.text is None:
            return Stdin(None, "pipe:cat")
        if source.untrusted:
            return Stdin(None, "pipe:cat", untrusted=True)
        texts.append(source.text)
    return Stdin("".join(texts), "pipe:cat")


def _path_part(cmd: Command) -> Stdin | None:
    import posixpath

    arg = cmd.positionals()[0]
    if not arg.static:
        return Stdin(None, "pipe:" + cmd.name)
    fn = posixpath.dirname if cmd.name == "dirname" else posixpath.basename
    return Stdin(fn(arg.value.rstrip("/") or "/") + "\n", "pipe:" + cmd.name)
