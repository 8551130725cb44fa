"""Readers for line-oriented files that run: Dockerfiles and Jenkinsfiles; and what a
GitHub Actions ``uses:`` step does by itself."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from opsgate.classify._autorun import Runs, Step
from opsgate.classify._autorun_jobs import expressions

__all__ = ["action_step", "dockerfile_piece", "dockerfile_whole", "jenkins_piece", "jenkins_whole"]

# --- Dockerfile ------------------------------------------------------------------------
_INSTRUCTIONS = frozenset({
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
})  # fmt: skip
_ESCAPE = re.compile(r"\A\s*#\s*escape\s*=\s*(\S)")
_HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_]\w*)\2")
_RUN_FLAG = re.compile(r"^--[\w-]+(=\S*)?\s+")


def dockerfile_whole(text: str, runs: Runs) -> list[Step] | None:
    """RUN runs at build time in a throwaway container; CMD and ENTRYPOINT wherever the
    image is started.  ``SHELL`` changes the language of the shell forms after it."""
    steps: list[Step] = []
    lang = "sh"
    for line, instruction, rest in _instructions(text):
        if instruction == "SHELL":
            lang = _shell_lang(rest)
        if instruction not in ("RUN", "CMD", "ENTRYPOINT"):
            continue
        while _RUN_FLAG.match(rest):
            rest = _RUN_FLAG.sub("", rest, count=1)
        exec_form = _exec_form(rest)
        script, step_lang = (exec_form, "sh") if exec_form is not None else (rest, lang)
        where = Runs.BUILD if instruction == "RUN" else Runs.CONTAINER
        if script.strip():
            steps.append(Step(f"line {line}: {instruction}", script, step_lang, where))
    return steps


def dockerfile_piece(text: str, runs: Runs) -> list[Step]:
    if any(_first_word(line) in _INSTRUCTIONS for line in text.splitlines()):
        return dockerfile_whole(text, runs) or []
    # A piece of a RUN line: its continuations and leading operators are not commands.
    joined = " ".join(line.strip().removesuffix("\\") for line in text.splitlines())
    script = re.sub(r"^\s*(&&|\|\||;)\s*", "", joined).strip()
    return [Step("added lines", script, "sh", Runs.BUILD)] if script else []


def _first_word(line: str) -> str:
    words = line.split(None, 1)
    return words[0].upper() if words else ""


def _instructions(text: str) -> list[tuple[int, str, str]]:
    """(line number, instruction, arguments) with continuations joined and here-docs
    turned into the shell here-docs they are."""
    match = _ESCAPE.match(text)
    escape = match.group(1) if match else "\\"
    lines = text.splitlines()
    out = []
    i = 0
    while i < len(lines):
        start = i + 1
        buf = lines[i]
        if not buf.strip() or buf.lstrip().startswith("#"):
            i += 1
            continue
        while buf.rstrip().endswith(escape) and i + 1 < len(lines):
            i += 1
            if lines[i].lstrip().startswith("#"):
                continue
            buf = buf.rstrip()[: -len(escape)] + lines[i]
        i += 1
        words = buf.strip().split(None, 1)
        instruction = words[0].upper()
        rest = words[1] if len(words) > 1 else ""
        if instruction == "ONBUILD":
            words = rest.split(None, 1)
            instruction, rest = (words[0].upper(), words[1] if len(words) > 1 else "")
        heredoc = _HEREDOC.search(rest) if instruction == "RUN" else None
        if heredoc is not None:
            body, i = _heredoc_body(lines, i, heredoc.group(3), bool(heredoc.group(1)))
            head = rest[: heredoc.start()].strip()
            rest = body if not head else f"{rest}\n{body}\n{heredoc.group(3)}"
        out.append((start, instruction, rest))
    return out


def _heredoc_body(lines: list[str], i: int, end: str, strip: bool) -> tuple[str, int]:
    body = []
    while i < len(lines):
        line = lines[i]
        i += 1
        if (line.strip() if strip else line) == end:
            break
        body.append(line)
    return "\n".join(body), i


def _exec_form(rest: str) -> str | None:
    if not rest.lstrip().startswith("["):
        return None
    try:
        value = json.loads(rest)
    except (json.JSONDecodeError, RecursionError):
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return shlex.join(value)
    return None


def _shell_lang(rest: str) -> str:
    form = _exec_form(rest)
    first = shlex.split(form)[0].rsplit("/", 1)[-1].lower() if form else ""
    if first.startswith(("pwsh", "powershell")):
        return "pwsh"
    return "cmd" if first.startswith("cmd") else "sh"


# --- Jenkinsfile -----------------------------------------------------------------------
_JENKINS_STEP = re.compile(r"(?<![\w.$])(sh|bat|powershell|pwsh)\b(?=\s*[('\"]|\s+\w+\s*:|\s+\w)")
_NAMED_SCRIPT = re.compile(r"\s*\(?\s*(?:[\w]+\s*:\s*[^,()]*,\s*)*script\s*:\s*")
_GROOVY = re.compile(r"[{}]|^\s*(stage|steps|agent|pipeline|environment|post|when|options|"
                     r"parameters|tools|node|def|script)\b", re.MULTILINE)  # fmt: skip
_LANGS = {"sh": "sh", "bat": "cmd", "powershell": "pwsh", "pwsh": "pwsh"}


def jenkins_whole(text: str, runs: Runs) -> list[Step] | None:
    """``sh '…'``, ``sh '''…'''``, ``sh(script: '…')``, ``bat``, ``powershell`` steps.
    A step whose script is not a literal is built at run time: unknown."""
    steps = []
    for match in _JENKINS_STEP.finditer(text):
        after = match.end()
        named = _NAMED_SCRIPT.match(text, after)
        start = named.end() if named is not None else after
        while start < len(text) and text[start] in " \t(":
            start += 1
        literal = _groovy_string(text, start)
        line = text.count("\n", 0, match.start()) + 1
        script = literal if literal is not None else "${OPSGATE_EXPR}"
        steps.append(Step(f"line {line}: {match.group(1)}", script, _LANGS[match.group(1)], runs))
    return steps


def jenkins_piece(text: str, runs: Runs) -> list[Step]:
    steps = jenkins_whole(text, runs) or []
    if steps or _GROOVY.search(text):
        return steps
    return [Step("added lines", text, "sh", runs)] if text.strip() else []


def _groovy_string(text: str, start: int) -> str | None:
    """The Groovy string literal at ``start``, unescaped; None if there is none.
    ``${…}`` in double-quoted strings is left for the shell to read as a variable."""
    for quote in ("'''", '"""', "'", '"'):
        if text.startswith(quote, start):
            break
    else:
        return None
    i = start + len(quote)
    out: list[str] = []
    while i < len(text):
        if text.startswith(quote, i):
            return "".join(out)
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1] if text[i + 1] in "\\'\"$" else ch + text[i + 1])
            i += 2
            continue
        if ch == "\n" and len(quote) == 1:
            return None
        out.append(ch)
        i += 1
    return None


# --- GitHub Actions ``uses:`` ------------------------------------------------------------
_DEPLOYS = re.compile(r"deploy|publish|release|gh-pages|scp|rsync|sftp|ftp-|s3-sync|"
                      r"upload-to-|terraform-apply|helm-upgrade|kubectl-apply")  # fmt: skip


def action_step(action: str, inputs: Any, where: str, runs: Runs) -> Step | None:
    """What a third-party action does beyond the runner: an ssh action runs its script on
    the host it names; github-script runs JavaScript with the job's token; an action
    that deploys, publishes or releases is a change to something remote by itself.
    Local actions (``./…``) are judged when their own ``action.yml`` is written."""
    name = action.split("@", 1)[0].lower()
    if name.startswith("./"):
        return None
    with_ = inputs if isinstance(inputs, dict) else {}
    if name.startswith("docker://"):
        from opsgate.classify._autorun_extra import image_command

        line = image_command(action[len("docker://") :], with_.get("entrypoint"), with_.get("args"))
        if line is None:
            fact = ("unknown", "a container step whose arguments opsgate cannot read")
            return Step(where, action, "fact", runs, fact=fact)
        return Step(f"{where} (container)", line, "sh", runs)
    base = name.rsplit("/", 1)[-1]
    script = with_.get("script", with_.get("command"))
    if "ssh" in base and isinstance(script, str):
        host = str(with_.get("host", "remote-host"))
        command = shlex.join(["ssh", host, expressions(script, "github")])
        return Step(f"{where} (with.script)", command, "sh", runs)
    if name == "actions/github-script" and isinstance(script, str):
        return Step(f"{where} (with.script)", expressions(script, "github"), "node", runs)
    if name == "docker/build-push-action" and str(with_.get("push", "")).lower() == "true":
        fact = ("registry.publish", "pushes the image it builds to a registry")
        return Step(where, action, "fact", runs, fact=fact)
    if _DEPLOYS.search(base):
        fact = ("ci.deploy_action", f"uses {name}, an action that deploys, publishes or releases")
        return Step(where, action, "fact", runs, fact=fact)
    return None
