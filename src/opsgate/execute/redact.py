"""Redaction of everything that leaves the executor: command output, error
messages, results.

Two nets, as in the audit log: every known secret value (all of the store's, not
only the ones this run used — a command can print any of them, e.g. ``env``), in
the forms it is commonly re-encoded to (base64, URL and JSON escaping, each line
of a multi-line key), and secret-shaped strings (``audit.redact``'s patterns).
Output is redacted line by line as it streams, so a value split across two reads
of a pipe is still caught; a line longer than ``MAX_LINE`` is cut and redacted.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable

from opsgate.audit.redact import MASK, Redactor

__all__ = ["MASK", "LineRedactor", "OutputRedactor", "forms"]

MAX_LINE = 64 * 1024
_MIN_LINE_PART = 12  # shorter lines of a multi-line secret are too common to mask
_MIN_PART = 6  # as audit.redact: shorter values would mask ordinary words
# A PEM armor line ("-----BEGIN OPENSSH PRIVATE KEY-----") is public, and every key has
# it: masked as a known value, it would break the private-key pattern that masks any
# other key whole (its body lines would then pass).
_ARMOR = re.compile(r"^-----(?:BEGIN|END) [A-Z0-9 ]+-----$")


def forms(value: str) -> set[str]:
    """A secret and the encodings it is likely to appear in."""
    raw = value.encode("utf-8")
    out = {value, value.strip()}
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        out.update({text, text.rstrip("=")})
    out.update({urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)})
    out.add(json.dumps(value)[1:-1])
    out.add(value.encode("unicode_escape").decode("ascii"))
    out.update(_parts(value))
    if "\n" in value.strip():
        out.update(
            line.strip()
            for line in value.splitlines()
            if len(line.strip()) >= _MIN_LINE_PART and not _ARMOR.match(line.strip())
        )
    return {f for f in out if f}


def _parts(value: str) -> set[str]:
    """The credential inside a structured secret: the password of a URL or of a
    libpq ``key=value`` string (a DSN's password alone is as secret as the DSN)."""
    found: set[str] = set()
    try:
        parsed = urllib.parse.urlsplit(value.strip())
        if parsed.password:
            found.update({parsed.password, urllib.parse.unquote(parsed.password)})
    except ValueError:
        pass
    for m in re.finditer(r"(?i)\b(?:password|passwd|pwd|token|secret)\s*=\s*('[^']*'|\S+)", value):
        found.add(m.group(1).strip("'"))
    return {f for f in found if len(f) >= _MIN_PART}


class OutputRedactor:
    """Masks known values (and their encodings) and secret-shaped strings."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        # The executor's own environment is not the command's: do not mask its
        # variables' values (the command never had them), only what it was given.
        self._inner = Redactor(from_environ=False)
        self.add(known)

    def add(self, values: Iterable[str]) -> None:
        self._inner.add(f for v in values for f in forms(v))

    def text(self, value: str) -> str:
        return self._inner.text(value)


class LineRedactor:
    """Streams text through ``OutputRedactor`` a whole line at a time."""

    def __init__(self, redactor: OutputRedactor, emit: Callable[[str], None]) -> None:
        self._redactor = redactor
        self._emit = emit
        self._pending = ""

    def feed(self, chunk: str) -> None:
        self._pending += chunk
        while True:
            cut = self._pending.find("\n")
            if cut < 0:
                if len(self._pending) > MAX_LINE:
                    cut = MAX_LINE - 1
                else:
                    return
            line, self._pending = self._pending[: cut + 1], self._pending[cut + 1 :]
            self._emit(self._redactor.text(line))

    def close(self) -> None:
        if self._pending:
            line, self._pending = self._pending, ""
            self._emit(self._redactor.text(line))
