"""What a CI job's settings say about its scripts: the variables set before them, the
shell that runs them, the deployment environment and service containers the job
names, and the template expressions the CI fills in before the shell sees them."""

from __future__ import annotations

import re
import shlex
from typing import Any

from opsgate.models import Environment

__all__ = [
    "environment_named",
    "expressions",
    "service_names",
    "shell_lang",
    "variables",
    "with_variables",
]


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def variables(value: Any, style: str) -> dict[str, str]:
    """Environment variables a job or step sets (``{NAME: value}``, GitLab's
    ``{NAME: {value: …}}``, Azure's ``[{name, value}]``), template expressions read."""
    pairs: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        pairs = [(k, v.get("value") if isinstance(v, dict) else v) for k, v in value.items()]
    elif isinstance(value, list):
        pairs = [(v.get("name"), v.get("value")) for v in value if isinstance(v, dict)]
    return {
        str(k): _variable_value(v, style)
        for k, v in pairs
        if isinstance(k, str) and _NAME.fullmatch(k) and isinstance(v, str)
    }


def _variable_value(value: str, style: str) -> str:
    """A value that is one expression stays an expansion (a secret stays a secret); one
    that embeds expressions (a URL with a password in it) keeps its static parts, which
    name the target, with a stand-in word for each expression."""
    if style in ("github", "azure") and "${{" in value and not _GITHUB_EXPR.fullmatch(value):
        return _GITHUB_EXPR.sub("opsgate-expr", value)
    return expressions(value, style)


def with_variables(script: str, lang: str, pairs: tuple[tuple[str, str], ...]) -> str:
    """The script as its shell sees it: the job's variables set first, so a client's
    target (``DATABASE_URL``, ``PGHOST``, ``AWS_PROFILE``) is known."""
    if not pairs or lang not in ("sh", "pwsh"):
        return script
    if lang == "sh":
        # A variable that carries a CI secret: its uses are the secret's, whatever the
        # variable is called (``T: ${{ secrets.DEPLOY_KEY }}`` then ``echo $T``).
        for name, value in pairs:
            if _SECRET_ONLY.fullmatch(value):
                script = re.sub(rf"\$(\{{)?{name}(?(1)\}})(?![A-Za-z0-9_])", value, script)
        pairs = tuple((k, v) for k, v in pairs if not _SECRET_ONLY.fullmatch(v))
        if not pairs:
            return script
    if lang == "pwsh":
        lines = [f"$env:{k} = '{v.replace(chr(39), chr(39) * 2)}'" for k, v in pairs]
    else:
        lines = [f"export {k}={_shell_value(v)}" for k, v in pairs]
    return "\n".join(lines) + "\n" + script


_SECRET_ONLY = re.compile(r"\$\{OPSGATE_SECRET_\w+\}")


def _shell_value(value: str) -> str:
    """Quoted for the shell; a template expression stays an (unknown) expansion."""
    if "${OPSGATE_" in value:
        return '"' + re.sub(r'(["`\\])', r"\\\1", value) + '"'
    return shlex.quote(value)


def shell_lang(shell: Any) -> str:
    """GitHub's ``shell:`` (``bash``, ``pwsh``, ``python``, ``bash -e {0}``)."""
    if not isinstance(shell, str):
        return "sh"
    first = shell.split()[0].rsplit("/", 1)[-1].lower() if shell.split() else ""
    if first in ("pwsh", "powershell"):
        return "pwsh"
    if first.startswith("python"):
        return "python"
    if first == "cmd":
        return "cmd"
    if first == "node":
        return "node"
    return "sh"


def environment_named(name: Any) -> Environment | None:
    if not isinstance(name, str):
        return None
    for word in re.split(r"[^a-z]+", name.lower()):
        try:
            return Environment.parse(word)
        except ValueError:
            continue
    return None


def service_names(services: Any) -> frozenset[str]:
    """Hostnames of a job's service containers: GitHub's keys, GitLab's images and
    aliases (``postgres:16`` → ``postgres``), Drone's names."""
    names: set[str] = set()
    items = list(services.items()) if isinstance(services, dict) else list(enumerate(services))
    for key, value in items:
        if isinstance(key, str):
            names.add(key.lower())
        if isinstance(value, str):
            names.add(_image_host(value))
        elif isinstance(value, dict):
            for field_name in ("name", "alias"):
                if isinstance(value.get(field_name), str):
                    names.add(_image_host(value[field_name]))
    return frozenset(n for n in names if n)


def _image_host(image: str) -> str:
    return image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0].lower()


_GITHUB_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.DOTALL)
_SECRET = re.compile(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)")
_ENV = re.compile(r"env\.([A-Za-z_][A-Za-z0-9_]*)")
_AZURE_MACRO = re.compile(r"\$\(([A-Za-z_][\w]*\.[\w.]+)\)")


def expressions(script: str, style: str) -> str:
    """Template expressions the CI fills in before the shell sees the script, as shell
    variables: a secret stays recognisably secret, anything else is unknown text."""
    if style in ("github", "azure") and "${{" in script:
        script = _GITHUB_EXPR.sub(_github_value, script)
    if style == "azure" and "$(" in script:
        script = _AZURE_MACRO.sub("${OPSGATE_EXPR}", script)
    return script


def _github_value(match: re.Match[str]) -> str:
    inner = match.group(1)
    secret = _SECRET.fullmatch(inner)
    if secret is not None:
        return "${OPSGATE_SECRET_" + secret.group(1) + "}"
    env = _ENV.fullmatch(inner)
    if env is not None:
        return "${" + env.group(1) + "}"
    return "${OPSGATE_EXPR}"
