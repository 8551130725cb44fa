"""Secret operands: which paths a command reads hold credentials, and the findings for them."""

from __future__ import annotations

import glob
import itertools
import re
from collections.abc import Iterable

from opsgate.classify._command import Arg, Command, Context
from opsgate.classify.paths import Workspace, is_secret_path
from opsgate.models import Effect, Finding, Impact

__all__ = ["_SECRET_PATTERN", "_resolve", "_secret", "env_dump", "redirect_read", "secret_operands"]

_SECRET_PATTERN = re.compile(
    r"(PRIVATE KEY|password|passwd|secret|token|api[_-]?key|AKIA|BEGIN (RSA|OPENSSH|EC|DSA))",
    re.IGNORECASE,
)


_PROC_ENVIRON_DYNAMIC = re.compile(r"^/proc/.*/environ$")


def _secret(evidence: str, reason: str, target: str | None = None) -> Finding:
    return Finding("secrets.read", Impact.CAUTION, Effect.SECRET, evidence, reason, target)


def env_dump(evidence: str) -> list[Finding]:
    return [
        Finding(
            "secrets.env_dump",
            Impact.CAUTION,
            Effect.SECRET,
            evidence,
            "prints every environment variable with its value (API keys and tokens included)",
        )
    ]


def _resolve(path: str, ctx: Context, cwd: str | None) -> str:
    ws = getattr(ctx, "workspace", None) or Workspace(ctx.project_dir, ctx.home)
    return ws.expand(path, cwd) or path


def secret_operands(
    cmd: Command, operands: Iterable[Arg], ctx: Context, *, verb: str = "prints"
) -> list[Finding]:
    out = []
    for arg in operands:
        if arg.static and _glob_may_match_secret(arg.value):
            out.append(_secret(cmd.text, f"{verb} {arg.value}, which matches credential files"))
            continue
        if not arg.static:
            if _PROC_ENVIRON_DYNAMIC.match(arg.value):
                out.append(_secret(cmd.text, "prints a process's environment", arg.value))
            continue
        full = _resolve(arg.value, ctx, cmd.cwd)
        if is_secret_path(full) or is_secret_path(arg.value):
            out.append(_secret(cmd.text, f"{verb} {arg.value}, which holds credentials", full))
        elif arg.static and ctx.remote is None and (picked := _picks_secret_file(full)):
            out.append(_secret(cmd.text, f"{verb} {arg.value}, which expands to {picked}", picked))
    return out


def _picks_secret_file(pattern: str) -> str | None:
    """A generic glob (``config/*.json``) is judged by what it expands to on this
    machine now: the first credentials file among its first 500 matches, if any."""
    if not pattern.startswith("/") or not any(ch in pattern for ch in "*?["):
        return None
    for match in itertools.islice(glob.iglob(pattern), 500):
        if is_secret_path(match):
            return match
    return None


_SECRET_EXAMPLES = (".env", ".env.local", ".env.production", "id_rsa", "id_ed25519", "key.pem",
                    "server.key", "cert.p12", ".npmrc", ".pypirc", ".netrc", ".pgpass",
                    "terraform.tfstate", "credentials", ".vault-token", ".git-credentials",
                    "secrets.yml", "kubeconfig")  # fmt: skip


def _glob_may_match_secret(path: str) -> bool:
    """``cat .e*``, ``cat *.pem``: a glob that would expand to a credential file."""
    import fnmatch

    base = path.rstrip("/").rsplit("/", 1)[-1]
    if not any(ch in base for ch in "*?[") or base in ("*", "*.*", "**"):
        return False
    return any(fnmatch.fnmatchcase(name, base) for name in _SECRET_EXAMPLES)


def redirect_read(path: str, ctx: Context) -> list[Finding]:
    full = _resolve(path, ctx, None)
    if is_secret_path(full) or is_secret_path(path):
        return [_secret(f"< {path}", f"feeds the secret file {path} to a command", full)]
    return []
