"""git transports and options that run a local command.

``git ls-remote 'ext::sh -c …'`` runs the command after ``ext::``; ``--upload-pack``,
``--receive-pack`` and ``--exec`` name the program git starts for the other side (on
this machine for a local or ``ext::`` remote).  The command is classified as what it
is, and the call is at least ``unknown``: git's own escaping (``%`` before a space)
and the program it runs are not modelled beyond that.
"""

from __future__ import annotations

from opsgate.classify._command import Arg, Command, Context
from opsgate.models import Effect, Finding, Impact

__all__ = ["transport_findings"]

# subcommand -> options whose value is a program git runs
_PROGRAM_OPTIONS: dict[str, tuple[str, ...]] = {
    "clone": ("--upload-pack", "-u"),
    "ls-remote": ("--upload-pack", "-u"),
    "fetch": ("--upload-pack",),
    "pull": ("--upload-pack",),
    "push": ("--receive-pack", "--exec"),
    "archive": ("--exec",),
    "send-pack": ("--receive-pack", "--exec"),
    "fetch-pack": ("--upload-pack", "--exec"),
}


def transport_findings(
    cmd: Command, configs: list[tuple[str, str]], rest: list[Arg], ctx: Context
) -> list[Finding]:
    """Commands git would run through ``ext::`` URLs and program options."""
    out: list[Finding] = []
    sub = rest[0].value if rest else ""
    commands: list[tuple[str, str]] = []
    for arg in rest[1:]:
        value = arg.value.partition("=")[2] if arg.value.startswith("--") else arg.value
        if value.startswith("ext::"):
            commands.append((_ext_command(value[5:]), "the ext:: transport"))
    for key, value in configs:
        if "ext::" in value:
            commands.append((_ext_command(value.split("ext::", 1)[1]), f"git config {key}"))
    names = _PROGRAM_OPTIONS.get(sub, ())
    if names:
        sub_cmd = Command(f"git {sub}", tuple(rest[1:]), cmd.text, cmd.env, cmd.stdin, cmd.cwd)
        commands += [(v, f"git {sub} {n}") for n in names for v in sub_cmd.options(n)]
    for command, via in commands:
        out.append(
            Finding(
                "vcs.transport_exec",
                Impact.CAUTION,
                Effect.UNKNOWN,
                cmd.text,
                f"{via} runs a program on this machine: {command[:80]}",
            )
        )
        out += ctx.classify_shell(command, via=via)
    return out


def _ext_command(text: str) -> str:
    """git-remote-ext's escaping: ``% `` is a space, ``%%`` a percent sign."""
    return text.replace("%%", "\0").replace("% ", " ").replace("\0", "%")
