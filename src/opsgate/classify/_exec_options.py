"""Options and environment variables whose value a program runs as a command.

``tar --checkpoint-action=exec=CMD``, ``rsync -e CMD``, ``PAGER=CMD man x``: the
value is a shell command like any other, and is classified as one.  This applies to
every program, whichever family (if any) owns it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify._interp_loads import env_loads
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["EXEC_ENV", "exec_findings", "npm_program"]

# program -> options whose value is a shell command (`--opt=value` or `--opt value`).
_OPTIONS: dict[str, tuple[str, ...]] = {
    "tar": ("--to-command", "--use-compress-program", "-I", "--info-script", "-F",
            "--new-volume-script", "--rsh-command", "--checkpoint-action"),
    "rsync": ("-e", "--rsh", "--rsync-path"),
    "zip": ("-TT", "--unzip-command"),
    "man": ("-P", "--pager"),
    "less": (),
    "ssh": (),
    "scp": ("-S",),
    "sftp": ("-S",),
    "watch": (),
    "inotifywait": (),
    "entr": (),
    "nodemon": ("--exec", "-x"),
    "socat": (),
    "wget": ("--use-askpass",),
    "journalctl": (),
    "systemctl": (),
    "git": (),
    # The program npm runs every script with (``--script-shell=./x``; also from
    # ``npm_config_script_shell`` and .npmrc).
    "npm": ("--script-shell",),
    "pnpm": ("--script-shell",),
}  # fmt: skip
# npm's settings from the environment (``npm_config_<key>``, any case) whose value is a
# program npm runs, with every script or every git operation.
_NPM_PROGRAMS = frozenset({"npm_config_script_shell", "npm_config_shell", "npm_config_git",
                           "npm_config_onload_script"})  # fmt: skip
_SHELL_DIRS = frozenset({"", "/bin", "/usr/bin", "/usr/local/bin", "/opt/homebrew/bin"})
_USUAL_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "pwsh", "powershell", "cmd",
                           "cmd.exe", "powershell.exe", "pwsh.exe", "git"})  # fmt: skip
# Values that only name the usual transport: `rsync -e ssh`, `rsync -e 'ssh -p 2222'`.
_PLAIN_TRANSPORT = re.compile(r"^(ssh|rsh|/usr/bin/ssh)(\s+-[\w-]+(\s+\S+)?)*$")
EXEC_ENV = frozenset(
    {"PAGER", "MANPAGER", "GIT_PAGER", "EDITOR", "VISUAL", "GIT_EDITOR", "GIT_SSH_COMMAND",
     "GIT_SSH", "GIT_PROXY_COMMAND", "GIT_EXTERNAL_DIFF", "GIT_ASKPASS", "SSH_ASKPASS",
     "SUDO_ASKPASS", "LESSOPEN", "LESSCLOSE", "PROMPT_COMMAND", "BASH_ENV", "ENV",
     "RSYNC_RSH", "SYSTEMD_PAGER", "PSQL_PAGER", "MYSQL_PS1"}
)  # fmt: skip
_PRELOAD = frozenset({"LD_PRELOAD", "LD_AUDIT", "DYLD_INSERT_LIBRARIES", "LD_LIBRARY_PATH"})
_BENIGN_PAGERS = frozenset({"cat", "less", "more", "less -R", "less -FRX", "vim", "vi", "nano",
                            "code --wait", "nvim", "emacs", "true", ""})  # fmt: skip


def watches(name: str) -> bool:
    """Whether ``exec_findings`` looks at program ``name`` when the command sets no
    variable (the first two loops read only ``cmd.env``).  Keep in step with it:
    ``_cross_cutting`` skips it for other names run without assignments."""
    return name in _OPTIONS or name in _OWN_EXEC


_OWN_EXEC = frozenset({"tar", "sed", "less", "more", "make", "gmake", "npm", "pnpm",
                       "yarn"})  # the tests at its end  # fmt: skip


def exec_findings(cmd: Command, w: Walker) -> list[Finding]:
    out: list[Finding] = []
    for key, value in cmd.env.items():
        if key.lower() in _NPM_PROGRAMS:
            out += npm_program(key, value, w)
            continue
        if key.lower() == "npm_config_node_options":
            out += env_loads(Command(cmd.name, cmd.args, cmd.text, {"NODE_OPTIONS": value},
                                     cwd=cmd.cwd), w)  # fmt: skip
            continue
        if key in ("BASH_ENV", "ENV"):
            source = w.script_source(value, cmd.cwd)
            if source is not None and source.text is not None and not source.untrusted:
                out += w.classify_shell(source.text, via=key)
            else:
                out.append(unknown(f"{key} makes the shell source {value} first", cmd.text))
            continue
        if key in EXEC_ENV and value.strip() not in _BENIGN_PAGERS and cmd.name != "git":
            if key in ("LESSOPEN", "LESSCLOSE"):
                value = value.lstrip("|-")  # ``|cmd %s``, ``||cmd %s``: a pipe preprocessor
            out += w.classify_shell(value, via=f"{key} for {cmd.name}")
        elif key in _PRELOAD and cmd.name not in ("true", ":"):
            from opsgate.classify._preload_system import installed_libraries

            if installed_libraries(key, value, w):
                continue  # ``LD_PRELOAD=/usr/lib/…/libjemalloc.so.2``: installed code
            out.append(
                Finding(
                    "process.inject",
                    Impact.CAUTION,
                    Effect.UNKNOWN,
                    cmd.text,
                    f"{key} loads code into {cmd.name} that the guard cannot see",
                )
            )
    out += env_loads(cmd, w)  # NODE_OPTIONS='--require ./x.js', RUBYOPT, PERL5OPT
    for option in _OPTIONS.get(cmd.name, ()):
        for value in cmd.options(option):
            out += _option_value(cmd, option, value, w)
    if cmd.name == "tar":
        for word in cmd.words:
            if word.startswith("--checkpoint-action=exec="):
                out += w.classify_shell(word.split("=", 2)[2], via="tar --checkpoint-action")
    if cmd.name == "sed":
        out += _sed_execute(cmd, w)
    if cmd.name in ("less", "more"):
        out += _pager_commands(cmd, w)
    if cmd.name in ("make", "gmake"):
        out += _make_eval(cmd, w)
    if cmd.name in ("npm", "pnpm", "yarn"):
        from opsgate.classify._run_pm_config import manager_config_programs

        out += manager_config_programs(cmd, w)  # .yarnrc.yml yarnPath
    return out


def npm_program(key: str, value: str, w: Walker) -> list[Finding]:
    """A program npm runs in its shell's place: the usual shells pass; any other is run
    (a script by path is read and judged)."""
    program = value.strip()
    folder, _, name = program.rpartition("/")
    if not program or (name in _USUAL_SHELLS and folder in _SHELL_DIRS):
        return []
    return w.classify_shell(value, via=f"{key} for npm")


def _option_value(cmd: Command, option: str, value: str, w: Walker) -> list[Finding]:
    if cmd.name in ("rsync", "scp", "sftp") and _PLAIN_TRANSPORT.match(value.strip()):
        return []
    if option == "--script-shell":
        return npm_program(option, value, w)
    if option == "--checkpoint-action":
        if not value.startswith("exec="):
            return []
        value = value[5:]
    return w.classify_shell(value, via=f"{cmd.name} {option}")


def _pager_commands(cmd: Command, w: Walker) -> list[Finding]:
    """``less '+!rm -rf ~' README.md``: a ``+`` option is a pager command run at start,
    and ``!`` in one runs the rest in a shell (also from ``$LESS``/``$MORE``)."""
    import shlex

    words = list(cmd.words)
    for key in ("LESS", "MORE"):
        if cmd.env.get(key):
            try:
                words += shlex.split(cmd.env[key])
            except ValueError:
                return [unknown(f"${key} for {cmd.name} cannot be read", cmd.text)]
    out: list[Finding] = []
    for word in words:
        if word.startswith("+") and "!" in word:
            command = word.split("!", 1)[1]
            if command.strip():
                out += w.classify_shell(command, via=f"{cmd.name} +!")
    return out


_SED_EXEC = re.compile(r"(?:^|[;\n{}0-9$/])\s*e\s+(.+?)\s*(?:$|;|\n)|/[a-zA-Z]*e[a-zA-Z]*\s*$")


def _sed_execute(cmd: Command, w: Walker) -> list[Finding]:
    """GNU sed's ``e`` command and ``s///e`` flag run shell commands."""
    scripts = cmd.options("-e", "--expression")
    positionals = cmd.positionals(("-e", "--expression", "-f", "--file", "-l"))
    if not scripts and positionals:
        scripts = [positionals[0].value]
    out: list[Finding] = []
    for script in scripts:
        m = _SED_EXEC.search(script)
        if m is None:
            continue
        if m.group(1):
            out += w.classify_shell(m.group(1), via="sed e")
        else:
            out.append(unknown("sed's e flag runs the pattern space as a shell command", cmd.text))
    return out


def _make_eval(cmd: Command, w: Walker) -> list[Finding]:
    out: list[Finding] = []
    for text in cmd.options("--eval", "-E"):
        recipes = []
        for line in text.replace("\\n", "\n").splitlines():
            if line.startswith("\t"):
                recipes.append(line[1:])
            elif ":" in line and ";" in line.split(":", 1)[1]:
                recipes.append(line.split(":", 1)[1].split(";", 1)[1])
        if recipes:
            out += w.classify_shell("\n".join(recipes), via="make --eval")
        elif text.strip():
            out.append(unknown("make --eval adds rules the guard cannot read", cmd.text))
    return out
