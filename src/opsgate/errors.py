"""One error base for opsgate.  Every error says what went wrong and what to do.

Errors are failures, never verdicts: a decision is a returned value.  The CLI's
``main`` is the one place these are caught and turned into messages and exit codes.
"""

from __future__ import annotations

__all__ = [
    "ClassificationBudgetExceeded",
    "InputError",
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
