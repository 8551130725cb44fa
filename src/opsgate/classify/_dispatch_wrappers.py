"""Wrappers that run another command, as data: the options that take a value and
the words before the wrapped command.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WRAPPERS", "_VERB_PROGRAMS", "_VERB_SKIP", "_VERB_WRAPPERS", "Wrapper"]


@dataclass(frozen=True, slots=True)
class Wrapper:
    valued: frozenset[str] = frozenset()  # options that consume the next word
    skip: int = 0  # positional words before the wrapped command (timeout's duration)
    assignments: bool = False  # NAME=value words set the environment (env)
    no_command: str | None = None  # what a bare invocation means: "env-dump", "interactive"


def _w(valued: str = "", skip: int = 0, **kw: object) -> Wrapper:
    return Wrapper(frozenset(valued.split()), skip, **kw)  # type: ignore[arg-type]  # kw typed by dataclass


WRAPPERS: dict[str, Wrapper] = {
    "sudo": _w(
        "-u -g -h -p -C -T -r -t -U -D -R --user --group --host --prompt", no_command="interactive"
    ),
    "doas": _w("-u -C", no_command="interactive"),
    "pkexec": _w("--user -u"),
    "sshpass": _w("-p -f -d -e -P"),
    "screen": _w("-S -c -L -Logfile -t -h -p -X -T -e -s"),
    "coproc": _w(),
    "ts": _w(),
    "run0": _w("-u --user -g --unit --property --description --slice"),
    "env": _w("-u -C -P --unset --chdir", assignments=True, no_command="env-dump"),
    "nice": _w("-n --adjustment"),
    "ionice": _w("-c -n -p -P -u --class --classdata"),
    "chrt": _w("", skip=1),
    "taskset": _w("", skip=1),
    "timeout": _w("-s -k --signal --kill-after", skip=1),
    "gtimeout": _w("-s -k --signal --kill-after", skip=1),
    "nohup": _w(),
    "time": _w("-f -o --format --output"),
    "builtin": _w(),
    "exec": _w("-a"),
    "stdbuf": _w("-i -o -e --input --output --error"),
    "unbuffer": _w(),
    "strace": _w("-o -e -p -s -u -E -a -b -I -O -S -P -X"),
    "ltrace": _w("-o -e -p -s -u -a -n -A -D -F -l -L -w -x"),
    "setsid": _w(),
    "chronic": _w(),
    "catchsegv": _w(),
    "valgrind": _w(),
    "firejail": _w(),
    "proxychains": _w("-f"),
    "proxychains4": _w("-f"),
    "torsocks": _w("-u -p -a -P"),
    "caffeinate": _w("-t -w"),
    "xvfb-run": _w("-n -s -f -e -p --server-args --server-num"),
    "dbus-launch": _w(),
    "systemd-run": _w(
        "-p -E -u -M -H --unit --property --description --slice --uid --gid "
        "--working-directory --on-calendar --on-active --setenv --machine --host"
    ),
    "unshare": _w("--mount-proc --setgroups --propagation"),
    "nsenter": _w("-t -m -u -i -n -p -U -C -S -G -r -w --target"),
    "chroot": _w("--userspec --groups", skip=1),
    "runuser": _w("-u -g -G --user --group", no_command="interactive"),
    "flock": _w("-w -E -c --timeout --conflict-exit-code", skip=1),
    "op": _w(),
    "doppler": _w(),
    "aws-vault": _w(),
    "dotenv": _w("-f -e -v -c"),
    "dotenvx": _w("-f --env-file -fk --env-keys-file -e --env --convention"),
    "infisical": _w("--env --projectId --path --token --domain -t --tags"),
    "direnv": _w(),
    "npx": _w("-p --package -c --call"),
    "bunx": _w("-p --package"),
    "uvx": _w("--from --with --python"),
    "pipx": _w("--spec --python"),
    "uv": _w("--with --python -p --project --directory --package --env-file --group --extra"),
    "poetry": _w("-C --directory -P --project"),
    "pipenv": _w(),
    "pdm": _w(),
    "hatch": _w("-e"),
    "rye": _w(),
    "bundle": _w(),
    "mise": _w(),
    "asdf": _w(),
    "devbox": _w(),
    "conda": _w("-n -p --name --prefix"),
    "mamba": _w("-n -p --name --prefix"),
    "npm": _w("-p --package -c --call -w --workspace"),
    "pnpm": _w(),
    "yarn": _w(),
    "entr": _w(),
    "retry": _w("-t -d --times --delay"),
    "watch": _w("-n -d -g -q --interval"),
    "parallel": _w("-j -S --jobs --sshlogin -a --arg-file"),
}

# Wrapper spellings that only wrap after a sub-verb: `uv run X`, `npm exec X`, `op run -- X`.
_VERB_WRAPPERS: dict[str, frozenset[str]] = {
    "op": frozenset({"run"}),
    "doppler": frozenset({"run"}),
    "aws-vault": frozenset({"exec"}),
    "direnv": frozenset({"exec"}),
    "uv": frozenset({"run"}),
    "pipx": frozenset({"run"}),  # `pipx install x` is the tool itself, `pipx run x` wraps x
    "poetry": frozenset({"run"}),
    "pipenv": frozenset({"run"}),
    "pdm": frozenset({"run"}),
    "hatch": frozenset({"run"}),
    "rye": frozenset({"run"}),
    "bundle": frozenset({"exec"}),
    "mise": frozenset({"exec", "x"}),
    "asdf": frozenset({"exec"}),
    "devbox": frozenset({"run"}),
    "conda": frozenset({"run"}),
    "mamba": frozenset({"run"}),
    "npm": frozenset({"exec", "x"}),
    "pnpm": frozenset({"exec", "dlx"}),
    "yarn": frozenset({"dlx", "exec"}),
    "dotenv": frozenset({"run", "--"}),
    "dotenvx": frozenset({"run"}),
    "infisical": frozenset({"run"}),
}
# Sub-verbs that are themselves the program run: ``yarn node x.js`` is ``node x.js``.
_VERB_PROGRAMS: dict[str, frozenset[str]] = {"yarn": frozenset({"node"})}
_VERB_SKIP = {"aws-vault": 1, "direnv": 1}  # aws-vault exec PROFILE -- cmd; direnv exec DIR cmd
