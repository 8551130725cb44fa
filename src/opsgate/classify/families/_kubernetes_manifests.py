"""The manifests a kubectl write applies (``apply``/``create``/``replace``/``delete
-f``, ``-k``): what the command does is written in them, like ``psql -f``'s SQL.

A manifest file is read through the file source, so a grant binds its hash (and the
connected hook sends it on); the namespaces it names are evidence of where it goes
(``namespace: production`` is production whatever ``--context`` says).  A directory
(``-f DIR``, ``-R``; ``-k DIR``) is bound by its digest (``_files_digest``).  Standard
input and URLs cannot be bound: they stay as the command says.  A kubeconfig the
command names is bound by its digest too, and so are what ``helm install/upgrade``
installs: a local chart directory and the values files (``-f``, ``--set-file``),
never read (values files often hold passwords).
"""

from __future__ import annotations

import re

from opsgate.classify._command import Command, Context

__all__ = ["bind_helm", "manifest_names"]

_MANIFESTS = (".yaml", ".yml", ".json")
_DEEP = 16  # ``-R``: kubectl recurses without a limit; the digest's own bounds apply
_KUSTOMIZE_DEPTH = 4
_NAMESPACE = re.compile(r"""(?:^|[\s{,"])namespace"?\s*:\s*['"]?([A-Za-z0-9][A-Za-z0-9.-]*)""")
_KIND_NAMESPACE = re.compile(r"""\bkind"?\s*:\s*['"]?Namespace\b""")
_NAME = re.compile(r"""(?:^|[\s{,"])name"?\s*:\s*['"]?([A-Za-z0-9][A-Za-z0-9.-]*)""")
_DOCUMENTS = re.compile(r"(?m)^---")
_MAX_NAMES = 32


def manifest_names(cmd: Command, ctx: Context) -> list[str]:
    """The namespaces the command's readable manifests name; every manifest file and
    directory is recorded for the grant on the way."""
    from opsgate.classify._files_digest import bind_digest

    names: list[str] = []
    deep = _DEEP if cmd.has("-R", "--recursive") else 0
    for path in cmd.options("-f", "--filename"):
        if path == "-" or "://" in path:
            continue
        if _kind(ctx, path, cmd.cwd) == "dir":
            bind_digest(ctx, path, cmd.cwd, _MANIFESTS, depth=deep)
            continue
        text = ctx.read_text(path, cmd.cwd)
        if text:
            names += _namespaces(text)
    for path in cmd.options("-k", "--kustomize"):
        bind_digest(ctx, path, cmd.cwd, depth=_KUSTOMIZE_DEPTH)
    _bind_kubeconfig(cmd, ctx)
    return list(dict.fromkeys(names))[:_MAX_NAMES]


def _bind_kubeconfig(cmd: Command, ctx: Context) -> None:
    """A kubeconfig the command names (``--kubeconfig``, ``KUBECONFIG=`` set for it)
    decides the cluster as much as ``--context`` does: bound by its digest, so a file
    rewritten to lead elsewhere needs a new card.  (The hook binds the ambient one.)
    A credentials-named file is never opened and counts by its size only."""
    from opsgate.classify._files_digest import bind_digest

    named = [*cmd.options("--kubeconfig"), *(cmd.env.get("KUBECONFIG") or "").split(":")]
    for path in dict.fromkeys(p for p in named if p):
        bind_digest(ctx, path, cmd.cwd)


def _kind(ctx: Context, path: str, cwd: str | None) -> str | None:
    session = getattr(ctx, "session", None)
    if session is None or ctx.remote is not None:
        return None
    full = session.workspace.expand(path, cwd)
    found: str | None = session.files.kind(full) if full is not None else None
    return found


def _namespaces(text: str) -> list[str]:
    """``namespace:`` values, and the names of Namespace objects, in every document."""
    found = _NAMESPACE.findall(text)
    for document in _DOCUMENTS.split(text):
        if _KIND_NAMESPACE.search(document):
            named = _NAME.search(document)
            if named:
                found.append(named.group(1))
    return found


_HELM_CHART_DEPTH = 4


def bind_helm(cmd: Command, ctx: Context, words: list[str]) -> None:
    """``helm install/upgrade RELEASE CHART -f values.yaml``: the local chart and the
    values files decide what is installed; bound by their digests."""
    from opsgate.classify._files_digest import bind_digest

    for path in cmd.options("-f", "--values"):
        if path != "-" and "://" not in path:
            bind_digest(ctx, path, cmd.cwd)
    for value in cmd.options("--set-file"):
        _, _, path = value.partition("=")
        if path:
            bind_digest(ctx, path, cmd.cwd)
    chart = words[2] if len(words) > 2 and words[0] in ("install", "upgrade") else ""
    if chart.startswith((".", "/", "~")):  # a local chart; ``repo/name`` is a repository's
        bind_digest(ctx, chart, cmd.cwd, depth=_HELM_CHART_DEPTH)
    _bind_kubeconfig(cmd, ctx)
