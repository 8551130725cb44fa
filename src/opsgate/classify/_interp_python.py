"""Python given to an interpreter, read with Python's own parser (``ast``)."""

from __future__ import annotations

import ast
import base64
import binascii
import posixpath
import re
from collections.abc import Callable

from opsgate.classify import _interp_python_names as names
from opsgate.classify._command import Arg, Command, Context
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Effect, Finding, Impact

__all__ = ["Shell", "_metadata_url", "_unknown", "analyse_python"]

Shell = Callable[[str], list[Finding]]
Delete = Callable[[str, bool], list[Finding]]

_SHELL_CALLS = frozenset(
    {
        "os.system",
        "os.popen",
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.Popen",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "pty.spawn",
        "commands.getoutput",
        "asyncio.create_subprocess_shell",
        "asyncio.create_subprocess_exec",
        "sh.Command",
    }
)
# The os calls that run a program with the arguments they are given, none through a
# shell: where the program's name and its arguments start, and whether the last
# argument is an environment.  ``os.execvp('git', ['git', 'push'])`` runs ``git push``.
_ARGV_CALLS = {
    **{f"os.exec{k}": (0, 1, k.endswith("e")) for k in ("v", "vp", "ve", "vpe")},
    **{f"os.exec{k}": (0, 1, k.endswith("e")) for k in ("l", "lp", "le", "lpe")},
    **{f"os.spawn{k}": (1, 2, k.endswith("e")) for k in ("v", "vp", "ve", "vpe")},
    **{f"os.spawn{k}": (1, 2, k.endswith("e")) for k in ("l", "lp", "le", "lpe")},
    "os.posix_spawn": (0, 1, True),
    "os.posix_spawnp": (0, 1, True),
    "asyncio.create_subprocess_exec": (0, 0, False),
}
_DELETE_CALLS = {
    "shutil.rmtree": True,
    "os.remove": False,
    "os.unlink": False,
    "os.rmdir": False,
    "os.removedirs": True,
    "shutil.move": False,
}
_ENV_DUMPS = frozenset(
    {"os.environ", "os.environ.items", "os.environ.copy", "os.environb", "os.environ.values"}
)
# Calls whose arguments leave the program (the terminal, a file the agent reads next):
# the environment given to one is dumped (``fh.write(str(os.environ))``).
_OUTPUTS = frozenset({"print", "pprint", "pprint.pprint", "sys.stdout.write", "json.dumps",
                      "json.dump", "yaml.dump", "yaml.safe_dump", "pickle.dump",
                      "toml.dump", "tomli_w.dump"})  # fmt: skip


_unknown = unknown  # the classifier's one "cannot model this" finding


class _Python(ast.NodeVisitor):
    def __init__(self, ctx: Context, shell: Shell, delete: Delete, depth: int) -> None:
        self.write: Callable[[str], list[Finding]] = lambda path: _write_probe(ctx, path)
        self.ctx = ctx
        self.shell = shell
        self.delete = delete
        self.depth = depth
        self.findings: list[Finding] = []
        self.strings: dict[str, str] = {}
        # Names bound to a path built from parts (``p = Path.home() / '.aws' / 'x'``).
        self.paths: dict[str, str] = {}
        self.fresh: dict[str, str] = {}  # names only ever bound to a new temp directory
        self.aliases: dict[str, str] = {}  # ``s`` -> ``subprocess`` (``_interp_python_names``)
        self.modules: frozenset[str] = frozenset()

    def visit_Module(self, node: ast.Module) -> None:
        from opsgate.classify._interp_kills import python_mass_kill
        from opsgate.classify._interp_python_pytest import pytest_temp_names

        self.fresh = {**_fresh_temp_names(node, self._literal), **pytest_temp_names(node)}
        mass = python_mass_kill(node)
        if mass is not None:
            self.findings.append(mass)
        self.aliases, self.modules = names.import_names(node)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        value = self._literal(node.value)
        looked_up = names.getattr_target(node.value, self.aliases, self.modules, self._literal)
        path = self._path(node.value) if value is None else None
        for target in node.targets:
            if isinstance(target, ast.Name) and value is not None:
                self.strings[target.id] = value
            elif isinstance(target, ast.Name) and path is not None:
                self.paths[target.id] = path
            if isinstance(target, ast.Name) and looked_up is not None and looked_up[1]:
                self.aliases[target.id] = looked_up[0]  # ``fn = getattr(os, 'system')``
        self.generic_visit(node)

    def _callee(self, node: ast.Call) -> str:
        """The function ``node`` calls, through import aliases and ``getattr``; a lookup
        by a name built at run time is unknown."""
        looked_up = names.getattr_target(node, self.aliases, self.modules, self._literal)
        if looked_up is not None and not looked_up[1]:
            why = f"looks up a function of {looked_up[0]} by a name built at run time"
            self.findings.append(_unknown(why, ast.unparse(node)[:200]))
        inner = node.func
        if isinstance(inner, ast.Call):  # ``getattr(os, 'system')(cmd)``
            found = names.getattr_target(inner, self.aliases, self.modules, self._literal)
            return found[0] if found is not None and found[1] else ""
        return names.resolve(_dotted(inner), self.aliases)

    def visit_Call(self, node: ast.Call) -> None:
        name = self._callee(node)
        if names.runs_file(name) is not None:
            self._run_file(name, node)
        elif name in _ARGV_CALLS:
            self._argv_call(name, node)
        elif name in _SHELL_CALLS or name.endswith(("subprocess.run", "subprocess.Popen")):
            self._shell_call(name, node)
        elif name in _DELETE_CALLS or name.endswith((".unlink", ".rmdir", ".rmtree")):
            self._delete_call(name, node)
        elif name in ("exec", "eval", "compile"):
            self._exec_call(node)
        elif _is_output(name):
            self._print_call(node)
        elif name in ("os.getenv", "os.environ.get") and _prints_parent(node):
            self._env_read(node)
        elif name in ("open", "io.open", "codecs.open") or (
            isinstance(node.func, ast.Attribute) and node.func.attr in _FILE_METHODS
        ):
            self._file_call(name, node)
        elif name.split(".")[-1] in ("delete", "post", "put", "patch") and name.split(".")[0] in (
            "requests",
            "httpx",
            "session",
            "s",
            "client",
            "urllib3",
        ):
            self._http_write(name, node)
        elif name.endswith(("dotenv_values", "load_dotenv")) or name.endswith("dotenv.main"):
            self.findings.append(
                Finding(
                    "secrets.read",
                    Impact.CAUTION,
                    Effect.SECRET,
                    ast.unparse(node)[:200],
                    "loads the .env secrets file",
                )
            )
        self.generic_visit(node)

    def _run_file(self, name: str, node: ast.Call) -> None:
        """``runpy.run_path('job.py')``: the file runs; read and judged as Python."""
        from opsgate.classify._run_interp import python_module, run_file_as
        from opsgate.classify.shell import Walker

        given = self._literal(node.args[0]) if node.args else None
        if given is None:
            self.findings.append(_unknown(f"{name} runs code named at run time", ast.unparse(node)))
            return
        if not isinstance(self.ctx, Walker):
            return
        probe = Command("python", (), ast.unparse(node)[:200])
        if names.runs_file(name) == "path":
            self.findings.extend(run_file_as(self.ctx, probe, Arg(given), "python", ()))
        else:
            self.findings.extend(python_module(probe, self.ctx, given, ()))

    def _http_write(self, name: str, node: ast.Call) -> None:
        url = self._literal(node.args[0]) if node.args else None
        if url is not None and re.match(r"https?://(localhost|127\.|\[::1\])", url):
            return
        method = name.split(".")[-1].upper()
        impact = Impact.DESTRUCTIVE if method == "DELETE" else Impact.CAUTION
        self.findings.append(
            Finding(
                "network.write",
                impact,
                Effect.WRITE,
                ast.unparse(node)[:200],
                f"sends an HTTP {method} to {url or 'a remote API'}",
                url or "remote API",
            )
        )

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and _metadata_url(node.value):
            self.findings.append(
                Finding(
                    "secrets.cloud_metadata",
                    Impact.CAUTION,
                    Effect.SECRET,
                    node.value[:200],
                    "contacts the cloud metadata service",
                )
            )

    def _file_call(self, name: str, node: ast.Call) -> None:
        """open()/Path.read_text(): a secret read, or a write to a protected file."""
        from opsgate.classify.families._secrets_common import secret_behind

        func = node.func
        method = isinstance(func, ast.Attribute) and func.attr in _FILE_METHODS
        target: ast.expr | None
        if isinstance(func, ast.Attribute) and method:
            target = func.value
        else:
            target = node.args[0] if node.args else None
        path = self._path(target) if target is not None else None
        if path is None and isinstance(target, ast.Call) and target.args:
            path = self._path(target.args[0])  # ``wrap(path).read_text()``
        if path is None:
            return
        at = 0 if method else 1  # ``p.open('w')``, ``open(p, 'w')``
        mode = self._literal(node.args[at]) if len(node.args) > at else None
        for kw in node.keywords:
            if kw.arg == "mode":
                mode = self._literal(kw.value)
        writing = name.endswith(("write_text", "write_bytes")) or bool(
            mode and any(ch in mode for ch in "wax+")
        )
        if writing:
            self.findings.extend(self.write(path))
        elif (secret := secret_behind(path, self.ctx)) is not None:
            via = "" if secret in (path, _home_path(path, self.ctx)) else f" (a link to {secret})"
            self.findings.append(
                Finding(
                    "secrets.read",
                    Impact.CAUTION,
                    Effect.SECRET,
                    ast.unparse(node)[:200],
                    f"reads {path}{via}, which holds credentials",
                )
            )

    def _shell_call(self, name: str, node: ast.Call) -> None:
        if not node.args:
            return
        first = node.args[0]
        text = self._literal(first)
        if (
            text is None
            and isinstance(first, ast.Call)
            and names.resolve(_dotted(first.func), self.aliases) == "shlex.split"
            and len(first.args) == 1
        ):
            text = self._literal(first.args[0])  # ``run(shlex.split(CMD))`` runs CMD's words
        if text is None and isinstance(first, (ast.List, ast.Tuple)):
            # A word may be a path the code made (a fresh temp directory, ``base / 'x'``).
            parts = [self._literal(e) or self._path(e) for e in first.elts]
            if all(p is not None for p in parts):
                import shlex

                text = shlex.join([p for p in parts if p is not None])
        if text is None:
            self.findings.append(
                _unknown(f"{name} runs a command built at run time", ast.unparse(node))
            )
            return
        self.findings.extend(self.shell(text))

    def _argv_call(self, name: str, node: ast.Call) -> None:
        """``os.execvp(prog, [argv0, *args])``, ``os.spawnlp(mode, prog, argv0, *args)``,
        ``asyncio.create_subprocess_exec(prog, *args)``: judged as ``prog args``; a
        word built at run time (or ``*args``) leaves the call unknown."""
        at, rest, has_env = _ARGV_CALLS[name]
        args = list(node.args)
        if has_env and len(args) > rest + 1:
            args = args[:-1]
        words: list[ast.expr] | None = None
        if len(args) > rest and not any(isinstance(a, ast.Starred) for a in args):
            if name.startswith(("os.execv", "os.spawnv", "os.posix_spawn")):
                seq = args[rest] if len(args) == rest + 1 else None
                if isinstance(seq, (ast.List, ast.Tuple)):
                    words = [args[at], *seq.elts[1:]]
            elif rest == at:
                words = args[at:]
            else:
                words = [args[at], *args[rest + 1 :]]
        parts = [self._literal(w) or self._path(w) for w in words or []]
        if not words or any(p is None for p in parts):
            self.findings.append(
                _unknown(f"{name} runs a command built at run time", ast.unparse(node))
            )
            return
        import shlex

        self.findings.extend(self.shell(shlex.join([p for p in parts if p is not None])))

    def _delete_call(self, name: str, node: ast.Call) -> None:
        target = (
            node.args[0]
            if node.args
            else (node.func.value if isinstance(node.func, ast.Attribute) else None)
        )
        recursive = _DELETE_CALLS.get(name, name.endswith("rmtree"))
        path = self._path(target) if target is not None else None
        if path is None:
            self.findings.append(
                _unknown(f"{name} deletes a path built at run time", ast.unparse(node))
            )
            return
        self.findings.extend(self.delete(path, recursive))

    def _exec_call(self, node: ast.Call) -> None:
        if not node.args:
            return
        code = self._literal(node.args[0])
        if code is None:
            self.findings.append(_unknown("exec of code built at run time", ast.unparse(node)))
            return
        self.findings.extend(
            analyse_python(code, self.ctx, self.shell, self.delete, self.depth + 1)
        )

    def visit_For(self, node: ast.For) -> None:
        """``for k, v in os.environ.items(): fh.write(f"{k}={v}")``: the values the
        loop takes from the environment go to an output (the names alone do not)."""
        taken = _env_values_taken(node)
        if taken:
            for sub in (n for stmt in node.body for n in ast.walk(stmt)):
                if isinstance(sub, ast.Call) and _is_output(self._callee(sub)) and any(
                    isinstance(n, ast.Name) and n.id in taken
                    for arg in sub.args for n in ast.walk(arg)
                ):  # fmt: skip
                    self.findings.append(_env_dump(node))
                    break
        values = self._loop_values(node)
        if values is None or not isinstance(node.target, ast.Name):
            self.generic_visit(node)
            return
        for value in values:  # ``for d in ('build', 'dist'): shutil.rmtree(d)``: each one
            self.strings[node.target.id] = value
            for stmt in node.body:
                self.visit(stmt)
        self.strings.pop(node.target.id, None)
        for stmt in node.orelse:
            self.visit(stmt)

    def _loop_values(self, node: ast.For) -> list[str] | None:
        """The strings a loop over a literal list or tuple of them takes, in order."""
        if not isinstance(node.iter, (ast.List, ast.Tuple)) or len(node.iter.elts) > 16:
            return None
        values = [self._literal(e) for e in node.iter.elts]
        return None if any(v is None for v in values) else [v for v in values if v is not None]

    def _print_call(self, node: ast.Call) -> None:
        if any(_dumps_environment(arg) for arg in [*node.args, *(k.value for k in node.keywords)]):
            self.findings.append(
                Finding(
                    "secrets.env_dump",
                    Impact.CAUTION,
                    Effect.SECRET,
                    ast.unparse(node)[:200],
                    "prints the process environment",
                )
            )

    def _env_read(self, node: ast.Call) -> None:
        from opsgate.classify._words import SECRET_VAR

        key = self._literal(node.args[0]) if node.args else None
        if key is None or SECRET_VAR.search(key):
            self.findings.append(
                Finding(
                    "secrets.read",
                    Impact.CAUTION,
                    Effect.SECRET,
                    ast.unparse(node)[:200],
                    f"prints the secret variable {key}",
                )
            )

    def _literal(self, node: ast.AST) -> str | None:
        """A string this expression always evaluates to, if it is that simple."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            v = node.value
            return v.decode("utf-8", "replace") if isinstance(v, bytes) else v
        if isinstance(node, ast.Name):
            return self.strings.get(node.id)
        if isinstance(node, ast.JoinedStr):
            parts = [
                self._literal(v)
                if not isinstance(v, ast.FormattedValue)
                else self._literal(v.value)
                for v in node.values
            ]
            return "".join(p for p in parts if p is not None) if all(
                p is not None for p in parts) else None  # fmt: skip
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self._literal(node.left), self._literal(node.right)
            return left + right if left is not None and right is not None else None
        if isinstance(node, ast.Call):
            return self._decoded(node)
        return None

    def _decoded(self, node: ast.Call) -> str | None:
        name = _dotted(node.func)
        if name.endswith(("b64decode", "decodebytes", "standard_b64decode")) and node.args:
            raw = self._literal(node.args[0])
            try:
                return base64.b64decode(raw + "=" * (-len(raw) % 4)).decode() if raw else None
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None
        if name.endswith(".decode") and isinstance(node.func, ast.Attribute):
            return self._literal(node.func.value)
        if name.endswith("expanduser") and node.args:
            inner = self._literal(node.args[0])
            return inner
        if name in ("pathlib.Path.home", "Path.home"):
            return "~"
        return None

    def _path(self, node: ast.AST) -> str | None:
        text = self._literal(node)
        if text is not None:
            return text
        if isinstance(node, ast.Name) and node.id in self.fresh:
            return self.fresh[node.id]
        if isinstance(node, ast.Name) and node.id in self.paths:
            return self.paths[node.id]
        made = _made_temp(node, self._literal)
        if made is not None:
            return made
        dotted = _dotted(node)
        if dotted in ("os.environ['HOME']", "Path.home()", "pathlib.Path.home()"):
            return "~"
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return self._joined([node.left, node.right])  # pathlib: base / 'a' / 'b'
        if isinstance(node, ast.Call):
            return self._path_call(node)
        if isinstance(node, ast.Attribute) and node.attr == "parent":  # Path(__file__).parent
            base = self._path(node.value)
            return posixpath.dirname(base.rstrip("/")) if base else None
        if isinstance(node, ast.Subscript) and _dotted(node.value) == "os.environ":
            key = self._literal(node.slice)
            return "~" if key == "HOME" else None
        return None

    def _path_call(self, node: ast.Call) -> str | None:
        """``Path(a, b)``, ``os.path.join(a, b)``, ``p.joinpath(b)``, ``p.expanduser()``."""
        name = _dotted(node.func)
        if name in _PATH_TYPES or name in _JOINS:
            return self._joined(node.args) if node.args else None
        if name in _SAME_PATH_FUNCS and len(node.args) == 1:
            return self._path(node.args[0])
        if isinstance(node.func, ast.Attribute) and node.func.attr in _SAME_PATH:
            return self._path(node.func.value)
        if name in ("os.path.dirname", "posixpath.dirname") and len(node.args) == 1:
            base = self._path(node.args[0])
            return posixpath.dirname(base.rstrip("/")) if base else None
        if isinstance(node.func, ast.Attribute) and node.func.attr == "joinpath":
            return self._joined([node.func.value, *node.args])
        return None

    def _joined(self, parts: list[ast.expr]) -> str | None:
        paths = [self._path(part) for part in parts]
        if not paths or any(p is None for p in paths):
            return None
        return posixpath.join(*(p for p in paths if p is not None))


# Methods of a path object that open, read or write its file.
_FILE_METHODS = frozenset({"read_text", "read_bytes", "write_text", "write_bytes", "open"})
# Spellings of a path built from parts, and methods that name the same file.
_PATH_TYPES = frozenset({"Path", "pathlib.Path", "PurePath", "pathlib.PurePath", "PosixPath",
                         "pathlib.PosixPath", "os.fspath", "str"})  # fmt: skip
_JOINS = frozenset({"os.path.join", "posixpath.join", "path.join"})
_SAME_PATH = frozenset({"expanduser", "resolve", "absolute", "realpath", "abspath"})
_SAME_PATH_FUNCS = frozenset({"os.path.abspath", "os.path.realpath", "os.path.normpath",
                              "os.path.expanduser"})  # fmt: skip
# Calls that create a new, empty directory nobody else uses; ``dir=`` names its parent.
_MKDTEMP = frozenset({"tempfile.mkdtemp", "mkdtemp"})
_FRESH_DIR = "/tmp/tmp-opsgate-mkdtemp"


def _made_temp(node: ast.AST, literal: Callable[[ast.AST], str | None]) -> str | None:
    """The directory ``tempfile.mkdtemp(…)`` creates, as a path opsgate can place, also
    when wrapped in a path type (``pathlib.Path(tempfile.mkdtemp())``)."""
    while (
        isinstance(node, ast.Call)
        and len(node.args) == 1
        and not node.keywords
        and _dotted(node.func) in (_PATH_TYPES | {"os.path.realpath", "os.path.abspath"})
    ):
        node = node.args[0]
    if not (isinstance(node, ast.Call) and _dotted(node.func) in _MKDTEMP):
        return None
    parent: ast.AST | None = node.args[2] if len(node.args) > 2 else None
    for kw in node.keywords:
        if kw.arg == "dir":
            parent = kw.value
        elif kw.arg is None:
            return None  # **kwargs may carry dir=
    if parent is None or (isinstance(parent, ast.Constant) and parent.value is None):
        return _FRESH_DIR
    base = literal(parent)
    return f"{base.rstrip('/')}/tmp-opsgate-mkdtemp" if base else None


def _fresh_temp_names(tree: ast.Module, literal: Callable[[ast.AST], str | None]) -> dict[str, str]:
    """Names bound only ever to ``tempfile.mkdtemp()``: ``d = tempfile.mkdtemp();
    shutil.rmtree(d)`` deletes that new directory.  A name bound anywhere to anything
    else (``d = os.path.expanduser("~")``), or bound in a loop or function, is not."""
    made: dict[str, str] = {}
    other: set[str] = set()
    bound: set[int] = set()  # the Name nodes those assignments bind
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            path = _made_temp(node.value, literal)
            if isinstance(target, ast.Name) and path is not None:
                bound.add(id(target))
                if made.setdefault(target.id, path) != path:
                    other.add(target.id)
                continue
        if id(node) in bound:
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            other.add(node.id)
        elif isinstance(node, ast.arg):
            other.add(node.arg)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            other.update(node.names)
    return {name: path for name, path in made.items() if name not in other}


def _env_values_taken(loop: ast.For) -> set[str]:
    """The loop's names that hold environment values: ``v`` of ``for k, v in
    os.environ.items()`` (also under ``sorted(…)``), every name of ``for v in
    os.environ.values()``; none for the names alone (``for k in os.environ``)."""
    calls = {_dotted(n.func) for n in ast.walk(loop.iter) if isinstance(n, ast.Call)}
    dotted = {_dotted(n) for n in ast.walk(loop.iter)}
    if "os.environ.values" in calls or "os.environb" in dotted:
        return {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
    # ``os.environ.items()``, or ``.items()`` of something built from it (``dict(os.environ)``)
    built = "os.environ" in dotted and any(c.endswith(".items") for c in calls)
    items = "os.environ.items" in calls or built
    if items and isinstance(loop.target, ast.Tuple) and len(loop.target.elts) == 2:
        return {n.id for n in ast.walk(loop.target.elts[1]) if isinstance(n, ast.Name)}
    return set()


def _harmless_key(key: ast.AST) -> bool:
    """One variable named in the code, and not a secret's name (``'HOME'``)."""
    from opsgate.classify._words import SECRET_VAR

    return (
        isinstance(key, ast.Constant)
        and isinstance(key.value, str)
        and SECRET_VAR.search(key.value) is None
    )


def _dumps_environment(arg: ast.AST) -> bool:
    """Whether an output's argument carries the environment's values: ``os.environ``
    whole (``str(os.environ)``, ``dict(os.environ)``, ``os.environ.items()``), not one
    key's value (``os.environ.get('HOME')``, ``os.environ['X']``: judged by its key)
    or a membership test (``'PATH' in os.environ``)."""
    parents = {
        id(child): parent for parent in ast.walk(arg) for child in ast.iter_child_nodes(parent)
    }
    for sub in ast.walk(arg):
        if _dotted(sub) != "os.environ" and _dotted(sub) != "os.environb":
            continue
        parent = parents.get(id(sub))
        if isinstance(parent, ast.Subscript) and parent.value is sub:
            if _harmless_key(parent.slice):
                continue
            return True
        if isinstance(parent, ast.Attribute) and parent.attr == "get":
            call = parents.get(id(parent))
            if isinstance(call, ast.Call) and call.args and _harmless_key(call.args[0]):
                continue
            return True
        if isinstance(parent, ast.Attribute) and parent.attr in ("keys", "__contains__"):
            continue
        if isinstance(parent, ast.Compare) and sub in parent.comparators and all(
            isinstance(op, ast.In | ast.NotIn) for op in parent.ops
        ):  # fmt: skip
            continue
        return True
    return False


def _is_output(name: str) -> bool:
    return name in _OUTPUTS or name.endswith((".write", ".writelines", ".write_text"))


def _env_dump(node: ast.AST) -> Finding:
    reason = "writes the process environment out"
    return Finding("secrets.env_dump", Impact.CAUTION, Effect.SECRET, ast.unparse(node)[:200],
                   reason)  # fmt: skip


def _home_path(path: str, ctx: Context) -> str:
    return ctx.home.rstrip("/") + path[1:] if path.startswith("~") else path


def _metadata_url(text: str) -> bool:
    m = re.match(r"^[a-z]+://(?:[^@/]*@)?(\[[^\]]+\]|[^:/?#]+)", text.strip(), re.IGNORECASE)
    if m is None:
        return False
    from opsgate.classify.families.network import is_metadata_host

    return is_metadata_host(m.group(1))


def _write_probe(ctx: Context, path: str) -> list[Finding]:
    """Code that writes ``path``: judged like a shell redirection to it."""
    from opsgate.classify.families.filesystem import _write_targets

    return _write_targets(Command("code", (), f"write {path}"), [Arg(path)], ctx, "writes")


def _prints_parent(node: ast.Call) -> bool:
    return True


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    if isinstance(node, ast.Call):
        inner = _dotted(node.func)
        if inner == "__import__" and node.args and isinstance(node.args[0], ast.Constant):
            return str(node.args[0].value)
        return f"{inner}()" if inner in ("Path.home", "pathlib.Path.home") else ""
    if isinstance(node, ast.Subscript):
        base = _dotted(node.value)
        key = node.slice.value if isinstance(node.slice, ast.Constant) else "?"
        return f"{base}[{key!r}]"
    return ""


def analyse_python(
    code: str, ctx: Context, shell: Shell, delete: Delete, depth: int = 0, file: str = ""
) -> list[Finding]:
    """Findings for Python ``code``; ``file``: the absolute path it was read from, which
    its ``__file__`` names (``Path(__file__).parent / 'build'``)."""
    if depth > 4:
        return [_unknown("python code nests exec too deeply", code)]
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [_unknown("python code that does not parse", code)]
    visitor = _Python(ctx, shell, delete, depth)
    if file:
        visitor.strings["__file__"] = file
    try:
        visitor.visit(tree)
    except RecursionError:
        return [_unknown("python code nested too deeply to read", code)]
    from opsgate.classify._guard_reach import code_findings
    from opsgate.classify._interp_cloud import sdk_findings
    from opsgate.classify._interp_datastores import datastore_findings
    from opsgate.classify._interp_sql import driver_sql_findings

    return [
        *visitor.findings,
        *code_findings("python", code),
        *sdk_findings("python", code, shell),
        *driver_sql_findings("python", code, shell),
        *datastore_findings("python", code, shell),
    ]
