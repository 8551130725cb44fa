"""Other shells started from PowerShell: ``cmd /c`` command lines, ``powershell``/
``pwsh`` with ``-Command``/``-EncodedCommand``/``-File``, and WSL (``wsl cmd``,
``wsl -e cmd``, ``wsl -- cmd``, ``wsl bash -c '…'``), whose Linux command goes to
the bash classifier."""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING

from opsgate.classify.powershell._tables import _words
from opsgate.classify.powershell._values import PsArg, Vars, canonical, unknown

if TYPE_CHECKING:
    from opsgate.classify.powershell._walk import Walk

__all__ = ["cmd_args", "cmd_expand", "cmd_tokens", "powershell_args", "wsl"]

_SHELL_VALUED = frozenset(
    _words(
        "executionpolicy ep ex exec windowstyle w win configurationname config outputformat of "
        "o inputformat if i workingdirectory wd psconsolefile version v settingsfile "
        "custompipename"
    )
)
# wsl.exe options that take a value, and those that end its own options.
_WSL_VALUED = frozenset(
    {"-d", "--distribution", "-u", "--user", "--cd", "--distribution-id", "--system"}
)
_WSL_MANAGE = frozenset(
    {
        "--install",
        "--unregister",
        "--shutdown",
        "--terminate",
        "-t",
        "--import",
        "--import-in-place",
        "--export",
        "--set-default",
        "-s",
        "--set-version",
        "--set-default-version",
        "--mount",
        "--unmount",
        "--update",
        "--manage",
    }
)
_WSL_READ = frozenset({"-l", "--list", "--status", "--version", "-v", "--help"})


def powershell_args(w: Walk, words: list[str], text: str, name: str) -> None:
    """``powershell``/``pwsh`` with its own command line."""
    i = 0
    while i < len(words):
        word = words[i]
        key = word.lstrip("-/").lower() if word[:1] in "-/" else ""
        if not key and word[:1] in "-/" and word != "-":
            i += 1
            continue
        if key in ("e", "ec") or (len(key) >= 3 and "encodedcommand".startswith(key)):
            _encoded(w, words[i + 1] if i + 1 < len(words) else "", text)
            return
        if key == "c" or (len(key) >= 2 and "command".startswith(key)):
            rest = " ".join(words[i + 1 :])
            if rest.strip() in ("", "-"):
                w.out.append(unknown(text, "runs PowerShell read from standard input"))
            else:
                w.out.extend(w.nested(rest, "command"))
            return
        if key == "f" or (len(key) >= 2 and "file".startswith(key)):
            if i + 1 < len(words):
                w.run_script(words[i + 1], text)
            return
        if key:
            i += 2 if key in _SHELL_VALUED else 1
            continue
        if name == "pwsh" and word.lower().endswith(".ps1"):
            w.run_script(word, text)
        else:
            w.out.extend(w.nested(" ".join(words[i:]), "command"))
        return


def _encoded(w: Walk, payload: str, text: str) -> None:
    try:
        raw = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
        script = raw.decode("utf-16-le")
    except (binascii.Error, ValueError):
        w.out.append(
            unknown(text, "runs an encoded payload that does not decode", "evasion.encoded")
        )
        return
    w.out.append(unknown(text, f"runs an encoded payload: {script[:120]}", "evasion.encoded"))
    w.out.extend(w.nested(script, "encoded"))


def wsl(w: Walk, words: list[PsArg], text: str) -> None:
    """``wsl``/``bash`` on Windows: the rest of the line is a Linux command."""
    i = 0
    while i < len(words):
        word = words[i].value
        low = word.lower()
        if low in ("--", "-e", "--exec"):
            _linux(w, words[i + 1 :], text, joined=False)
            return
        if low in _WSL_MANAGE:
            w.out.append(unknown(text, "manages WSL distributions (install, remove, stop, mount)"))
            return
        if low in _WSL_READ:
            return
        if low in _WSL_VALUED or low.split("=", 1)[0] in _WSL_VALUED:
            i += 1 if "=" in low else 2
            continue
        if low.startswith("-"):
            i += 1
            continue
        _linux(w, words[i:], text, joined=True)
        return
    if not words or all(x.value.startswith("-") for x in words):
        w.out.append(unknown(text, "an interactive WSL shell whose input opsgate cannot see"))


def _linux(w: Walk, words: list[PsArg], text: str, *, joined: bool) -> None:
    if not words:
        w.out.append(unknown(text, "an interactive WSL shell whose input opsgate cannot see"))
        return
    if not all(x.static for x in words):
        w.out.append(unknown(text, "runs a Linux command built at run time"))
        return
    if joined:
        # The default shell reads the words as one command line.
        script = " ".join(x.value for x in words)
    else:
        script = " ".join(_sh_quote(x.value) for x in words)
    w.out.extend(w.ctx.classify_shell(script, via="wsl"))


def _sh_quote(word: str) -> str:
    if word and re.fullmatch(r"[\w@%+=:,./~-]+", word):
        return word
    return "'" + word.replace("'", "'\"'\"'") + "'"


def cmd_args(w: Walk, words: list[str], text: str) -> None:
    for i, word in enumerate(words):
        if word.lower() in ("/c", "/k", "/r"):
            cmd_line(w, " ".join(words[i + 1 :]), text)
            return
    if words:
        w.out.append(unknown(text, "an interactive cmd.exe whose input opsgate cannot see"))


def cmd_line(w: Walk, line: str, text: str) -> None:
    """A cmd.exe command line: ``&``/``&&``/``||``/``|`` lists of simple commands."""
    from opsgate.classify.powershell._walk import MAX_DEPTH

    if w.depth >= MAX_DEPTH:
        w.out.append(unknown(text, "nested shells deeper than opsgate follows"))
        return
    for part in _cmd_split(line):
        tokens = [cmd_expand(tok, w.vars) for tok in cmd_tokens(part)]
        if not tokens:
            continue
        name = (
            canonical(tokens[0].value, {})
            if "\\" in tokens[0].value
            else (tokens[0].value.lower().removesuffix(".exe"))
        )
        if name == "cmd":
            cmd_args(w, [tok.value for tok in tokens[1:]], part)
        else:
            w.native(name, tokens[1:], part)


def _cmd_split(line: str) -> list[str]:
    parts, buf, quoted, i = [], [], False, 0
    while i < len(line):
        ch = line[i]
        if ch == '"':
            quoted = not quoted
        elif ch == "^" and not quoted and i + 1 < len(line):
            buf.append(line[i : i + 2])
            i += 2
            continue
        elif ch in "&|" and not quoted:
            parts.append("".join(buf))
            buf = []
            i += 2 if line[i : i + 2] in ("&&", "||") else 1
            continue
        buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


def cmd_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    buf: list[str] = []
    quoted = started = False
    for ch in text:
        if ch == '"':
            quoted, started = not quoted, True
        elif ch in " \t" and not quoted:
            if started:
                tokens.append("".join(buf))
            buf, started = [], False
        else:
            buf.append(ch)
            started = True
    if started:
        tokens.append("".join(buf))
    return [tok.replace("^", "") for tok in tokens]


def cmd_expand(token: str, vars_: Vars) -> PsArg:
    static = True

    def sub(match: re.Match[str]) -> str:
        nonlocal static
        value = vars_.get("env:" + match.group(1))
        static = static and value is not None
        return value if value is not None else match.group(0)

    return PsArg(re.sub(r"%([\w()]+)%", sub, token), static)
