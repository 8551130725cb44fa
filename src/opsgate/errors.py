"""One error base for opsgate.  Every error says what went wrong and what to do.

Errors are failures, never verdicts: a decision is a returned value.  The CLI's
``main`` is the one place these are caught and turned into messages and exit codes.
"""

from __future__ import annotations

__all__ = [
    "ClassificationBudgetExceeded",
    "InputError",
    "MissingExtra",
    "OpsgateError",
    "PolicyError",
]


class OpsgateError(Exception):
    """Base class.  ``code`` is stable; ``exit_code`` is what the CLI returns."""

    code = "opsgate_error"
    exit_code = 1

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
    exit_code = 2


class PolicyError(OpsgateError):
    """A policy file that cannot be loaded; the message names file and line."""

    code = "bad_policy"
    exit_code = 3


class ClassificationBudgetExceeded(OpsgateError):
    """Classification ran past its time or size budget (the answer is deny)."""

    code = "budget_exceeded"
    exit_code = 2


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
    exit_code = 7

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
