"""Editors' command lines: ``code``, ``cursor``, ``codium`` … An extension is code the
editor runs in every window, with the user's rights, installed outside the project:
``--install-extension`` (from the marketplace or a ``.vsix``) and
``--uninstall-extension`` change the user's editor like a global package install.
Opening files is reading them (``code ~/.aws/credentials`` shows the secret)."""

from __future__ import annotations

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.families._packages_system import _W, _f
from opsgate.models import Finding

__all__ = ["EDITOR_HANDLERS"]

_EDITORS = ("code", "code-insiders", "code-oss", "codium", "vscodium", "cursor", "windsurf",
            "positron", "trae")  # fmt: skip
_EXTENSION_CHANGES = ("--install-extension", "--uninstall-extension")


def _editor(cmd: Command, ctx: Context) -> list[Finding]:
    changed = [cmd.options(flag) for flag in _EXTENSION_CHANGES]
    if any(changed) or cmd.has(*_EXTENSION_CHANGES):
        names = ", ".join(name for values in changed for name in values)[:120] or "an extension"
        reason = (
            f"{cmd.name} installs or removes {names} in the user's editor, outside the "
            "project: extension code runs in every window of the editor"
        )
        return [_f(cmd, _W, "package.global", reason, "editor extensions")]
    if cmd.has("--list-extensions", "--help", "-h", "--version", "-v", "--status"):
        return []
    from opsgate.classify.families._secrets_readers import _reader

    return _reader(cmd, ctx)


EDITOR_HANDLERS: dict[str, Handler] = dict.fromkeys(_EDITORS, _editor)
