"""Framework commands that evaluate code or print resolved configuration.

``mix run -e CODE`` is ``elixir -e CODE`` inside the application; ``rails runner
CODE`` is ``ruby -e CODE``; ``php artisan tinker --execute CODE`` is ``php -r CODE``.
The code is judged as that interpreter's (``_interp``), so printing
``System.get_env()`` or ``ENV.to_h`` is an environment dump, whatever the runner.

``php artisan config:show KEY`` prints a configuration value as the application
resolves it, passwords and API keys included: a key inside one of Laravel's
credential-bearing files (``database``, ``services``, ``mail`` …) above the level
where the secrets are (``database.connections.pgsql``), or a leaf named like a secret
(``services.stripe.secret``), is a secret read.  ``config:show app.timezone`` is not.
"""

from __future__ import annotations

import re

from opsgate.classify._command import Arg, Command, Context
from opsgate.models import Effect, Finding, Impact

__all__ = ["artisan_reveals", "mix_eval", "rails_runner_code"]

# Laravel's configuration files that hold credentials, and the depth of their leaves
# (``database.connections.pgsql.password`` is four deep): a shorter key prints a part
# of the file that holds them.
_SECRET_CONFIGS = {"database": 4, "services": 3, "mail": 4, "app": 2, "filesystems": 4,
                   "queue": 4, "broadcasting": 4, "logging": 4, "cache": 4, "session": 2,
                   "scout": 3, "sanctum": 2, "passport": 2, "horizon": 3, "reverb": 4}  # fmt: skip
_SECRET_LEAF = re.compile(r"(?i)(key|secret|password|passwd|pwd|token|url|dsn|credential|"
                          r"auth|webhook|private|cert|signature|salt|pass)")  # fmt: skip


def artisan_reveals(cmd: Command, ctx: Context, words: list[str]) -> list[Finding]:
    """``config:show KEY`` of credentials; ``tinker --execute CODE`` as PHP."""
    if words[:1] == ["tinker"]:
        return _as_code(cmd, ctx, "php", "-r", cmd.option("--execute"))
    if words[:1] != ["config:show"]:
        return []
    key = words[1] if len(words) > 1 else ""
    parts = key.split(".") if key else []
    depth = _SECRET_CONFIGS.get(parts[0]) if parts else None
    if parts and depth is None:
        return []  # the project's own configuration file: nothing known about it
    if parts and depth is not None and len(parts) >= depth and not _SECRET_LEAF.search(parts[-1]):
        return []
    shown = key or "the whole configuration"
    reason = f"artisan config:show prints {shown} as resolved, with its passwords and keys"
    return [Finding("secrets.read", Impact.CAUTION, Effect.SECRET, cmd.text[:200], reason)]


def mix_eval(cmd: Command, ctx: Context) -> list[Finding]:
    """``mix run -e CODE`` / ``--eval CODE``: Elixir in the application."""
    words = list(cmd.words)
    if words[:1] != ["run"]:
        return []
    return _as_code(cmd, ctx, "elixir", "-e", cmd.option("-e", "--eval"))


def rails_runner_code(cmd: Command, ctx: Context, words: list[str]) -> list[Finding]:
    """``rails runner CODE``: Ruby in the application (a file is read as Ruby)."""
    if words[:1] not in (["runner"], ["r"]) or len(words) < 2:
        return []
    code = words[1]
    if code.endswith(".rb") and "\n" not in code:
        return _as_code(cmd, ctx, "ruby", None, code)
    return _as_code(cmd, ctx, "ruby", "-e", code)


def _as_code(
    cmd: Command, ctx: Context, program: str, flag: str | None, code: str | None
) -> list[Finding]:
    """The findings of ``program [flag] code`` run where ``cmd`` runs."""
    from opsgate.classify import families

    handler = families.handler_for(program)
    if handler is None or code is None:
        return []
    args = (Arg(flag), Arg(code)) if flag else (Arg(code),)
    return handler(Command(program, args, cmd.text, cmd.env, None, cmd.cwd), ctx)
