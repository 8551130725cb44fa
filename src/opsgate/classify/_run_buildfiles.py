"""Build tools whose project files run commands: Gradle, Maven, MSBuild, mix, Bazel…

``./gradlew test`` runs whatever ``build.gradle`` wires into the test task, and a
build file can run any program: ``exec { commandLine 'kubectl', 'delete', 'ns',
'prod' }``, Maven's exec and antrun plugins, MSBuild's ``<Exec Command="…"/>``, a mix
alias ``"cmd rm -rf ~"``, a Bazel ``genrule``'s ``cmd``, a cargo-make task, an nx
``run-commands`` target, a dvc stage, a fastlane ``sh(…)``.  opsgate does not model
these languages; it reads the files the tool reads (bounded) and judges every
command line written in them as the shell command it is: a string literal that
starts with a program opsgate knows, an argument list of literals
(``'git', 'push', '--force'``, ``Command::new("git").args([…])``,
``<executable>psql</executable><arguments><argument>-c</argument>…``).  A command
that is only assembled at run time is not seen: that is the limit of this reading.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = [
    "BUILD_TOOLS",
    "PROJECT_RUNNERS",
    "build_file_findings",
    "notebook_findings",
    "production_run",
    "tool_twins",
]

# Tool -> (file names it reads in the project, recursive below the project?).
_FILES: dict[str, tuple[tuple[str, ...], bool]] = {
    "gradle": (("build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts"),
               True),
    "mvn": (("pom.xml",), True),
    "dotnet": (("*.csproj", "*.fsproj", "*.vbproj", "*.proj", "*.targets", "*.props"), True),
    "msbuild": (("*.csproj", "*.fsproj", "*.vbproj", "*.proj", "*.targets", "*.props"), True),
    "mix": (("mix.exs",), False),
    "cargo-make": (("Makefile.toml",), False),
    "xtask": (("*.rs",), True),
    "fastlane": (("Fastfile",), True),
    "nx": (("project.json", "nx.json"), True),
    "bazel": (("BUILD", "BUILD.bazel", "*.bzl"), True),
    "dvc": (("dvc.yaml",), False),
    "ant": (("build.xml",), False),
    "sbt": (("build.sbt",), False),
    "lein": (("project.clj",), False),
}  # fmt: skip
BUILD_TOOLS: dict[str, str] = {
    "gradle": "gradle", "gradlew": "gradle", "mvn": "mvn", "mvnw": "mvn", "dotnet": "dotnet",
    "msbuild": "msbuild", "mix": "mix", "makers": "cargo-make", "fastlane": "fastlane",
    "nx": "nx", "bazel": "bazel", "bazelisk": "bazel", "dvc": "dvc", "ant": "ant",
    "sbt": "sbt", "lein": "lein", "cmake": "cmake", "meson": "meson",
    "turbo": "turbo",
}  # fmt: skip
# Sub-verbs that read no build file (``dotnet --version``, ``mix help``).
_QUIET = frozenset({"--version", "-v", "version", "--help", "-h", "help", "new", "nuget",
                    "add", "remove", "list", "sln", "tool", "format", "clean-cache",
                    "query", "info", "status", "graph", "show-projects"})  # fmt: skip

_LITERAL = r"""(?:"{3}(?:.|\n)*?"{3}|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""
_STRING = re.compile(_LITERAL)
_LIST = re.compile(rf"{_LITERAL}(?:\s*,\s*\[?\s*{_LITERAL})+")
_RUST = re.compile(r'Command::new\(\s*"([^"]+)"\s*\)((?:\s*\.\s*(?:arg|args)\([^;]*?\))+)')
_XML_EXEC = re.compile(
    r"<executable>\s*([^<\s]+)\s*</executable>\s*(?:<[^>]*>\s*)*?<arguments>(.*?)</arguments>"
    r"|executable=\"([^\"]+)\"[^>]*>(.*?)</exec>",
    re.DOTALL,
)
_XML_ARG = re.compile(r"<argument>([^<]*)</argument>|<arg\s+(?:value|line)=\"([^\"]*)\"")
_MAX_FILES = 24
_MAX_COMMANDS = 48


def build_file_findings(cmd: Command, w: Walker) -> list[Finding]:
    """What the build files ``cmd`` reads would run, judged command by command."""
    if cmd.name in ("cmake", "meson"):  # read as their languages (``_run_configure``)
        from opsgate.classify._run_configure import configure_findings

        return configure_findings(cmd, w)
    if cmd.name == "turbo":  # the workspace packages' scripts (``_run_monorepo``)
        from opsgate.classify._run_monorepo import turbo_findings

        return turbo_findings(cmd, w) if w.remote is None else []
    tool = _tool(cmd)
    if tool is None or w.remote is not None:
        return []
    names, recursive = _FILES[tool]
    base = cmd.cwd or w.scope.cwd or w.workspace.project
    if base is None:
        return []
    if tool == "xtask":
        base = posixpath.join(base, "xtask")
    from opsgate.classify._run_files import load
    from opsgate.classify._run_listing import collected

    paths = collected(w, base, names, recursive=recursive) or ()
    if tool == "gradle":
        paths = (*_gradle_init_scripts(cmd, w, base), *paths)
    findings: list[Finding] = []
    seen: set[str] = set()
    seen_nx: set[tuple[str, str]] = set()
    for path in [p for p in paths if "/node_modules/" not in p and "/target/" not in p][
        :_MAX_FILES
    ]:
        loaded = load(w, path, None)
        if loaded.text is None:
            continue
        for line in _lines_run(loaded.text, tool, cmd)[:_MAX_COMMANDS]:
            if line in seen:
                continue
            seen.add(line)
            findings += w.classify_shell(line, via=f"{cmd.name} ({loaded.shown})", cwd=base)
        if tool == "nx":  # run-commands targets: whole shell lines (``_run_monorepo``)
            from opsgate.classify._run_monorepo import nx_commands

            for line, cwd in nx_commands(loaded.text, cmd, base)[:_MAX_COMMANDS]:
                if (line, cwd) not in seen_nx:
                    seen_nx.add((line, cwd))
                    findings += w.classify_shell(line, via=f"nx ({loaded.shown})", cwd=cwd)
    return findings


_GRADLE_INIT = re.compile(r"\.gradle(?:\.kts)?$")


def _gradle_init_scripts(cmd: Command, w: Walker, base: str) -> tuple[str, ...]:
    """The init scripts Gradle runs before the build: ``--init-script``/``-I`` files,
    and ``init.gradle`` and ``init.d/*.gradle`` in the Gradle user home."""
    from opsgate.classify._run_listing import collected

    given = [v for v in cmd.options("-I", "--init-script") if v]
    out = [full for v in given if (full := w.workspace.expand(v, base)) is not None]
    home = w.workspace.expand(cmd.env.get("GRADLE_USER_HOME", "~/.gradle"), base)
    if home is not None:
        out += [posixpath.join(home, n) for n in ("init.gradle", "init.gradle.kts")]
        listed = collected(w, posixpath.join(home, "init.d"), ("*.gradle", "*.gradle.kts"),
                           recursive=False)  # fmt: skip
        out += [p for p in listed or () if _GRADLE_INIT.search(p)]
        init_d = posixpath.join(home, "init.d") + "/"
        out += [p for p in w.scope.files if p.startswith(init_d) and _GRADLE_INIT.search(p)]
    return tuple(dict.fromkeys(out))


def _lines_run(text: str, tool: str, cmd: Command) -> list[str]:
    """The command lines of a build file that ``cmd`` runs: for mix, the aliases of
    the task it names (``_run_mix``) and whatever is outside the alias list."""
    if tool == "mix":
        from opsgate.classify._run_mix import mix_parts

        words = [a.value for a in cmd.positionals()]
        parts = mix_parts(text, words[0] if words else None)
        if parts is not None:
            rest, aliases = parts
            return _command_lines("\n".join([rest, *aliases]), tool)
    if tool == "nx":
        from opsgate.classify._run_monorepo import nx_selected

        text = nx_selected(text, cmd)
    return _command_lines(text, tool)


def _tool(cmd: Command) -> str | None:
    tool = BUILD_TOOLS.get(cmd.name)
    words = list(cmd.words)
    if cmd.name == "cargo" and words[:1] in (["make"], ["xtask"]):
        return "cargo-make" if words[0] == "make" else "xtask"
    if tool is None or (words and words[0] in _QUIET) or (not words and tool == "dotnet"):
        return None
    if tool == "dvc" and words[:1] not in (["repro"], ["exp"]):
        return None
    return tool


# The build languages' own file operations, as the shell commands they equal: Gradle's
# ``delete``/``copy { into … }``/``file(…).text =``, Ant's ``<delete dir=…>`` and
# ``<copy todir=…>``, printing ``System.getenv()``.  The user's home in any spelling
# (``System.getProperty('user.home')``, ``${user.home}``, ``System.getenv("HOME")``)
# is ``~``.
_HOME = re.compile(
    r"""\$\{\s*(?:System\.getProperty\(\s*['"]user\.home['"]\s*\)|System\.getenv\(\s*['"]HOME"""
    r"""['"]\s*\)|HOME)\s*\}|System\.getProperty\(\s*['"]user\.home['"]\s*\)|\$\{user\.home\}"""
    r"""|System\.getenv\(\s*['"]HOME['"]\s*\)|System\.get_env\(\s*"HOME"\s*\)|\$HOME\b"""
    r"""|Environment\.GetFolderPath\([^)]*UserProfile\)"""
)
# ``File(System.getProperty("user.home"), ".m2")`` once the home is ``~``; Gradle's own
# user home (``gradle.gradleUserHomeDir``) is ``~/.gradle``.
_HOME_CHILD = re.compile(r"""(?:new\s+)?File\(\s*~\s*,\s*["']([^"'\n]+)["']\s*\)""")
_HOME_PLUS = re.compile(r"""~\s*\+\s*["']/?([^"'\n]+)["']""")  # ``home + '/.aws'``
_GRADLE_HOME = re.compile(r"\$\{\s*(?:project\.)?gradle\.gradleUserHomeDir\s*\}"
                          r"|(?:project\.)?gradle\.gradleUserHomeDir")  # fmt: skip
# Gradle's ``delete a, b, …`` (or ``delete(a, b)``): every literal on the call's line,
# but not one given to ``.dir(…)``/``.file(…)``, which is inside the build directory.
_GRADLE_DELETE = re.compile(r"(?:^|[\s{;.])delete\s*(?:\(|(?=[\"'\w$]))([^\n]*)", re.MULTILINE)
# Whole-line comments of the C family (``// delete 'x' by hand``, `` * delete …``): a word
# in them runs nothing.
_COMMENT_LINE = re.compile(r"(?m)^[ \t]*(?://|/\*|\*).*$")
_UNDER_BUILD = re.compile(r"\.(?:dir|file|getDir|getFile)\(\s*$")
_DSL_DELETE = re.compile(
    r"""(?:\bdelete\s*(?:\(\s*)?(?:file\(\s*|fileTree\(\s*)?|<delete\s+(?:dir|file)=|"""
    r"""File\.rm_rf!?\(\s*|Directory\.Delete\(\s*)["']([^"'\n]+)["']"""
)
_DSL_INTO = re.compile(
    r"""\binto\s*\(?\s*(?:file\(\s*)?["']([^"'\n]+)["']|<copy\b[^>]*\bto(?:dir|file)="([^"]+)"|"""
    r"""file\(\s*["']([^"'\n]+)["']\s*\)\.(?:text\s*=|write)"""
)
# A file's contents read by the build language (``new File(…).text``, ``file('x').readLines()``,
# Kotlin's ``File(…).readText()``): ``cat`` of it, so a credentials file is a secret read.
_DSL_READ = re.compile(
    r"""["']([^"'\n]+)["']\s*\)?\s*\.\s*(?:text|getText\(|readLines\(|readBytes\(|bytes\b|"""
    r"""readText\(|eachLine\b|newReader\(|withReader\b)"""
)
_YAML_CMD = re.compile(r"^\s*-?\s*(?:cmd|command|script|run)\s*:\s*([^'\"\n|>{\[][^\n]*)$",
                       re.MULTILINE)  # fmt: skip
_ENV_DUMP = re.compile(r"System\.getenv\(\s*\)|System\.get_env\(\s*\)|Environment\."
                       r"GetEnvironmentVariables\(\s*\)")  # fmt: skip


def _dsl_twins(text: str, tool: str) -> list[str]:
    home = _HOME.sub("~", _GRADLE_HOME.sub("~/.gradle", _COMMENT_LINE.sub("", text)))
    home = _HOME_CHILD.sub(lambda m: f'"~/{m.group(1)}"', home)
    home = _HOME_PLUS.sub(lambda m: f'"~/{m.group(1)}"', home)
    out = [f"rm -rf {_quote(m.group(1))}" for m in _DSL_DELETE.finditer(home)]
    for call in _GRADLE_DELETE.finditer(home) if tool == "gradle" else ():
        before = home[home.rfind("\n", 0, call.start()) + 1 : call.start()]
        if "//" in before or before.lstrip().startswith(("*", "/*")):
            continue  # a comment that says delete
        rest = call.group(1)
        for lit in _STRING.finditer(rest):
            if not _UNDER_BUILD.search(rest[: lit.start()]):
                out.append(f"rm -rf {_quote(_unquote(lit.group(0)))}")
    out += [f"cat {_quote(m.group(1))}" for m in _DSL_READ.finditer(home)]
    for m in _DSL_INTO.finditer(home):
        dest = m.group(1) or m.group(2) or m.group(3)
        out.append(f"cp -r build/out {_quote(dest)}")
    if _ENV_DUMP.search(text):
        out.append("env")
    return out


# Elixir's spellings of a path from literals: ``Path.expand("~/.ssh")`` is the literal
# it expands, ``System.user_home!()`` is ``~``, ``Path.join("~", ".ssh")`` is ``"~/.ssh"``.
_EX_HOME = re.compile(r"System\.user_home!?\(\s*\)")
_EX_EXPAND = re.compile(r'Path\.(?:expand|absname)\(\s*("[^"\n]*")\s*\)')
_EX_JOIN = re.compile(r'Path\.join\(\s*\[?\s*"([^"\n]*)"\s*,\s*"([^"\n]*)"\s*\]?\s*\)')


def _elixir_paths(text: str) -> str:
    for _ in range(3):  # nested: ``Path.expand(Path.join(System.user_home(), ".ssh"))``
        text = _EX_HOME.sub('"~"', text)
        text = _EX_JOIN.sub(lambda m: f'"{m.group(1).rstrip("/")}/{m.group(2)}"', text)
        text = _EX_EXPAND.sub(r"\1", text)
    return text


def _command_lines(text: str, tool: str) -> list[str]:
    """The command lines a build file writes as literals."""
    from opsgate.classify.families import handler_for

    if tool == "mix":
        text = _elixir_paths(text)
    out: list[str] = _dsl_twins(text, tool)
    # ``cmd: aws s3 sync … --delete`` (dvc.yaml, YAML task files): an unquoted value.
    out += [m.group(1).strip() for m in _YAML_CMD.finditer(text)]
    for match in _RUST.finditer(text):
        words = [match.group(1), *(_unquote(s) for s in _STRING.findall(match.group(2)))]
        out.append(" ".join(_quote(w) for w in words))
    for match in _XML_EXEC.finditer(text):
        program = match.group(1) or match.group(3)
        body = match.group(2) or match.group(4) or ""
        args = [a or b for a, b in _XML_ARG.findall(body)]
        out.append(" ".join([program, *args]))
    for match in _LIST.finditer(text):
        words = [_unquote(s) for s in _STRING.findall(match.group(0))]
        out.append(" ".join(_quote(w) for w in words))
    for match in _STRING.finditer(text):
        value = _unquote(match.group(0))
        if tool == "mix" and value.startswith("cmd "):
            value = value[4:]
        out.append(value)
    lines = []
    for line in out:
        first = line.strip().split(None, 1)
        if (len(first) < 2 and line.strip() != "env") or len(line) > 4000:
            continue
        name = posixpath.basename(first[0].strip("'\""))
        if handler_for(name) is not None or name in (
            "sh",
            "bash",
            "zsh",
            "rm",
            "curl",
            "env",
            "cp",
            "cat",
        ):
            lines.append(line.strip())
    return list(dict.fromkeys(lines))


def _unquote(literal: str) -> str:
    if literal.startswith(('"""', "'''")):
        return literal[3:-3]
    return literal[1:-1].replace('\\"', '"').replace("\\'", "'")


def _quote(word: str) -> str:
    import shlex

    return word if re.fullmatch(r"[\w./:=@%+,~-]+", word) else shlex.quote(word)


# Runners of project code and build tasks, by the words that make them run something
# (None: any).  Their effects are the project's code; what opsgate sees is the target
# they are pointed at.
_RUNNERS: dict[str, tuple[str, ...] | None] = {
    "go": ("run",), "cargo": ("run",), "bazel": ("run",), "bazelisk": ("run",),
    "dotnet": ("run",), "mix": ("run",), "mvn": None, "mvnw": None, "gradle": None,
    "gradlew": None, "flyway": None, "liquibase": None, "sbt": None, "lein": ("run",),
    "dbt": ("run", "build", "seed", "snapshot", "run-operation"),
}  # fmt: skip
PROJECT_RUNNERS = frozenset(_RUNNERS)
_READ_TASK = re.compile(
    r"(?i)(?:^|[:])(info|validate|status|history|describe|show|list|version|help|diff|check|"
    r"dependencies|tasks|properties|plan|compile|test|ls|debug|docs|parse|deps)$"
)
# Migration tools' verbs that print the SQL they would run (liquibase ``update-sql``,
# ``rollback-count-sql``, ``mvn liquibase:updateSQL``) and a few more that only report.
_PRINTS_SQL = re.compile(
    r"(?:^|[:])(?:[a-z-]+-sql|[a-z]+SQL|snapshot|generate-changelog|generateChangeLog|"
    r"db-doc|dbDoc|list-locks|listLocks|calculate-checksum|tag-exists|unexpected-changesets|"
    r"diff-changelog|diffChangeLog)$"
)
_LOSS_WORDS = re.compile(
    r"(?i)(?:^|[:_\-./\s])(clean|dropall|drop|purge|reset|destroy|down|wipe|truncate|delete|"
    r"full-refresh|flywayclean|rollback)(?:$|[:_\-./\s])"
)


def production_run(cmd: Command, w: Walker) -> list[Finding]:
    """``go run ./cmd/migrate -database postgres://…db.prod…/shop down``, ``mvn
    flyway:clean -Dflyway.url=jdbc:…prod…``, ``bazel run //deploy:prod``: project code
    or a build task pointed at a production target.  What it does there cannot be
    seen, so it is a change in production that needs a person (a loss when its words
    say so)."""
    marks = _RUNNERS.get(cmd.name, ())
    words = list(cmd.words)
    if cmd.name == "dbt":  # its profile's default target, and the hooks it runs
        from opsgate.classify._run_dbt import dbt_findings

        found = dbt_findings(cmd, w)
        if found:
            return found + _named_production(cmd, w, marks, words)
    return _named_production(cmd, w, marks, words)


def _named_production(
    cmd: Command, w: Walker, marks: tuple[str, ...] | None, words: list[str]
) -> list[Finding]:
    if marks == () or (marks is not None and not any(word in marks for word in words[:3])):
        return []
    verbs = [w for w in words if not w.startswith("-") and "=" not in w and "://" not in w]
    if cmd.name == "liquibase":
        verbs = verbs[:1]  # one command; the words after it are its own (a tag, a count)
    if verbs and all(_READ_TASK.search(v) or _PRINTS_SQL.search(v) for v in verbs):
        return []  # ``flyway -url=… info``, ``mvn flyway:validate``, ``update-sql``: reads
    best: tuple[object, str, str] | None = None
    for word in words:
        for value in (word, word.split("=", 1)[-1]):
            found = w.environment_of(value.strip("'\""))
            if found is not None and (best is None or found[0] > best[0]):  # type: ignore[operator]
                best = (found[0], found[1], value)
    from opsgate.models import Effect, Environment, Impact

    if best is None or best[0] is not Environment.PRODUCTION:
        return []
    loss = any(_LOSS_WORDS.search(word) for word in words)
    reason = (
        f"runs {cmd.name} against {best[2][:80]}, a production target: what the project's "
        "code or task does there opsgate cannot see"
    )
    return [
        Finding(
            "unknown.production_run",
            Impact.DESTRUCTIVE if loss else Impact.CAUTION,
            Effect.WRITE,
            cmd.text[:200],
            reason,
            best[2][:120],
            Environment.PRODUCTION,
            best[1],
        )
    ]


# Notebooks that a command executes: ``jupyter nbconvert --execute x.ipynb``,
# ``jupyter execute x.ipynb``, ``papermill in.ipynb out.ipynb``.
def notebook_findings(cmd: Command, w: Walker) -> list[Finding]:
    """What the code cells of an executed notebook run: ``!cmd`` lines and
    ``%%bash``/``%%sh`` cells as shell, the rest as Python."""
    words = [a.value for a in cmd.args if a.static]
    if cmd.name == "jupyter":
        if not words or words[0] not in ("nbconvert", "execute", "run"):
            return []
        if words[0] == "nbconvert" and not {"--execute", "--to=notebook --execute"} & set(words):
            return []
    elif cmd.name != "papermill":
        return []
    books = [word for word in words if word.endswith(".ipynb")]
    if cmd.name == "papermill":
        books = books[:1]  # the second is where it writes the result
    from opsgate.classify._run_files import load

    findings: list[Finding] = []
    for book in books[:4]:
        loaded = load(w, book, cmd.cwd)
        if loaded.text is None:
            continue
        for lang, code in _cells(loaded.text):
            script = code if lang == "sh" else f"python3 - <<'OPSGATE_CELL'\n{code}\nOPSGATE_CELL"
            findings += w.classify_shell(script, via=f"{cmd.name} ({loaded.shown})", cwd=cmd.cwd)
    return findings


def _cells(text: str) -> list[tuple[str, str]]:
    import json

    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return [("sh", "false")]  # unreadable: nothing modelled, judged as a failing step
    out: list[tuple[str, str]] = []
    cells = data.get("cells", []) if isinstance(data, dict) else []
    for cell in cells[:200] if isinstance(cells, list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        body = "".join(source) if isinstance(source, list) else str(source)
        if body.lstrip().startswith(("%%bash", "%%sh", "%%script bash", "%%script sh")):
            out.append(("sh", body.split("\n", 1)[1] if "\n" in body else ""))
            continue
        shell = [line.lstrip()[1:] for line in body.splitlines() if line.lstrip().startswith("!")]
        python = "\n".join(
            line for line in body.splitlines()
            if not line.lstrip().startswith(("!", "%"))
        )  # fmt: skip
        out += [("sh", line) for line in shell]
        if python.strip():
            out.append(("python", python))
    return out


# Tools that change what runs later or delete remote data, by the words that do it.
def tool_twins(cmd: Command, w: Walker) -> list[Finding]:
    """``whenever --update-crontab`` writes the user's crontab; ``dvc gc --cloud``
    deletes data from the project's remote storage."""
    words = set(cmd.words)
    if cmd.name == "whenever" and words & {"-w", "--write-crontab", "-i", "--update-crontab"}:
        return w.classify_shell("crontab config/schedule.cron", via="whenever")
    if cmd.name == "dvc" and cmd.words[:1] == ("gc",) and words & {"-c", "--cloud"}:
        from opsgate.models import Effect, Impact

        reason = (
            "dvc gc --cloud deletes every version the workspace does not use from remote storage"
        )
        return [Finding("cloud.delete", Impact.DESTRUCTIVE, Effect.WRITE, cmd.text[:200], reason,
                        "dvc remote")]  # fmt: skip
    return []
