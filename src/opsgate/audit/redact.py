"""Redaction before write: no secret reaches the audit log.

Two nets: known secret values (given by the caller, plus the values of this
process's secret-named environment variables), and secret-shaped strings (cloud
keys, vendor tokens, JWTs, private key blocks, passwords in URLs, flags and
headers).  The walk also normalises the document into what RFC 8785 accepts, so
an agent's odd input (huge integers, NaN, tuples) can never make a write fail.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["MASK", "Redactor", "learn_secrets"]

MASK = "[REDACTED]"
_MIN_SECRET = 6  # shorter "secrets" would redact ordinary words everywhere
_MAX_SAFE_INT = 2**53 - 1  # RFC 8785 numbers are IEEE doubles

# (triggers, pattern, keyed).  A pattern is compiled only when one of its
# triggers occurs in the lower-cased text: compiling all of them costs ~2 ms,
# which the hook would pay on every call for commands that hold no secret at all.
# Keyed patterns keep group "keep" and mask group "secret"; others mask the match.
_RULES: list[tuple[tuple[str, ...], str, bool]] = [
    (
        ("akia", "asia", "agpa", "aida", "aroa", "anpa", "anva", "aipa"),
        r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b",
        False,
    ),  # AWS key id
    (
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b",
        False,
    ),  # GitHub
    (("github_pat_",), r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b", False),
    (("glpat-",), r"\bglpat-[A-Za-z0-9_\-]{20,}\b", False),  # GitLab
    (("xox",), r"\bxox[abposr]-[A-Za-z0-9\-]{10,}\b", False),  # Slack
    (("k_live_", "k_test_"), r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}\b", False),  # Stripe
    (("sk-",), r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}\b", False),  # OpenAI / Anthropic style
    (("aiza",), r"\bAIza[0-9A-Za-z_\-]{35}\b", False),  # Google API key
    (("eyj",), r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}", False),  # JWT
    (
        ("private key",),
        r"-----BEGIN[A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END[A-Z ]*PRIVATE KEY-----|$)",
        False,
    ),
    # scheme://user:password@host
    (("://",), r"(?P<keep>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)(?P<secret>[^\s@/]+)(?=@)", True),
    # Authorization: Bearer x / Basic x / token x
    (
        ("authorization",),
        r"(?P<keep>(?i:authorization)\s*[:=]\s*(?:(?i:bearer|basic|token)\s+)?)(?P<secret>[^\s'\"]+)",
        True,
    ),
    (("bearer",), r"(?P<keep>\b(?i:bearer)\s+)(?P<secret>[A-Za-z0-9._~+/\-]{12,}=*)", True),
    # --password=x, --password x, --token x, --api-key=x, --secret x
    (
        ("--",),
        r"(?P<keep>--(?i:[a-z\-]*(?:password|passwd|token|secret|api-key|apikey|access-key))[=\s]+)"
        r"(?P<secret>'[^']*'|\"[^\"]*\"|[^\s'\"]+)",
        True,
    ),
    # mysql -pSECRET (glued to the flag); only for MySQL clients, where -p means password
    (
        ("mysql", "mariadb"),
        r"(?P<keep>\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)\b[^\n;|&]*?\s-p)"
        r"(?P<secret>[^\s'\"-][^\s'\"]*)",
        True,
    ),
    # curl -u user:SECRET (and wget, HTTPie, xh): the password after the user name
    (
        ("curl", "wget", "http", "xh"),
        r"(?P<keep>\b(?:curl|wget|https?|xh)\b[^\n;|&]*?\s(?:-u|--user|-U|--proxy-user|"
        r"--auth|-a)[=\s]*['\"]?[^\s:'\"]+:)(?P<secret>[^\s'\"]+)",
        True,
    ),
    # PGPASSWORD=x, AWS_SECRET_ACCESS_KEY=x, API_TOKEN: x, "password": "x"
    (
        ("pass", "secret", "token", "key"),
        r"(?P<keep>\b[A-Za-z0-9_]*(?i:password|passwd|secret|token|api_?key|access_?key|private_?key)"
        r"[A-Za-z0-9_]*[\"']?\s*[:=]\s*[\"']?)(?P<secret>[^\s'\"&;,}]+)",
        True,
    ),
]
_SECRET_ENV = (
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "ACCESS_KEY",
    "CREDENTIAL",
)
_SECRET_KEYS = frozenset(
    {"password", "passwd", "secret", "token", "apikey", "api_key", "authorization"}
)


_MEMO_LENGTH = 120
_MEMO_SIZE = 4096


class _Learned:
    """The secret values this process has come to know (the executor's stored and
    resolved secrets): every ``Redactor`` in the process masks them, wherever it was
    made — the audit log's, the one cards are shown through, the console's, MCP's."""

    def __init__(self) -> None:
        self.values: frozenset[str] = frozenset()
        self.version = 0

    def add(self, values: Iterable[str]) -> None:
        fresh = {v for v in values if isinstance(v, str) and len(v) >= _MIN_SECRET}
        if not fresh <= self.values:
            self.values = self.values | fresh
            self.version += 1  # after the values: a reader that sees it sees them


_LEARNED = _Learned()


def learn_secrets(values: Iterable[str]) -> None:
    """Mask ``values`` in every redactor of this process from now on."""
    _LEARNED.add(values)


class Redactor:
    """Masks secrets in every string of a JSON-like document."""

    def __init__(self, known: Iterable[str] = (), *, from_environ: bool = True) -> None:
        self._own: set[str] = set()
        self._known: list[str] = []
        self._compiled: dict[int, re.Pattern[str]] = {}
        self._seen: dict[str, str] = {}
        self._learned = -1  # the version of _LEARNED that _known includes
        if from_environ:
            self.add(v for k, v in os.environ.items() if any(w in k.upper() for w in _SECRET_ENV))
        self.add(known)

    def add(self, values: Iterable[str]) -> None:
        self._own |= {v for v in values if isinstance(v, str) and len(v) >= _MIN_SECRET}
        self._learned = -1
        self._refresh()

    def _refresh(self) -> None:
        version = _LEARNED.version
        # Longest first, so a secret containing another is masked whole.
        self._known = sorted(self._own | _LEARNED.values, key=len, reverse=True)
        self._seen = {}  # answers given before may now be wrong
        self._learned = version

    def text(self, value: str) -> str:
        if self._learned != _LEARNED.version:
            self._refresh()
        # Audit documents repeat the same short strings (event fields, names, rules,
        # environments): remember their answers until the next ``add``.
        if len(value) <= _MEMO_LENGTH:
            seen = self._seen
            answer = seen.get(value)
            if answer is None:
                if len(seen) >= _MEMO_SIZE:
                    seen.clear()
                answer = seen[value] = self._text(value)
            return answer
        return self._text(value)

    def _text(self, value: str) -> str:
        for secret in self._known:
            if secret in value:
                value = value.replace(secret, MASK)
        low = value.lower()
        if _any_trigger().search(low) is None:
            return value  # most strings: one scan instead of one per trigger
        for index, (triggers, pattern, keyed) in enumerate(_RULES):
            if any(t in low for t in triggers):
                compiled = self._compiled.get(index)
                if compiled is None:
                    compiled = self._compiled[index] = re.compile(pattern)
                value = compiled.sub(_keep_mask if keyed else MASK, value)
                low = value.lower()
        return value

    def document(self, value: Any, _key: str = "") -> Any:
        """A redacted copy of ``value`` that RFC 8785 can encode."""
        if isinstance(value, str):
            if value and _key.lower() in _SECRET_KEYS:
                return MASK
            return self.text(value)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT else str(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else str(value)
        if isinstance(value, dict):
            return {str(k): self.document(v, str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.document(v) for v in value]
        if hasattr(value, "value") and isinstance(value.value, (str, int)):  # enums
            return self.document(value.value)
        return self.text(str(value))


_TRIGGERS: list[re.Pattern[str]] = []


def _any_trigger() -> re.Pattern[str]:
    """One pattern matching any rule's trigger (literal alternation: cheap to build,
    unlike the rules themselves)."""
    if not _TRIGGERS:
        words = sorted({t for triggers, _p, _k in _RULES for t in triggers}, key=len, reverse=True)
        _TRIGGERS.append(re.compile("|".join(re.escape(w) for w in words)))
    return _TRIGGERS[0]


def _keep_mask(match: re.Match[str]) -> str:
    return match.group("keep") + MASK
