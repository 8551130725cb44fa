"""Configure steps that run the project's build files: CMake and Meson.

``cmake -S . -B build`` evaluates ``CMakeLists.txt`` (and every file it
``include()``s or ``add_subdirectory()``s, the ``-C`` cache script and the toolchain
file), and ``meson setup build`` evaluates ``meson.build`` (and each ``subdir()``).
Both languages run programs at configure time: CMake's ``execute_process(COMMAND …)``
and Meson's ``run_command(…)``.  Those argument lists are judged as the shell
command lines they are, in the directory they run in; CMake's own file operations
(``file(REMOVE_RECURSE …)``, ``file(WRITE …)``, ``file(READ …)``) as the ``rm``, write
and ``cat`` they equal.  Variables CMake and Meson know are substituted
(``$ENV{HOME}``, ``${CMAKE_SOURCE_DIR}``, ``${GIT_EXECUTABLE}``, ``find_program('git')``,
a literal ``set()``); any other stays a value known only at run time.

``cmake --build``, ``--install``, ``-E`` and ``--version`` do not configure; ``cmake -P
FILE`` runs FILE as a script.  A file that cannot be read is ``unknown``
(``_run_files.judge``); a missing one was never going to run.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify._run_files import Code, Loaded, judge, judge_code, load
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["CONFIGURE_TOOLS", "configure_findings"]

_MAX_LISTS = 24  # CMake/Meson files read for one configure

# --- cmake --------------------------------------------------------------------------------

_CMAKE_NO_CONFIGURE = frozenset({"--build", "--install", "-E", "--version", "-version",
                                 "--help", "-h", "--open", "-N", "--find-package",
                                 "--workflow", "--list-presets"})  # fmt: skip
_CMAKE_VALUED = frozenset({"-S", "-B", "-C", "-G", "-T", "-A", "-D", "-U", "--toolchain",
                           "--install-prefix", "--preset", "--log-level", "--graphviz",
                           "--trace-redirect", "-P"})  # fmt: skip
# ``-DNAME=FILE`` settings whose file CMake loads as code.
_LOADED_SETTINGS = ("CMAKE_TOOLCHAIN_FILE", "CMAKE_PROJECT_INCLUDE",
                    "CMAKE_PROJECT_INCLUDE_BEFORE", "CMAKE_PROJECT_TOP_LEVEL_INCLUDES")  # fmt: skip
# Programs CMake finds for itself, by the variable that names them.
_PROGRAM_VARS = {"CMAKE_COMMAND": "cmake", "CMAKE_CTEST_COMMAND": "ctest",
                 "CMAKE_CPACK_COMMAND": "cpack", "GIT_EXECUTABLE": "git",
                 "Python3_EXECUTABLE": "python3", "Python_EXECUTABLE": "python3",
                 "PYTHON_EXECUTABLE": "python3", "Git_EXECUTABLE": "git",
                 "BASH": "bash", "SH": "sh"}  # fmt: skip
_EXEC_KEYWORDS = frozenset({
    "WORKING_DIRECTORY", "TIMEOUT", "RESULT_VARIABLE", "RESULTS_VARIABLE", "OUTPUT_VARIABLE",
    "ERROR_VARIABLE", "INPUT_FILE", "OUTPUT_FILE", "ERROR_FILE", "OUTPUT_QUIET", "ERROR_QUIET",
    "COMMAND_ECHO", "OUTPUT_STRIP_TRAILING_WHITESPACE", "ERROR_STRIP_TRAILING_WHITESPACE",
    "ENCODING", "ECHO_OUTPUT_VARIABLE", "ECHO_ERROR_VARIABLE", "COMMAND_ERROR_IS_FATAL",
})  # fmt: skip
_FILE_TWINS = {"REMOVE_RECURSE": "rm -rf", "REMOVE": "rm -f", "WRITE": "cp -r build/out",
               "APPEND": "cp -r build/out", "TOUCH": "cp -r build/out", "READ": "cat",
               "STRINGS": "cat", "MAKE_DIRECTORY": "mkdir -p"}  # fmt: skip
# The path is the first argument; REMOVE* and MAKE_DIRECTORY take several.
_FILE_MANY = frozenset({"REMOVE_RECURSE", "REMOVE", "MAKE_DIRECTORY"})
_CALL = re.compile(r"(?im)^[ \t]*(execute_process|exec_program|include|add_subdirectory|file|"
                   r"set|list)\s*\(")  # fmt: skip
_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"|\[(=*)\[(.*?)\]\2\]|([^\s()"#]+)', re.DOTALL)
_VAR = re.compile(r"\$ENV\{(\w+)\}|\$\{(\w+)\}")


@dataclass
class _CMake:
    """One configure: its directories, its variables, and the files read so far."""

    source: str
    build: str
    variables: dict[str, str] = field(default_factory=dict)
    read: list[str] = field(default_factory=list)


def _cmake(cmd: Command, w: Walker) -> list[Finding]:
    words = [a.value for a in cmd.args]
    if _CMAKE_NO_CONFIGURE & {word.split("=", 1)[0] for word in words}:
        return []
    start = cmd.cwd or w.scope.cwd or w.workspace.project
    if start is None:
        return []
    script = cmd.option("-P")
    if script is not None:
        state = _CMake(start, start)
        return _cmake_file(w, state, load(w, script, start), f"cmake -P {script}")
    source = _cmake_source(w, cmd, start)
    build = w.workspace.expand(cmd.option("-B") or ".", start) or start
    state = _CMake(source, build)
    findings: list[Finding] = []
    for loaded_file in _cmake_loaded_settings(cmd, start):
        findings += _cmake_file(w, state, load(w, loaded_file, start), "cmake loads")
    lists = load(w, posixpath.join(source, "CMakeLists.txt"), None)
    return findings + _cmake_file(w, state, lists, "cmake configures")


def _cmake_source(w: Walker, cmd: Command, start: str) -> str:
    """The source directory: ``-S``, a path holding CMakeLists.txt, the source named
    in a build directory's cache, or the working directory."""
    given = cmd.option("-S")
    if given:
        return w.workspace.expand(given, start) or start
    for arg in cmd.positionals(_CMAKE_VALUED):
        full = w.workspace.expand(arg.value, start)
        if full is None:
            continue
        if load(w, posixpath.join(full, "CMakeLists.txt"), None).state != "missing":
            return full
        cache = load(w, posixpath.join(full, "CMakeCache.txt"), None)
        home = re.search(r"(?m)^CMAKE_HOME_DIRECTORY:INTERNAL=(.+)$", cache.text or "")
        if home:
            return home.group(1).strip()
    return start


def _cmake_loaded_settings(cmd: Command, start: str) -> list[str]:
    """Files CMake runs before the project: ``-C`` cache scripts, the toolchain file,
    the project includes given as ``-D`` settings."""
    out = [v for v in cmd.options("-C", "--toolchain") if v]
    words = [a.value for a in cmd.args]
    for i, word in enumerate(words):
        setting = word[2:] if word.startswith("-D") and len(word) > 2 else None
        if word == "-D" and i + 1 < len(words):
            setting = words[i + 1]
        if setting is None or "=" not in setting:
            continue
        name, value = setting.split("=", 1)
        if name.split(":", 1)[0] in _LOADED_SETTINGS and value:
            out += value.split(";")
    return out


def _cmake_file(w: Walker, state: _CMake, loaded: Loaded, how: str) -> list[Finding]:
    if loaded.state == "missing" or loaded.path in state.read:
        return []
    if len(state.read) >= _MAX_LISTS:
        budget = Loaded(loaded.path, loaded.shown, "budget")
        return judge(w, budget, None, where=how, cwd=state.source)
    state.read.append(loaded.path)
    if loaded.text is None:
        return judge(w, loaded, None, where=f"{how} {loaded.shown}", cwd=state.source)
    directory = posixpath.dirname(loaded.path)
    text = _cmake_comments(loaded.text)
    findings: list[Finding] = []
    for call in _CALL.finditer(text):
        name = call.group(1).lower()
        args = _cmake_args(text, call.end())
        line = 1 + text.count("\n", 0, call.start())
        values = [_substitute(a, state, directory) for a in args]
        if name in ("set", "list"):
            _assign(state, name, values)
        elif name == "include" and values:
            findings += _include(w, state, values[0], directory)
        elif name == "add_subdirectory" and values:
            below = w.workspace.expand(values[0], directory) or values[0]
            inner = load(w, posixpath.join(below, "CMakeLists.txt"), None)
            findings += _cmake_file(w, state, inner, "cmake configures")
        else:
            for shell, cwd in _cmake_lines(name, values, directory):
                code = Code(loaded.path, loaded.shown, shell, "shell",
                            key=f"cmake:{line}:{shell[:40]}", first_line=line)  # fmt: skip
                findings += judge_code(w, code, where=f"{how} {loaded.shown}", cwd=cwd)
    return findings


def _cmake_comments(text: str) -> str:
    """``#`` comments (and ``#[[ … ]]`` bracket comments) blanked, lines kept."""
    text = re.sub(r"#\[(=*)\[.*?\]\1\]", lambda m: "\n" * m.group(0).count("\n"), text,
                  flags=re.DOTALL)  # fmt: skip
    out = []
    for line in text.split("\n"):
        quoted = False
        for i, char in enumerate(line):
            if char == '"' and (i == 0 or line[i - 1] != "\\"):
                quoted = not quoted
            elif char == "#" and not quoted:
                line = line[:i]
                break
        out.append(line)
    return "\n".join(out)


def _cmake_args(text: str, start: int) -> list[str]:
    """The arguments of the call whose ``(`` ends at ``start`` (nested parentheses are
    part of the list, as CMake reads them)."""
    depth, i, out = 1, start, list[str]()
    while i < len(text) and depth > 0:
        char = text[i]
        if char == "(":
            depth += 1
            i += 1
            continue
        if char == ")":
            depth -= 1
            i += 1
            continue
        match = _ARG.match(text, i)
        if match is None:
            i += 1
            continue
        if match.group(1) is not None:
            out.append(match.group(1).replace('\\"', '"'))
        elif match.group(3) is not None:
            out.append(match.group(3))
        else:
            out.append(match.group(4))
        i = match.end()
    return out


def _substitute(word: str, state: _CMake, directory: str) -> str:
    """CMake's variables, as far as they are known; the environment's as the shell's."""

    def one(match: re.Match[str]) -> str:
        if match.group(1):
            return "\x00" + match.group(1) + "\x01"  # an environment variable: the shell's
        name = match.group(2)
        known = {"CMAKE_SOURCE_DIR": state.source, "PROJECT_SOURCE_DIR": state.source,
                 "CMAKE_CURRENT_SOURCE_DIR": directory, "CMAKE_CURRENT_LIST_DIR": directory,
                 "CMAKE_BINARY_DIR": state.build, "PROJECT_BINARY_DIR": state.build,
                 "CMAKE_CURRENT_BINARY_DIR": state.build}  # fmt: skip
        value = known.get(name) or _PROGRAM_VARS.get(name) or state.variables.get(name)
        return value if value is not None else "\x00" + name + "\x01"

    for _ in range(4):  # ``${${NAME}_DIR}``: inner first
        new = _VAR.sub(one, word)
        if new == word:
            break
        word = new
    return word


def _assign(state: _CMake, name: str, values: list[str]) -> None:
    """``set(NAME v… [CACHE …|PARENT_SCOPE])``, ``list(APPEND NAME v…)``: the value as
    far as it is known (the parts known only at run time stay so)."""
    if name == "set" and len(values) >= 2:
        items = values[1:]
        for stop in ("CACHE", "PARENT_SCOPE"):
            items = items[: items.index(stop)] if stop in items else items
        state.variables[values[0]] = ";".join(items)[:400]
    elif name == "list" and len(values) >= 3 and values[0] == "APPEND":
        old = state.variables.get(values[1])
        state.variables[values[1]] = ";".join([*([old] if old else []), *values[2:]])


def _include(w: Walker, state: _CMake, what: str, directory: str) -> list[Finding]:
    """``include(cmake/x.cmake)`` or ``include(Name)`` found on CMAKE_MODULE_PATH; a
    module CMake ships (``include(CTest)``) is not there and not read."""
    if "\x00" in what:
        return []  # a path known only at run time: nothing opsgate can open
    if what.endswith(".cmake") or "/" in what:
        candidates = [w.workspace.expand(what, directory) or what]
    else:
        dirs = [d for d in state.variables.get("CMAKE_MODULE_PATH", "").split(";") if d]
        dirs += [posixpath.join(state.source, "cmake"), posixpath.join(state.source, "CMake")]
        candidates = [posixpath.join(d, f"{what}.cmake") for d in dirs]
    for path in candidates:
        loaded = load(w, path, None)
        if loaded.state != "missing":
            return _cmake_file(w, state, loaded, "cmake includes")
    return []


def _cmake_lines(name: str, values: list[str], directory: str) -> list[tuple[str, str]]:
    """The shell lines (and their directories) of an ``execute_process`` or ``file``."""
    if name == "execute_process":
        commands: list[list[str]] = []
        cwd, i = directory, 0
        while i < len(values):
            word = values[i]
            if word == "COMMAND":
                commands.append([])
            elif word == "WORKING_DIRECTORY" and i + 1 < len(values):
                cwd, i = values[i + 1], i + 1
            elif word in _EXEC_KEYWORDS:
                commands.append([])  # the keyword's value is not part of a command
                if word not in ("OUTPUT_QUIET", "ERROR_QUIET", "OUTPUT_STRIP_TRAILING_WHITESPACE",
                                "ERROR_STRIP_TRAILING_WHITESPACE"):  # fmt: skip
                    i += 1
            elif commands:
                commands[-1].append(word)
            i += 1
        line = " | ".join(_shell_words(c) for c in commands if c)
        return [(line, cwd)] if line else []
    if name == "exec_program" and values:
        args = values[values.index("ARGS") + 1 :] if "ARGS" in values else []
        args = args[: next((i for i, a in enumerate(args) if a.isupper()), len(args))]
        return [(f"{_shell_words(values[:1])} {' '.join(args)}", directory)]
    if name == "file" and len(values) >= 2 and values[0] in _FILE_TWINS:
        paths = values[1:] if values[0] in _FILE_MANY else values[1:2]
        return [(f"{_FILE_TWINS[values[0]]} {_shell_words(paths)}", directory)]
    return []


def _shell_words(words: list[str]) -> str:
    """Words as shell words: literal parts quoted, run-time variables as ``"${NAME}"``."""
    out = []
    for word in words:
        parts = re.split(r"\x00(\w+)\x01", word)
        shell = "".join(
            f'"${{{part}}}"' if i % 2 else (shlex.quote(part) if part else "")
            for i, part in enumerate(parts)
        )
        out.append(shell or "''")
    return " ".join(out)


# --- meson --------------------------------------------------------------------------------

_MESON_SUBCOMMANDS = frozenset({
    "configure", "dist", "install", "introspect", "init", "test", "wrap", "subprojects",
    "rewrite", "compile", "devenv", "env2mfile", "format", "fmt", "help", "--version", "-v",
    "-h", "--help",
})  # fmt: skip
_MESON_CALL = re.compile(r"\b(run_command|subdir)\s*\(")
_MESON_STRING = re.compile(r"'''(.*?)'''|'((?:[^'\\\n]|\\.)*)'", re.DOTALL)
_MESON_PROGRAM = re.compile(r"(?m)^\s*(\w+)\s*=\s*find_program\(\s*'([^']+)'")
_MESON_INLINE = re.compile(r"find_program\(\s*'([^']+)'[^()]*\)")


def _meson(cmd: Command, w: Walker) -> list[Finding]:
    words = [a.value for a in cmd.positionals(frozenset({"-D", "--buildtype", "--prefix",
                                                         "--backend", "--native-file",
                                                         "--cross-file"}))]  # fmt: skip
    if not words or (words[0] in _MESON_SUBCOMMANDS) or cmd.has("--version", "-v", "--help"):
        return []
    start = cmd.cwd or w.scope.cwd or w.workspace.project
    if start is None:
        return []
    operands = words[1:] if words[0] == "setup" else words
    source = w.workspace.expand(operands[1], start) if len(operands) > 1 else start
    read: list[str] = []
    return _meson_file(w, load(w, posixpath.join(source or start, "meson.build"), None), read)


def _meson_file(w: Walker, loaded: Loaded, read: list[str]) -> list[Finding]:
    if loaded.state == "missing" or loaded.path in read or len(read) >= _MAX_LISTS:
        return []
    read.append(loaded.path)
    if loaded.text is None:
        return judge(w, loaded, None, where=f"meson setup {loaded.shown}", cwd=None)
    directory = posixpath.dirname(loaded.path)
    text = re.sub(r"(?m)#.*$", "", _MESON_STRING.sub(lambda m: m.group(0).replace("#", "\x02"),
                                                     loaded.text)).replace("\x02", "#")  # fmt: skip
    programs = dict(_MESON_PROGRAM.findall(text))
    findings: list[Finding] = []
    for call in _MESON_CALL.finditer(text):
        args = _meson_args(text, call.end(), programs)
        line = 1 + text.count("\n", 0, call.start())
        if call.group(1) == "subdir":
            if args and args[0] is not None:
                inner = load(w, posixpath.join(directory, args[0], "meson.build"), None)
                findings += _meson_file(w, inner, read)
            continue
        words = [shlex.quote(a) if a is not None else '"${MESON_VALUE}"' for a in args]
        if not words:
            continue
        code = Code(loaded.path, loaded.shown, " ".join(words), "shell",
                    key=f"meson:{line}", first_line=line)  # fmt: skip
        findings += judge_code(w, code, where=f"meson setup runs {loaded.shown}", cwd=directory)
    return findings


def _meson_args(text: str, start: int, programs: dict[str, str]) -> list[str | None]:
    """The positional arguments of a call: literals, programs found by name, and None
    for a value known only at run time.  Keyword arguments (``check: false``) end them."""
    depth, i, current, out = 0, start, "", list[str]()
    while i < len(text):
        char = text[i]
        if char == "'":
            end = _MESON_STRING.match(text, i)
            step = end.end() if end else i + 1
            current += text[i:step]
            i = step
            continue
        if char in "([":
            depth += 1
        elif char in ")]":
            if depth == 0:
                break
            depth -= 1
        elif char == "," and depth == 0:
            out.append(current)
            current = ""
            i += 1
            continue
        current += char
        i += 1
    out.append(current)
    values: list[str | None] = []
    for arg in (a.strip() for a in out):
        if not arg:
            continue
        if re.match(r"^\w+\s*:", arg):
            break
        arg = _MESON_INLINE.sub(lambda m: f"'{m.group(1)}'", arg)
        if arg in programs:
            values.append(programs[arg])
            continue
        literals = [m.group(1) if m.group(1) is not None else m.group(2)
                    for m in _MESON_STRING.finditer(arg)]  # fmt: skip
        bare = _MESON_STRING.sub("", arg).strip(" []\n\t,")
        if literals and not bare:
            values += [v.replace("\\'", "'") for v in literals]
        else:
            values.append(None)
    return values


CONFIGURE_TOOLS = {"cmake": _cmake, "meson": _meson}


def configure_findings(cmd: Command, w: Walker) -> list[Finding]:
    """What configuring the project with ``cmd`` (cmake, meson) runs."""
    tool = CONFIGURE_TOOLS.get(cmd.name)
    if tool is None or w.remote is not None:
        return []
    return tool(cmd, w)
