"""Secret operands: which paths a command reads hold credentials, and the findings for them."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

from opsgate.classify._command import Arg, Command, Context
from opsgate.classify._paths_opsgate import names_opsgate_secret
from opsgate.classify.paths import Workspace, holds_secrets, is_secret_dir, is_secret_path
from opsgate.models import Effect, Finding, Impact

__all__ = [
    "_SECRET_PATTERN",
    "_resolve",
    "_secret",
    "env_dump",
    "judge_operand",
    "real_path",
    "redirect_read",
    "secret_behind",
    "secret_operands",
    "secret_write",
]

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
    if cwd is None:
        scope = getattr(ctx, "scope", None)
        cwd = getattr(scope, "cwd", None)
    if "/" not in path and path not in (".", "..", "") and path[0] != "~" and cwd:
        return f"{cwd.rstrip('/')}/{path}"  # a plain name in the working directory
    if path.startswith("/") and "/." not in path and "//" not in path:
        return path.rstrip("/") or "/"  # already absolute and normal
    ws = getattr(ctx, "workspace", None) or Workspace(ctx.project_dir, ctx.home)
    return ws.expand(path, cwd) or path


def secret_behind(path: str, ctx: Context, cwd: str | None = None) -> str | None:
    """The credentials file ``path`` names, by its name or through links (made earlier
    in the command, or on disk), else None: for programs that open a path they were
    given in code (``open('data.txt')``)."""
    if is_secret_path(path):
        return path
    full = _resolve(path, ctx, cwd)
    if is_secret_path(full):
        return full
    real = real_path(full, ctx) if full.startswith("/") else full
    return real if real != full and is_secret_path(real) else None


def real_path(full: str, ctx: Context) -> str:
    """Where ``full`` really leads: through links made earlier in the command and links
    on disk (the walker knows both; a context without files resolves nothing)."""
    resolve = getattr(ctx, "real_path", None)
    return str(resolve(full)) if callable(resolve) else full


def secret_operands(
    cmd: Command,
    operands: Iterable[Arg],
    ctx: Context,
    *,
    verb: str = "prints",
    recursive: bool = False,
) -> list[Finding]:
    out = []
    for arg in operands:
        finding = judge_operand(cmd, arg, ctx, verb=verb, recursive=recursive)
        if finding is not None:
            out.append(finding)
    return out


def judge_operand(
    cmd: Command,
    arg: Arg,
    ctx: Context,
    *,
    verb: str,
    recursive: bool = False,
    tree: bool = False,
    follow: bool = True,
    expand: bool = True,
) -> Finding | None:
    """The secret read in one operand, or None.  ``recursive``: the program descends
    into a directory it is given; ``tree``: it takes the whole tree (an archive or a
    copy), so a directory above a credentials directory (``~``) counts too; ``follow``:
    symlinks on disk are followed (one or two system calls); ``expand``: a glob is
    expanded on disk to see whether it picks a credentials file (a directory listing)."""
    value = arg.value
    if not arg.static:
        if _PROC_ENVIRON_DYNAMIC.match(value):
            return _secret(cmd.text, "prints a process's environment", value)
        if names_opsgate_secret(value):  # $OPSGATE_HOME/session.json, whatever it holds
            return _secret(cmd.text, f"{verb} {value}, which holds credentials", value)
        picked = _chosen_secret(value, ctx)
        if picked is not None:
            reason = f"{verb} files a substitution picks from {picked}, which holds credentials"
            return _secret(cmd.text, reason, picked)
        return None
    globbed = _GLOB.search(value) is not None
    if globbed and _glob_may_match_secret(value):
        return _secret(cmd.text, f"{verb} {value}, which matches credential files")
    full = _resolve(value, ctx, cmd.cwd)
    if is_secret_path(full) or is_secret_path(value):
        return _secret(cmd.text, f"{verb} {value}, which holds credentials", full)
    real = real_path(full, ctx) if follow and full.startswith("/") else full
    if real != full and is_secret_path(real):
        return _secret(cmd.text, f"{verb} {value}, a link to {real}", real)
    if recursive:
        for path in dict.fromkeys((full, real)):
            if is_secret_dir(path) or (tree and holds_secrets(path, ctx.home)):
                return _secret(cmd.text, f"{verb} {value}, which holds credentials", path)
    if globbed and expand and ctx.remote is None and (picked := _glob_pick(ctx, full, recursive)):
        return _secret(cmd.text, f"{verb} {value}, which expands to {picked}", picked)
    return None


_GLOB = re.compile(r"[*?\[]")
# Paths written inside a substitution: ``$(ls ~/.ssh/id_* | grep -v pub)``.
_SUBSTITUTION = re.compile(r"\$\(|`")
_PATH_WORD = re.compile(r"""(?:~|\$\{?HOME\}?|/)[^\s'"|;&)`]*|(?<![\w/])\.env[\w.-]*""")


def _chosen_secret(value: str, ctx: Context) -> str | None:
    """A credentials place named inside the substitution that builds an operand
    (``cat $(ls ~/.ssh/id_*)``, ``cat $(find ~/.aws -type f)``): the files it picks
    at run time come from there.  None when it names none."""
    if _SUBSTITUTION.search(value) is None:
        return None
    home = ctx.home
    for match in _PATH_WORD.finditer(value):
        word = match.group().rstrip("/")
        if word.endswith(".pub"):
            continue  # public keys (``~/.ssh/*.pub``) are no secret
        path = re.sub(r"^(?:~|\$\{?HOME\}?)", home, word) if home else word
        if not path:
            continue
        if _GLOB.search(path) and _glob_may_match_secret(path):
            return word
        if is_secret_path(path) or is_secret_dir(path):
            return word
    return None


def secret_write(path: str, ctx: Context, evidence: str, how: str) -> list[Finding]:
    """Writing a credentials file is stopped for a human (see docs): the value it replaces
    is lost, and an edit proves or probes what it was."""
    from opsgate.models import Environment

    full = _resolve(path, ctx, None)
    real = real_path(full, ctx) if full.startswith("/") else full
    hit = full if is_secret_path(full) else real if is_secret_path(real) else None
    if hit is None:
        return []
    return [
        Finding(
            "secrets.write",
            Impact.CAUTION,
            Effect.WRITE,
            evidence,
            f"{how} {path}, a credentials file",
            hit,
            Environment.LOCAL,
            "agent workspace",
        )
    ]


def _glob_pick(ctx: Context, pattern: str, recursive: bool) -> str | None:
    """A generic glob (``config/*.json``, ``*/notes.txt``) is judged by what it expands
    to on the agent's machine now, through links: the first credentials file among its
    first 500 matches (for a program that recurses, a credentials directory too).
    Asked of the file source, which records the answer."""
    session = getattr(ctx, "session", None)
    if session is None or not pattern.startswith("/") or not _GLOB.search(pattern):
        return None
    return session.files.glob_secret(pattern, ctx.home, trees=recursive)  # type: ignore[no-any-return]  # a ShellSession's FileSource


_SECRET_EXAMPLES = (".env", ".env.local", ".env.production", "id_rsa", "id_ed25519", "key.pem",
                    "server.key", "cert.p12", ".npmrc", ".pypirc", ".netrc", ".pgpass",
                    "terraform.tfstate", "credentials", ".vault-token", ".git-credentials",
                    "secrets.yml", "kubeconfig")  # fmt: skip


def _glob_may_match_secret(path: str) -> bool:
    """``cat .e*``, ``cat *.pem``: a glob that would expand to a credential file."""
    base = path.rstrip("/").rsplit("/", 1)[-1]
    if not any(ch in base for ch in "*?[") or base in ("*", "*.*", "**"):
        return False
    return any(fnmatch.fnmatchcase(name, base) for name in _SECRET_EXAMPLES)


def redirect_read(path: str, ctx: Context) -> list[Finding]:
    full = _resolve(path, ctx, None)
    if is_secret_path(full) or is_secret_path(path):
        return [_secret(f"< {path}", f"feeds the secret file {path} to a command", full)]
    real = real_path(full, ctx) if full.startswith("/") else full
    if real != full and is_secret_path(real):
        return [_secret(f"< {path}", f"feeds {path}, a link to {real}, to a command", real)]
    return []
