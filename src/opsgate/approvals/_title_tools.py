"""Card titles for container engines, Terraform and package registries, from the
command's own words: "Delete the Docker volume pgdata and the data in it", "Destroy
every resource of the Terraform configuration in infra/prod" — not the classifier's
"Deletes volumes and the data in them on local container engine, with docker".

An empty string when the words do not read plainly (the general title is used).
Pure; the names shown are the command's words, cut by ``_describe._shown``.
"""

from __future__ import annotations

from collections.abc import Callable

from opsgate.approvals._clause import Words, split
from opsgate.models import Action

__all__ = ["TOOL_TITLES"]

# Options that take a value (``docker rm -f`` forces; ``docker compose -f FILE`` names).
_ENGINE_VALUED = frozenset({"-H", "--host", "-c", "--context", "--config", "--filter",
                            "-t", "--time", "-s", "--signal"})  # fmt: skip
_COMPOSE_VALUED = _ENGINE_VALUED | {"-f", "--file", "-p", "--project-name", "--env-file",
                                    "--profile"}  # fmt: skip


def _plural(names: list[str], one: str, many: str) -> str:
    return f"{one if len(names) == 1 else many} {', '.join(names)}"


def _engine(label: str) -> Callable[[Words, str, Action], str]:
    def title(args: Words, category: str, action: Action) -> str:
        options, pos = split(args, _ENGINE_VALUED)
        where = f" on {options.get('-H') or options.get('--host')}" if (
            options.get("-H") or options.get("--host")) else ""  # fmt: skip
        verb, rest = (pos[0], pos[1:]) if pos else ("", [])
        if verb == "volume" and rest[:1] in (["rm"], ["remove"]) and rest[1:]:
            names = rest[1:]
            them = "it" if len(names) == 1 else "them"
            volumes = _plural(names, "volume", "volumes")
            return f"Delete the {label} {volumes} and the data in {them}{where}"
        if verb == "volume" and rest[:1] == ["prune"]:
            return f"Delete every unused {label} volume and its data{where}"
        if verb in ("rm", "container") and (rest if verb == "rm" else rest[1:]):
            names = rest if verb == "rm" else rest[1:]
            if verb == "container" and rest[:1] not in (["rm"], ["remove"]):
                return ""
            return f"Remove the {label} {_plural(names, 'container', 'containers')}{where}"
        if verb == "system" and rest[:1] == ["prune"]:
            what = (
                "stopped containers, unused images, networks and every unused volume with its data"
                if "--volumes" in options
                else "stopped containers, unused images and networks"
            )
            return f"Prune {label}'s {what}{where}"
        if verb == "compose":
            return _compose(args[args.index("compose") + 1 :], category, action)
        return ""

    return title


def _compose_down(options: dict[str, str], where: str) -> str:
    volumes = "-v" in options or "--volumes" in options
    name = options.get("-p") or options.get("--project-name")
    stack = f"the compose stack {name}" if name else "the compose stack"
    return f"Stop {stack}" + (" and delete its volumes" if volumes else "") + where


def _compose(args: Words, category: str, action: Action) -> str:
    options, pos = split(args, _COMPOSE_VALUED)
    return _compose_down(options, "") if pos[:1] == ["down"] else ""


_TF_VALUED = frozenset({"-target", "-var", "-var-file", "-state", "-state-out", "-backup",
                        "-lock-timeout", "-parallelism", "-replace"})  # fmt: skip


def _terraform(args: Words, category: str, action: Action) -> str:
    chdir = next((w.split("=", 1)[1] for w in args if w.startswith("-chdir=")), "")
    options, pos = split([w for w in args if not w.startswith("-chdir=")], _TF_VALUED)
    where = f" in {chdir}" if chdir else ""
    verb, rest = (pos[0], pos[1:]) if pos else ("", [])
    target = options.get("-target")
    if verb == "destroy" or (verb == "apply" and "-destroy" in options):
        if target:
            return f"Destroy {target} of the Terraform configuration{where}"
        return f"Destroy every resource of the Terraform configuration{where}"
    if verb == "apply":
        return f"Apply the Terraform configuration{where}" + (f" to {target}" if target else "")
    if verb == "state" and rest[:1] == ["rm"] and rest[1:]:
        return f"Remove {', '.join(rest[1:])} from the Terraform state{where}"
    if verb == "workspace" and rest[:1] == ["delete"] and rest[1:]:
        return f"Delete the Terraform workspace {rest[1]}{where}"
    return ""


def _registry(default: str) -> Callable[[Words, str, Action], str]:
    def title(args: Words, category: str, action: Action) -> str:
        options, pos = split(args, frozenset({"--registry", "--tag", "--access", "--otp"}))
        registry = options.get("--registry") or default
        if pos[:1] == ["publish"]:
            what = f"the package in {pos[1]}" if len(pos) > 1 else "this package"
            tag = f" with the tag {options['--tag']}" if options.get("--tag") else ""
            return f"Publish {what} to {registry}{tag}"
        if pos[:1] == ["unpublish"] and pos[1:]:
            return f"Unpublish {pos[1]} from {registry}"
        return ""

    return title


TOOL_TITLES: dict[str, Callable[[Words, str, Action], str]] = {
    "docker": _engine("Docker"),
    "podman": _engine("Podman"),
    "nerdctl": _engine("containerd"),
    "docker-compose": _compose,
    "terraform": _terraform,
    "tofu": _terraform,
    **dict.fromkeys(("npm", "pnpm", "yarn"), _registry("registry.npmjs.org")),
}
