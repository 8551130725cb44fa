"""What a grant is bound to besides the action itself (SPEC §6).

An approval covers exactly what the approver saw decided: the action, and
everything its decision rested on — the hash of every file the classification
read (``psql -f fix.sql`` and the files it ``\\i``-includes, a script, a Makefile,
a manifest ``kubectl apply -f`` names) and whether its text was seen, the digests of
the directories a command runs as a whole (terraform's configuration, ``kubectl
apply -f DIR``, recorded by the classification as facts), the working directory,
and the resolved context the connected hook reported (git branch, Kubernetes
context and the cluster, user and namespace it resolves to, cloud profile,
terraform workspace, Docker context, target-selecting environment variables; see
``hooks._context``).  Its digest goes into the grant's action hash, so a retry
after any of these changed matches no grant and needs a new card.

Whether a file's text was seen is bound too: a card approved for a file sent by
hash only ("a file opsgate cannot read") does not cover the same bytes read and
judged by the hook — the approver never saw what that file does.

The card keeps a summary for the approver: paths with their hashes, the working
directory, and the context's names (a Kubernetes context, a profile); a value that
is not one of those names (a ``DATABASE_URL``, a ``PGHOST``) is shown only as a
hash, whatever the client sent.  File texts are never part of it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from opsgate.models import Action, Classification

__all__ = ["SHOWN_CONTEXT", "Binding", "binding_of"]

# Context keys whose values are names a person recognises (shown on the card);
# every other value is shown as a hash.  ``hooks._context`` produces these keys.
SHOWN_CONTEXT = frozenset(
    {
        "git.branch",
        "kube.context",
        "kube.server",
        "kube.namespace",
        "aws.profile",
        "aws.region",
        "gcloud.project",
        "gcloud.config",
        "azure.subscription",
        "terraform.workspace",
        "docker.context",
        "env.RAILS_ENV",
        "env.RACK_ENV",
        "env.NODE_ENV",
        "env.APP_ENV",
        "env.FLASK_ENV",
        "env.MIX_ENV",
        "env.ENVIRONMENT",
        "env.ASPNETCORE_ENVIRONMENT",
        "env.HELM_KUBECONTEXT",
        "env.PULUMI_STACK",
    }
)
_MAX_SHOWN = 120


@dataclass(frozen=True, slots=True)
class Binding:
    cwd: str | None
    files: tuple[tuple[str, str], ...]  # (path, sha256 or "" when unreadable)
    context: tuple[tuple[str, str], ...]
    unread: tuple[str, ...] = ()  # paths of ``files`` the classification had no text of
    digest: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        body = json.dumps(
            {
                "cwd": self.cwd or "",
                "files": self.files,
                "context": self.context,
                "unread": self.unread,
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        digest = hashlib.sha256(b"opsgate-binding-v2\x00" + body.encode("utf-8")).hexdigest()
        object.__setattr__(self, "digest", digest)  # frozen: computed once, here

    def to_json(self) -> dict[str, Any]:
        """What the card shows and stores: no file text, no unnamed value."""
        return {
            "cwd": self.cwd,
            "files": [
                {"path": p, "sha256": h, "read": p not in self.unread} for p, h in self.files
            ],
            "context": {k: _shown(k, v) for k, v in self.context},
            "digest": self.digest,
        }


def binding_of(action: Action, classification: Classification) -> Binding:
    files = tuple(sorted((f.path, f.sha256) for f in classification.files))
    unread = tuple(sorted({f.path for f in classification.files if f.text is None}))
    context = dict(action.context)
    context.update(classification.facts)  # what the classification resolved itself
    return Binding(action.cwd, files, tuple(sorted(context.items())), unread)


def _shown(key: str, value: str) -> str:
    name = key.split("@", 1)[0]
    if name in SHOWN_CONTEXT and not value.startswith("sha256:"):
        return value[:_MAX_SHOWN]
    if value.startswith("sha256:"):
        return value[:19] + "…"
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:12] + "…"
