"""The files a download writes (safeguard 6): ``curl -o FILE``, ``curl -O URL`` (the
URL's last part, in ``--output-dir``), ``wget -O FILE`` and ``wget URL`` (in ``-P``).
A download over opsgate's own configuration, policy or an agent's hook settings
replaces them as surely as ``cp`` does.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from urllib.parse import urlsplit

from opsgate.classify._command import Command

__all__ = ["DOWNLOADERS"]

# curl's short options that take a value: in a cluster (``-sSLo FILE``) the first
# of these takes the rest of the word, or the next word.
_CURL_VALUED = frozenset("oCdDeEFhHKmPQrTuUwxXyYzAbc")
_WGET_VALUED = frozenset("OoaPeiBtTwlQUDAR")


def _url_name(url: str) -> str | None:
    path = urlsplit(url).path
    name = posixpath.basename(path.rstrip("/"))
    return name or None


def _short(word: str, valued: frozenset[str]) -> tuple[str, str | None] | None:
    """(the flags before a valued option, that option) in ``-sSLo``; None if none."""
    for i, flag in enumerate(word[1:], start=1):
        if flag in valued:
            return word[1:i], flag
    return word[1:], None


def _curl(cmd: Command) -> list[str]:
    words, out, urls = list(cmd.words), [], []
    where, remote, i = "", False, 0
    while i < len(words):
        word, value = words[i], words[i + 1] if i + 1 < len(words) else ""
        i += 1
        if word in ("-o", "--output"):
            out.append(value)
            i += 1
        elif word.startswith("--output="):
            out.append(word.split("=", 1)[1])
        elif word == "--output-dir":
            where = value
            i += 1
        elif word.startswith("--output-dir="):
            where = word.split("=", 1)[1]
        elif word in ("-O", "--remote-name", "--remote-name-all"):
            remote = True
        elif word.startswith("-") and not word.startswith("--") and len(word) > 1:
            flags, option = _short(word, _CURL_VALUED)  # type: ignore[misc]
            remote = remote or "O" in flags
            rest = word[len(flags) + 2 :]
            if option is not None and not rest:
                i += 1  # the next word is its value
            if option == "o":
                out.append(rest or value)
        elif "://" in word:
            urls.append(word)
    if remote:
        out += [n for n in (_url_name(u) for u in urls) if n]
    return [posixpath.join(where, p) if where else p for p in out if p and p != "-"]


def _wget(cmd: Command) -> list[str]:
    words, out, urls = list(cmd.words), [], []
    where, named, i = "", False, 0
    while i < len(words):
        word, value = words[i], words[i + 1] if i + 1 < len(words) else ""
        i += 1
        if word in ("-O", "--output-document"):
            out.append(value)
            named, i = True, i + 1
        elif word.startswith("--output-document="):
            out.append(word.split("=", 1)[1])
            named = True
        elif word in ("-P", "--directory-prefix"):
            where, i = value, i + 1
        elif word.startswith("--directory-prefix="):
            where = word.split("=", 1)[1]
        elif word.startswith("-") and not word.startswith("--") and len(word) > 1:
            flags, option = _short(word, _WGET_VALUED)  # type: ignore[misc]
            rest = word[len(flags) + 2 :]
            if option is not None and not rest:
                i += 1
            if option == "O":
                out.append(rest or value)
                named = True
            elif option == "P":
                where = rest or value
        elif "://" in word:
            urls.append(word)
    if not named:
        out += [n for n in (_url_name(u) for u in urls) if n]
    return [posixpath.join(where, p) if where else p for p in out if p and p != "-"]


DOWNLOADERS: dict[str, Callable[[Command], list[str]]] = {"curl": _curl, "wget": _wget}
