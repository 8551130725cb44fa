"""The resolved context a grant binds to, collected where the hook runs (SPEC §6).

An approval covers the action in the context it was approved in: the same command
after ``kubectl config use-context prod-eu``, ``terraform workspace select
production``, another ``AWS_PROFILE`` or a checkout of another branch is a
different action.  The connected hook sends this with a proposal that needs a
card (``_connect``), the control plane folds it into the grant's digest
(``approvals._binding``); nothing here runs for a call that is simply allowed.

What is collected, each from the hook's environment and a few small files:

- ``git.branch@DIR``: the checked-out branch at the working directory;
- ``kube.context``: ``current-context`` of ``$KUBECONFIG`` (each file in turn) or
  ``~/.kube/config``; and what the contexts resolve to (``_kubeconfig``): the
  current cluster's address and namespace, and a hash of every context's cluster,
  user and namespace — never a credential the file holds;
- ``aws.profile``, ``aws.region``; ``gcloud.config``, ``gcloud.project``
  (``$CLOUDSDK_*`` or the active gcloud configuration); ``azure.subscription``
  (``$AZURE_SUBSCRIPTION_ID``/``$ARM_SUBSCRIPTION_ID`` or the default subscription
  of ``azureProfile.json``); ``terraform.workspace`` (``$TF_WORKSPACE`` or
  ``.terraform/environment``); ``docker.context`` (``$DOCKER_CONTEXT`` or
  ``currentContext`` of the Docker CLI's config);
- ``env.NAME`` for variables that name an environment (``RAILS_ENV``,
  ``NODE_ENV``, ``APP_ENV``, …) as they are, and for variables that select a
  target or credentials (``PGHOST``, ``PGDATABASE``, ``DATABASE_URL``,
  ``DOCKER_HOST``, ``KUBECONFIG``, ``AWS_ACCESS_KEY_ID``, …) only as
  ``sha256:…`` — the value itself never leaves the machine.

Bounded and cheap: no process is started, each file is read up to ``_MAX_BYTES``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping

from opsgate.classify._files import read_branch

__all__ = ["CONTEXT_ENV", "HASHED_ENV", "NAMED_ENV", "collect"]

_MAX_BYTES = 256 * 1024

# Variables whose value names an environment or a setting by name: sent as they are.
NAMED_ENV = (
    "RAILS_ENV", "RACK_ENV", "NODE_ENV", "APP_ENV", "FLASK_ENV", "MIX_ENV", "ENVIRONMENT",
    "ASPNETCORE_ENVIRONMENT", "HELM_KUBECONTEXT", "PULUMI_STACK",
)  # fmt: skip
# Variables that select a target or credentials: sent only as a hash.
HASHED_ENV = (
    "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE", "DATABASE_URL",
    "MYSQL_HOST", "MYSQL_TCP_PORT", "REDIS_URL", "MONGODB_URI", "MONGO_URL", "DOCKER_HOST",
    "KUBECONFIG", "AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL", "GOOGLE_APPLICATION_CREDENTIALS",
    "VAULT_ADDR", "NOMAD_ADDR", "CONSUL_HTTP_ADDR", "TF_DATA_DIR",
)  # fmt: skip
# Variables read to resolve a named context (cloud profiles, config locations).
_RESOLVING_ENV = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
    "CLOUDSDK_CONFIG", "CLOUDSDK_ACTIVE_CONFIG_NAME", "CLOUDSDK_CORE_PROJECT",
    "AZURE_CONFIG_DIR", "AZURE_SUBSCRIPTION_ID", "ARM_SUBSCRIPTION_ID", "TF_WORKSPACE",
    "DOCKER_CONTEXT", "DOCKER_CONFIG",
)  # fmt: skip
# Everything the hook's resident service must be given by each hook call.
CONTEXT_ENV = NAMED_ENV + HASHED_ENV + _RESOLVING_ENV

_CURRENT_CONTEXT = re.compile(r"^current-context:[ \t]*['\"]?([^'\"\r\n#]*?)['\"]?[ \t]*$", re.M)
_GCLOUD_PROJECT = re.compile(r"^\s*project\s*=\s*(\S+)\s*$", re.M)


def collect(cwd: str | None, env: Mapping[str, str]) -> dict[str, str]:
    """The context at ``cwd`` under ``env``: key → name, or ``sha256:…`` for values
    that must not leave the machine."""
    home = env.get("HOME") or os.path.expanduser("~")
    found: dict[str, str | None] = {
        "kube.context": _kube_context(env, home),
        "aws.profile": env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE"),
        "aws.region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        "azure.subscription": _azure_subscription(env, home),
        "docker.context": env.get("DOCKER_CONTEXT") or _docker_context(env, home),
    }
    found.update(_gcloud(env, home))
    found.update(_kube_resolved(env, home))
    if cwd:
        found[f"git.branch@{cwd}"] = read_branch(cwd) or ""
        found["terraform.workspace"] = env.get("TF_WORKSPACE") or _terraform(cwd, env)
    for name in NAMED_ENV:
        found[f"env.{name}"] = env.get(name)
    for name in HASHED_ENV:
        value = env.get(name)
        found[f"env.{name}"] = _hashed(value) if value is not None else None
    return {k: v[:1000] for k, v in found.items() if v is not None}


def _hashed(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


def _kube_paths(env: Mapping[str, str], home: str) -> list[str]:
    paths = [p for p in (env.get("KUBECONFIG") or "").split(os.pathsep) if p]
    return paths or [os.path.join(home, ".kube", "config")]


def _kube_resolved(env: Mapping[str, str], home: str) -> dict[str, str | None]:
    from opsgate.hooks._kubeconfig import resolve

    return dict(resolve(_kube_paths(env, home), _head))


def _kube_context(env: Mapping[str, str], home: str) -> str | None:
    for path in _kube_paths(env, home):
        text = _head(path)
        match = _CURRENT_CONTEXT.search(text or "")
        if match and match.group(1).strip():
            return match.group(1).strip()
    return None


def _gcloud(env: Mapping[str, str], home: str) -> dict[str, str | None]:
    root = env.get("CLOUDSDK_CONFIG") or os.path.join(home, ".config", "gcloud")
    name = (
        env.get("CLOUDSDK_ACTIVE_CONFIG_NAME")
        or (_head(os.path.join(root, "active_config")) or "").strip()
    )
    project = env.get("CLOUDSDK_CORE_PROJECT")
    if project is None and name and "/" not in name:
        match = _GCLOUD_PROJECT.search(
            _head(os.path.join(root, "configurations", f"config_{name}")) or ""
        )
        project = match.group(1) if match else None
    return {"gcloud.config": name or None, "gcloud.project": project}


def _azure_subscription(env: Mapping[str, str], home: str) -> str | None:
    named = env.get("AZURE_SUBSCRIPTION_ID") or env.get("ARM_SUBSCRIPTION_ID")
    if named:
        return named
    root = env.get("AZURE_CONFIG_DIR") or os.path.join(home, ".azure")
    data = _json(os.path.join(root, "azureProfile.json"))
    subscriptions = data.get("subscriptions") if isinstance(data, dict) else None
    for sub in subscriptions if isinstance(subscriptions, list) else []:
        if isinstance(sub, dict) and sub.get("isDefault") and isinstance(sub.get("id"), str):
            return str(sub["id"])
    return None


def _docker_context(env: Mapping[str, str], home: str) -> str | None:
    root = env.get("DOCKER_CONFIG") or os.path.join(home, ".docker")
    data = _json(os.path.join(root, "config.json"))  # only currentContext is kept
    value = data.get("currentContext") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _terraform(cwd: str, env: Mapping[str, str]) -> str | None:
    data_dir = env.get("TF_DATA_DIR") or ".terraform"
    text = _head(os.path.join(cwd, data_dir, "environment"))
    return text.strip() if text else None


def _json(path: str) -> object:
    text = _head(path)
    if not text:
        return None
    try:
        return json.loads(text.lstrip("\ufeff"))
    except ValueError:
        return None


def _head(path: str) -> str | None:
    """The start of a small regular file, or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not _regular(fd):
            return None
        return os.read(fd, _MAX_BYTES).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def _regular(fd: int) -> bool:
    import stat

    return stat.S_ISREG(os.fstat(fd).st_mode)
