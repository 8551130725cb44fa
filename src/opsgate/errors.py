"""One error base for opsgate.  Every error says what went wrong and what to do.

Errors are failures, never verdicts: a decision is a returned value.  The CLI's
``main`` is the one place these are caught and turned into messages and exit codes.
"""

from __future__ import annotations

__all__ = [
    "EXIT_CODES",
    "CannotListen",
    "ClassificationBudgetExceeded",
    "ConfigError",
    "InputError",
    "MissingExtra",
    "OpsgateError",
    "PolicyError",
    "Unreachable",
]

# The CLI's exit codes: one per kind of outcome, documented in docs/cli.md (a test
# keeps that table equal to this one).  Errors carry theirs as ``exit_code``.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BAD_POLICY = 3
EXIT_REFUSED = 4
EXIT_AUDIT_UNAVAILABLE = 5
EXIT_STORE_UNAVAILABLE = 6
EXIT_MISSING_EXTRA = 7
EXIT_AUDIT_TAMPERED = 8
EXIT_BAD_CONFIG = 9
EXIT_APPROVAL = 10
EXIT_DENY = 11
EXIT_UNREACHABLE = 12
EXIT_CANNOT_LISTEN = 13
EXIT_INTERRUPTED = 130

EXIT_CODES: tuple[tuple[int, str, str], ...] = (
    (EXIT_OK, "ok", "done; `check`: the action is allowed"),
    (EXIT_FAILED, "failed", "a check did not pass: `doctor`, a `policy test` mismatch, a "
     "`policy diff` that loosens, an operation that could not run"),
    (EXIT_USAGE, "usage", "the command line or its input is wrong (unknown flag, malformed "
     "JSON, bad parameters, a secret given as a raw value)"),
    (EXIT_BAD_POLICY, "bad_policy", "a policy or operations file cannot be loaded"),
    (EXIT_REFUSED, "refused", "the control plane refused: a role rule, a safeguard, a deny, "
     "a state conflict, unknown or expired credentials"),
    (EXIT_AUDIT_UNAVAILABLE, "audit_unavailable", "the audit trail cannot be written"),
    (EXIT_STORE_UNAVAILABLE, "store_unavailable", "the control plane's database cannot be "
     "opened, migrated or written"),
    (EXIT_MISSING_EXTRA, "missing_extra", "the command needs an extra this install lacks"),
    (EXIT_AUDIT_TAMPERED, "audit_tampered", "`audit verify` (or `incident report`) found "
     "the trail altered"),
    (EXIT_BAD_CONFIG, "bad_config", "a setting, the config file, a missing data directory, "
     "a key or witness that cannot be used"),
    (EXIT_APPROVAL, "require_approval", "`check`: the action needs a person's approval"),
    (EXIT_DENY, "deny", "`check`: the action is denied"),
    (EXIT_UNREACHABLE, "unreachable", "the control plane (OPSGATE_URL) cannot be reached"),
    (EXIT_CANNOT_LISTEN, "cannot_listen", "`serve` or `mcp` cannot listen on its address "
     "(in use, not permitted)"),
    (EXIT_INTERRUPTED, "interrupted", "stopped by Ctrl-C"),
)  # fmt: skip


class OpsgateError(Exception):
    """Base class.  ``code`` is stable; ``exit_code`` is what the CLI returns."""

    code = "opsgate_error"
    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        """The message a person reads: what happened, then what to do."""
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class InputError(OpsgateError):
    """Malformed or oversized input from an agent or a user."""

    code = "bad_input"
    exit_code = EXIT_USAGE


class PolicyError(OpsgateError):
    """A policy file that cannot be loaded; the message names file and line."""

    code = "bad_policy"
    exit_code = EXIT_BAD_POLICY


class ClassificationBudgetExceeded(OpsgateError):
    """Classification ran past its time or size budget (the answer is deny)."""

    code = "budget_exceeded"
    exit_code = EXIT_USAGE


class ConfigError(OpsgateError):
    """A setting that cannot be used: a bad value, a broken config file, a data
    directory that does not exist.  The message names the setting and its source."""

    code = "bad_config"
    exit_code = EXIT_BAD_CONFIG


class CannotListen(OpsgateError):
    """A server cannot listen on its address (in use, not permitted)."""

    code = "cannot_listen"
    exit_code = EXIT_CANNOT_LISTEN


class Unreachable(OpsgateError):
    """The control plane named by OPSGATE_URL (or --url) did not answer."""

    code = "unreachable"
    exit_code = EXIT_UNREACHABLE


# Optional dependencies (top-level module names) and the extra that installs each
# (pyproject.toml's [project.optional-dependencies]).
EXTRA_OF_MODULE = {
    "anyio": "server",
    "argon2": "server",
    "fastapi": "server",
    "httptools": "server",
    "httpx": "server",
    "jinja2": "server",
    "pydantic": "server",
    "sqlalchemy": "server",
    "starlette": "server",
    "uvicorn": "server",
    "psycopg": "postgres",
    "asyncssh": "execute",
    "mcp": "mcp",
}


class MissingExtra(OpsgateError):
    """A command needs an optional dependency that this install lacks."""

    code = "missing_extra"
    exit_code = EXIT_MISSING_EXTRA

    def __init__(self, extra: str, module: str) -> None:
        super().__init__(
            f"this command needs the {extra!r} extra: pip install 'opsgate[{extra}]'",
            hint=f"the Python module {module!r} is not installed",
        )
        self.extra = extra

    @classmethod
    def from_import(cls, exc: ImportError) -> MissingExtra | None:
        """The extra that would have provided the module ``exc`` failed to import,
        or None when that module is not an optional dependency (a real bug)."""
        module = (exc.name or "").partition(".")[0]
        extra = EXTRA_OF_MODULE.get(module)
        return cls(extra, module) if extra else None
