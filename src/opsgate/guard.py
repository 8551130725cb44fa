"""The one call every interface makes: classify an action and decide, failing closed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from opsgate.classify import ClassifyContext, FileSource, classify
from opsgate.errors import OpsgateError
from opsgate.models import Action, Classification, Decision, Environment
from opsgate.policy.engine import decide, decide_failure
from opsgate.policy.model import DEFAULT_POLICY, Policy

if TYPE_CHECKING:
    from opsgate.audit.redact import Redactor

__all__ = ["evaluate", "load_configured_policy"]


def evaluate(
    action: Action,
    policy: Policy = DEFAULT_POLICY,
    *,
    budget_seconds: float | None = None,
    files: Callable[[], FileSource] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Decision:
    """Decide ``action``.  Any failure inside classification is a ``deny``.

    ``files`` makes the classification's file source: by default the local disk
    (the hook and ``opsgate check`` run on the agent's machine); the control plane
    passes the files a proposal carries, never its own disk."""
    ctx = ClassifyContext(
        project_dir=action.project_dir or action.cwd,
        inventory=policy.inventory,
        budget_seconds=budget_seconds,
        files=files,
        redact=_redact,
        environ=environ,
    )
    try:
        classification = classify(action, ctx)
    except OpsgateError as exc:
        return decide_failure(action, exc.message, _empty())
    except RecursionError:
        return decide_failure(action, "the input nests too deeply", _empty())
    except Exception as exc:
        return decide_failure(action, f"internal error ({type(exc).__name__})", _empty())
    return decide(action, classification, policy)


def _redact(text: str) -> str:
    """The audit log's secret-shape redactor, made on first use (only a classification
    that read a file needs it)."""
    global _REDACTOR
    if _REDACTOR is None:
        from opsgate.audit.redact import Redactor

        _REDACTOR = Redactor(from_environ=False)
    return _REDACTOR.text(text)


_REDACTOR: Redactor | None = None


def _empty() -> Classification:
    return Classification((), Environment.PRODUCTION, "unknown (classification failed)")


_CACHE: dict[str, tuple[int, int, Policy]] = {}


def _names(path: str) -> tuple[str, ...]:
    """A file's absolute name as given and where it really leads (through links)."""
    import posixpath

    given = Path(path).absolute()
    return (posixpath.normpath(str(given)), str(given.resolve()))


def load_configured_policy(
    explicit: str | None = None, env: Mapping[str, str] | None = None
) -> Policy:
    """``--policy`` > the ``policy`` setting (``OPSGATE_POLICY``, the config file) >
    ``$OPSGATE_HOME/policy.yaml`` > built-in default.

    A policy file inside the agent's project is deliberately not read: the agent can
    write there.  Loaded files are cached by path, size and modification time.
    A data directory named by a flag or ``OPSGATE_HOME`` that does not exist is a
    ``MissingDataDir`` error, never the built-in default: a typo must not drop the
    person's rules.
    """
    from opsgate.classify._guard_paths import obey

    path = explicit
    if not path:
        from opsgate.config import require_named_data_dir, resolve

        config = resolve(env)
        require_named_data_dir(config)
        if config.file_path is not None:
            obey(_names(str(config.file_path)), "opsgate's configuration file")
        configured = config.path("policy")
        path = str(configured) if configured is not None else None
    if not path:
        candidate = config.data_dir / "policy.yaml"
        if not candidate.is_file():
            return DEFAULT_POLICY
        path = str(candidate)
    obey(_names(path), "the policy file opsgate obeys")
    try:
        stat = Path(path).stat()
    except OSError:
        stat = None
    cached = _CACHE.get(path)
    if stat is not None and cached and cached[:2] == (stat.st_mtime_ns, stat.st_size):
        return cached[2]
    from opsgate.policy.loader import load_policy

    policy = load_policy(path)
    if stat is not None:
        _CACHE[path] = (stat.st_mtime_ns, stat.st_size, policy)
    return policy
