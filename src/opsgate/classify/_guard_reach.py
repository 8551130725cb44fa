"""Safeguard 6, continued: opsgate's administrative powers reached without its CLI.

``_guard`` judges ``opsgate approve`` typed as a command.  The same power is reachable
by other routes, each a ``guard.tamper`` finding here (the engine denies it):

* opsgate's own code run in process: Python that imports ``opsgate.cli`` (or any
  module but the public SDK and the read-only classifier), imports it by a name built
  at run time, or runs it as a module (``python3 -I -m opsgate approve``); code in
  another language that starts an ``opsgate`` process with arguments it builds;
* the control plane's administrative API called directly (``curl``, ``wget``, httpie,
  interpreter code): approving or denying a card, lockdown, people, tokens, settings,
  secrets, inventory and login routes, on any host, and any request that carries a
  person's ``opsgate_session`` cookie or an ``og_…`` API token.

Package runners (``pipx run``, ``uvx``, ``uv run`` …) are unwrapped by the
dispatcher, so ``pipx run opsgate approve`` reaches ``_guard`` as ``opsgate approve``;
``opsgate check``, ``opsgate --help`` and the SDK's ``Gate`` stay allowed.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from opsgate.models import Effect, Environment, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify._command import Command, Context

__all__ = ["code_findings", "command_findings"]

CATEGORY = "guard.tamper"

# --- opsgate's Python modules ----------------------------------------------------------
# Modules an agent's code may import: the SDK (``from opsgate import Gate``; it only
# proposes) and the read-only classifier and policy.  Every other module (``cli``,
# ``store``, ``approvals``, ``server``, ``execute`` …) holds administrative power.
_PUBLIC_MODULES = frozenset({"sdk", "classify", "models", "errors", "environments", "policy",
                             "guard", "__version__", "Gate", "ActionDenied", "Answer",
                             "ApprovalRequired", "CardInfo", "CardTimeout", "GateUnavailable",
                             "NotAllowed"})  # fmt: skip
# The CLI's entry points: ``python -m`` of these is the ``opsgate`` command.
_CLI_MODULES = frozenset({"opsgate", "opsgate.cli", "opsgate.__main__", "opsgate.cli.__main__"})
_IMPORT = re.compile(r"\b(?:from\s+(opsgate(?:\.\w+)*)\s+import\s+([\w\s,()*]+)"
                     r"|import\s+((?:[\w.]+(?:\s+as\s+\w+)?\s*,\s*)*opsgate[\w.]*))")  # fmt: skip
_ATTRIBUTE = re.compile(r"(?<![\w./\\-])opsgate\.(\w+)")
# Imports by a name opsgate cannot read, or of the module table itself.
_DYNAMIC = re.compile(
    r"\b(import_module|__import__|run_module|run_path|find_spec|"
    r"spec_from_file_location|sys\s*\.\s*modules)\b"
)

# --- the control plane's administrative routes ------------------------------------------
# Any request to these is an administrative act (their paths are opsgate's own: the
# API's card routes, or the console's with a card id of opsgate's shape).
_ADMIN_ANY = re.compile(
    # (a card's id may be spliced in: ``'/api/v1/cards/' + id + '/approve'``)
    r"/api/v1/cards/[^\n]{0,80}?/(?:approve|deny)\b|/cards/c_[0-9a-f]{16}/(?:approve|deny)\b"
    r"|/api/v1/lockdown\b|/settings/lockdown\b",
    re.IGNORECASE,
)
# Requests that change something on these, on opsgate's own address, are (reads list
# names only; the same paths are common in the agent's own web applications).
_ADMIN_WRITE = re.compile(
    r"/api/v1/(?:users|tokens|settings|secrets|session|inventory)\b", re.IGNORECASE
)
# The console's forms, by path: administrative on opsgate's own host only (``/login``
# and ``/settings`` are common paths elsewhere).
_CONSOLE_FORMS = frozenset({"/settings", "/people", "/inventory", "/lockdown", "/lockdown/lift",
                            "/login", "/users", "/tokens"})  # fmt: skip
_DEFAULT_PORT = 8470
# Credentials that make a request a person's (or an admin token's).
_MARKERS = re.compile(r"opsgate_session|(?<![\w-])og_[A-Za-z0-9_-]{32,}", re.IGNORECASE)

_HTTP_CLIENTS = frozenset({"curl", "wget", "http", "https", "xh", "xhs", "curlie", "httpie",
                           "wget2", "aria2c"})  # fmt: skip
_WRITE_FLAGS = frozenset({"-d", "--data", "--data-raw", "--data-binary", "--data-urlencode",
                          "--data-ascii", "-F", "--form", "--form-string", "--json", "-T",
                          "--upload-file", "--post-data", "--post-file", "--body-data",
                          "--body-file", "-f", "--raw", "--multipart"})  # fmt: skip
_DATA_ITEM = re.compile(r"[\w.-]+:?=")
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_METHOD_FLAGS = frozenset({"-X", "--request", "--method"})
# Interpreter code that sends a body or names a changing method.
_CODE_WRITES = re.compile(r"\b(post|put|patch|delete|data\s*=|method\s*[=:])", re.IGNORECASE)
# Code in other languages that starts a program (its arguments are then judged here).
_SPAWNS = re.compile(r"\b(spawn\w*|exec\w*|system|popen|Popen|Command|run|proc_open|"
                     r"passthru|shell_exec|IO\.popen|Open3)\b")  # fmt: skip
# Two string literals joined (``"ops" + "gate"``, ``'ops' 'gate'``): folded before looking.
_JOINED = re.compile(r"['\"]\s*\+?\s*['\"]")
# ``opsgate`` as a program: a word, or a path's last part (not ``~/.opsgate/…``).
_OPSGATE_PROGRAM = re.compile(r"(?<![\w.-])opsgate(?:-hook(?:-fast)?)?(?![\w./-])")


def _tamper(evidence: str, reason: str, target: str | None = None) -> Finding:
    return Finding(CATEGORY, Impact.DESTRUCTIVE, Effect.WRITE, evidence[:200], reason, target,
                   Environment.LOCAL, "the guard on this machine")  # fmt: skip


# --- per command -------------------------------------------------------------------------
def watches(name: str) -> bool:
    """Whether ``command_findings`` looks at program ``name`` (keep in step with it:
    ``_cross_cutting`` skips it for other names)."""
    return name in _HTTP_CLIENTS or name.rstrip("0123456789.") in ("python", "pypy")


def command_findings(cmd: Command, ctx: Context) -> list[Finding]:
    """Administrative routes taken by one simple command."""
    name = cmd.name
    if name in _HTTP_CLIENTS:
        return _http_client(cmd)
    if name.rstrip("0123456789.") in ("python", "pypy"):
        return _python_module(cmd, ctx)
    return []


def _python_module(cmd: Command, ctx: Context) -> list[Finding]:
    """``python3 -I -m opsgate approve``, ``python3 -mopsgate …``: the CLI, or a module
    with administrative power (``python3 -m opsgate.server``)."""
    from opsgate.classify._run_interp import python_target

    target = python_target(cmd)
    if target is None or target[0] != "module":
        return []
    module, at = target[1], target[2]
    if module in _CLI_MODULES:
        if cmd.words[0] == "-m":
            return []  # `python -m opsgate …`: `_guard` judges it as the CLI already
        from opsgate.classify._guard import command_findings as cli_findings

        inner = type(cmd)("opsgate", cmd.args[at:], cmd.text, cmd.env, cmd.stdin, cmd.cwd)
        return cli_findings(inner, ctx)
    head, _, rest = module.partition(".")
    if head == "opsgate" and rest.split(".")[0] not in _PUBLIC_MODULES:
        return [_tamper(cmd.text, f"runs opsgate's module {module}, which administers the guard")]
    return []


def _http_client(cmd: Command) -> list[Finding]:
    words = cmd.words
    text = "\n".join(words)  # one search for all words; no pattern crosses a newline
    if _MARKERS.search(text):
        reason = "sends a person's opsgate session or an opsgate API token: only people do"
        return [_tamper(cmd.text, reason)]
    if "/" not in text:
        return []
    # Only a request that changes something can post a form or write a route.
    any_method = _ADMIN_ANY.search(text) is not None
    writes = not any_method and _writes(words)
    if not any_method and not writes:
        return []
    for word in words:
        route = _admin_route(word, writes=writes)
        if route is not None:
            return [_tamper(cmd.text, f"{cmd.name} {route}", word)]
    return []


def _writes(words: tuple[str, ...]) -> bool:
    for i, word in enumerate(words):
        flag = word.split("=", 1)[0]
        if flag in _WRITE_FLAGS or (word.startswith(("--data", "-d")) and len(word) > 2):
            return True
        if word.upper() in _WRITE_METHODS:
            return True
        if flag in _METHOD_FLAGS and i + 1 < len(words) and words[i + 1].upper() != "GET":
            return True
        if word.startswith("-X") and word[2:].upper() in _WRITE_METHODS:
            return True
        if _DATA_ITEM.match(word) and "://" not in word:  # httpie's data items
            return True
    return False


def _admin_route(text: str, *, writes: bool) -> str | None:
    """Why ``text`` (a URL, or code holding one) names an administrative route, or None."""
    if _ADMIN_ANY.search(text):
        return "calls the control plane's approval or lockdown API, a person's decision"
    if writes and _ADMIN_WRITE.search(text) and _own_address(text):
        return "changes people, tokens, settings, secrets or inventory through the control plane"
    if writes and "://" in text and _console_form(text):
        return "posts a form of opsgate's console"
    return None


def _own_address(text: str) -> bool:
    """Whether ``text`` (a URL, or code holding one) points at opsgate's control plane:
    its default port, ``$OPSGATE_URL``, or the address that variable holds."""
    if f":{_DEFAULT_PORT}" in text or "OPSGATE_URL" in text:
        return True
    own = _own_netloc()
    return bool(own) and own in text.lower()


def _own_netloc() -> str:
    """The host[:port] of ``$OPSGATE_URL``, lower case; empty when unset or malformed."""
    own = os.environ.get("OPSGATE_URL", "")
    try:
        return urlsplit(own).netloc.lower() if own else ""
    except ValueError:
        return ""


def _console_form(url: str) -> bool:
    try:
        parts = urlsplit(url.strip("'\""))
        port = parts.port
    except ValueError:
        return False
    if parts.path.rstrip("/").lower() not in _CONSOLE_FORMS:
        return False
    if port == _DEFAULT_PORT:
        return True
    own = _own_netloc()
    return bool(own) and own == parts.netloc.lower()


# --- interpreter code ----------------------------------------------------------------------
def code_findings(lang: str, code: str) -> list[Finding]:
    """Administrative routes in code given to an interpreter (inline or a file)."""
    if _MARKERS.search(code):
        return [
            _tamper(
                code,
                f"{lang} code sends a person's opsgate session or an opsgate "
                "API token: only people act with these",
            )
        ]
    why = _admin_route(code, writes=bool(_CODE_WRITES.search(code)))
    if why is not None:
        return [_tamper(code, f"{lang} code {why}")]
    if "opsgate" not in code.lower():
        code = _JOINED.sub("", code)  # "ops" + "gate.cli": the name in pieces
        if "opsgate" not in code.lower():
            return []
    if lang == "python":
        return _python_imports(code)
    if _SPAWNS.search(code) and _OPSGATE_PROGRAM.search(code):
        return [_tamper(code, f"{lang} code starts opsgate with arguments opsgate cannot read")]
    return []


def _python_imports(code: str) -> list[Finding]:
    """Python that imports opsgate beyond its SDK, or by a name built at run time."""
    for m in _IMPORT.finditer(code):
        for module in _imported(m):
            head, _, rest = module.partition(".")
            if head == "opsgate" and rest and rest.split(".")[0] not in _PUBLIC_MODULES:
                return [
                    _tamper(
                        code,
                        f"python code imports {module}, opsgate's own "
                        "administrative code (it acts with the person's login)",
                    )
                ]
    imports = _IMPORT.search(code) is not None
    if _DYNAMIC.search(code):
        return [
            _tamper(
                code,
                "python code imports modules by a name built at run time beside opsgate's name",
            )
        ]
    if imports:
        for m in _ATTRIBUTE.finditer(code):
            if m.group(1) not in _PUBLIC_MODULES:
                return [
                    _tamper(
                        code,
                        f"python code reaches opsgate.{m.group(1)}, "
                        "opsgate's own administrative code",
                    )
                ]
    return []


def _imported(m: re.Match[str]) -> list[str]:
    """The opsgate modules (or names) one import statement brings in."""
    if m.group(1):  # from X import a, b: a and b may be submodules
        base = m.group(1)
        names = [n.split(" as ")[0].strip() for n in m.group(2).strip("() \n").split(",")]
        if base != "opsgate":
            return [base]
        return [f"opsgate.{n}" for n in names if n and n != "*"] or ["opsgate.*"]
    return [part.split(" as ")[0].strip() for part in m.group(3).split(",")]
