"""What a migration tool's own project files say about the database it changes, and
the project code a framework's command runs.

* ``manage.py NAME``: Django runs the management command of that name from an app
  of the project (``*/management/commands/NAME.py``), judged as Python.
* Where the project's configuration names only a SQLite file of the project, the
  migration changes a local file, not an unknown (remote, production) database:
  Django's ``DATABASES`` in the settings module (every ``ENGINE`` sqlite3, written
  once, as literals), Alembic's ``sqlalchemy.url`` (``sqlite:///relative``) when its
  ``env.py`` does not replace it.  Anything less plain keeps the unknown target.
* ``rake db:migrate`` with a Rakefile that defines that task itself and loads no
  framework's tasks (Rails, ActiveRecord, standalone migrations) runs only that
  task's body, which is judged as Ruby; the Rails table does not apply.
"""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from opsgate.classify._command import Command, Context
from opsgate.classify._run_files import judge, load, nearest
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Effect, Environment, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = [
    "alembic_env",
    "alembic_local",
    "django_command_file",
    "django_local",
    "place_local",
    "rakefile_owns",
]

Where = tuple[str, Environment | None, str | None]


def _walker(ctx: Context) -> Walker | None:
    from opsgate.classify.shell import Walker

    return ctx if isinstance(ctx, Walker) and ctx.remote is None else None


def _manage(w: Walker, cmd: Command) -> str | None:
    """The directory of the ``manage.py`` this command runs."""
    start = cmd.cwd or w.scope.cwd or w.workspace.project or "/"
    loaded = nearest(w, start, ("manage.py",))
    return posixpath.dirname(loaded.path) if loaded is not None else None


def place_local(found: list[Finding], where: Where) -> list[Finding]:
    """Findings with no environment, placed on the project's SQLite file.  Applying the
    project's migrations to it is local work, like building; resetting, dropping or
    reverting it still loses data and stays a write."""
    out = []
    for f in found:
        if f.environment is None or f.target == where[0]:  # none, or named by that URL
            f = replace(f, target=where[0], environment=where[1], env_source=where[2])
            if f.category == "database.migrate" and f.effect is Effect.WRITE:
                f = replace(f, effect=Effect.LOCAL, impact=Impact.SAFE)
        out.append(f)
    return out


# --- Django ---------------------------------------------------------------------------


def django_command_file(cmd: Command, ctx: Context, sub: str) -> list[Finding]:
    """The project's management command ``sub``, judged as Python."""
    w = _walker(ctx)
    if w is None or not re.fullmatch(r"[A-Za-z_]\w*", sub):
        return []
    root = _manage(w, cmd)
    if root is None:
        return []
    from opsgate.classify._run_listing import collected

    listed = collected(w, root, (f"{sub}.py",), recursive=True)
    if listed is None:
        why = f"manage.py {sub} may run a command of the project that opsgate cannot find"
        return [unknown(why, cmd.text)]
    found: list[Finding] = []
    for path in [p for p in listed if p.endswith(f"/management/commands/{sub}.py")][:4]:
        loaded = load(w, path, None)
        found += judge(w, loaded, "python", where=f"manage.py {sub} runs {loaded.shown}",
                       cwd=root)  # fmt: skip
    return found


_SETTINGS_DEFAULT = re.compile(r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([\w.]+)['"]""")


def django_local(cmd: Command, ctx: Context) -> tuple[Where, list[Finding]] | None:
    """The SQLite file the settings name, when that is the only database, and the
    findings of the settings module itself (Django imports it first); else None."""
    w = _walker(ctx)
    root = _manage(w, cmd) if w is not None else None
    if w is None or root is None:
        return None
    module = cmd.option("--settings") or cmd.env.get("DJANGO_SETTINGS_MODULE")
    if module is None:
        match = _SETTINGS_DEFAULT.search(load(w, "manage.py", root).text or "")
        module = match.group(1) if match else None
    if module is None or not re.fullmatch(r"[\w.]+", module):
        return None
    settings = load(w, module.replace(".", "/") + ".py", root)
    names = _sqlite_names(settings.text or "")
    if not names:
        return None
    where = (names[0], Environment.LOCAL, f"{settings.shown}: DATABASES is SQLite only")
    found = judge(w, settings, "python", where=f"Django imports {settings.shown}", cwd=root)
    return where, found


# Spellings of a database file outside the project, or named only at run time.
_ELSEWHERE = ("'/", '"/', "~", "..", "environ", "getenv", "home", "expanduser", "config(")


def _sqlite_names(text: str) -> list[str]:
    """The ``NAME`` of each database when ``DATABASES`` is one literal dict of SQLite
    databases, assigned once, in a module that star-imports nothing; else []."""
    if text.count("DATABASES") != 1 or "import *" in text or "DATABASE_URL" in text:
        return []
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return []
    assign = next((n for n in tree.body if isinstance(n, ast.Assign)
                   and any(isinstance(t, ast.Name) and t.id == "DATABASES" for t in n.targets)),
                  None)  # fmt: skip
    if assign is None or not isinstance(assign.value, ast.Dict) or not assign.value.values:
        return []
    names = []
    for db in assign.value.values:
        config = _literal_keys(db)
        engine = config.get("ENGINE")
        if not (isinstance(engine, ast.Constant) and engine.value == "django.db.backends.sqlite3"):
            return []
        name = config.get("NAME")
        shown = ast.unparse(name) if name is not None else "db.sqlite3"
        if any(s in shown for s in _ELSEWHERE):
            return []  # a file elsewhere, or chosen at run time
        names.append(shown[:80])
    return names


def _literal_keys(node: ast.expr) -> dict[str, ast.expr]:
    if not isinstance(node, ast.Dict):
        return {}
    return {k.value: v for k, v in zip(node.keys, node.values, strict=True)
            if isinstance(k, ast.Constant) and isinstance(k.value, str)}  # fmt: skip


# --- Alembic --------------------------------------------------------------------------

_URL = re.compile(r"(?m)^[ \t]*sqlalchemy\.url[ \t]*=[ \t]*(\S+)[ \t]*$")
_LOCATION = re.compile(r"(?m)^[ \t]*script_location[ \t]*=[ \t]*(\S+)[ \t]*$")
# What lets env.py connect elsewhere than the ini's URL.
_ENV_OVERRIDES = ("set_main_option", "environ", "getenv", "create_engine", "url=", "url =",
                  "-x", "get_x_argument", "dotenv")  # fmt: skip


# env.py's one override: the URL from one environment variable, which the command sets.
_URL_FROM_ENV = re.compile(
    r"""config\s*\.\s*set_main_option\(\s*(['"])sqlalchemy\.url\1\s*,\s*"""
    r"""os\s*\.\s*(?:environ\s*\[\s*['"](\w+)['"]\s*\]|"""
    r"""(?:environ\s*\.\s*get|getenv)\s*\(\s*['"](\w+)['"]\s*\))\s*\)"""
)


def alembic_local(cmd: Command, ctx: Context) -> Where | None:
    w = _walker(ctx)
    if (
        w is None
        or cmd.has("-n", "--name", "-x")
        or any(a.startswith(("--name=", "-x")) for a in cmd.words)
    ):
        return None
    start = cmd.cwd or w.scope.cwd or w.workspace.project or "/"
    ini = load(w, cmd.option("-c", "--config") or "alembic.ini", start)
    url = _URL.search(ini.text or "")
    location = _LOCATION.search(ini.text or "")
    if url is None or location is None:
        return None
    root = posixpath.dirname(ini.path)
    env = load(w, posixpath.join(location.group(1), "env.py"), root)
    if env.text is None:
        return None
    target, source = url.group(1), f"{ini.shown}: sqlalchemy.url"
    variable = _URL_FROM_ENV.search(env.text)
    if variable is not None:  # ``set_main_option("sqlalchemy.url", os.environ["DATABASE_URL"])``
        text = env.text[: variable.start()] + env.text[variable.end() :]
        name = variable.group(2) or variable.group(3)
        target, source = cmd.env.get(name, ""), f"{name} (which {env.shown} connects to)"
    else:
        text = env.text
    if any(s in text for s in _ENV_OVERRIDES) or "%" in target:
        return None
    if not re.fullmatch(r"sqlite:///(?!/)[\w./-]+", target) or ".." in target:
        return None  # ``sqlite:////abs/path`` is a file elsewhere
    return target, Environment.LOCAL, f"{source} is a SQLite file here"


_ALEMBIC_QUIET = frozenset({"init", "list_templates", "--help", "-h", "--version"})


def alembic_env(cmd: Command, ctx: Context) -> list[Finding]:
    """Alembic runs the environment script ``SCRIPT_LOCATION/env.py`` (Python) for
    every command that touches the database or its history."""
    w = _walker(ctx)
    if w is None or _ALEMBIC_QUIET & set(cmd.words[:1] + tuple(cmd.words)):
        return []
    start = cmd.cwd or w.scope.cwd or w.workspace.project or "/"
    ini = load(w, cmd.option("-c", "--config") or "alembic.ini", start)
    location = _LOCATION.search(ini.text or "")
    if location is None or "%" in location.group(1) or ":" in location.group(1):
        return []  # a package resource (``pkg:migrations``) is installed code
    root = posixpath.dirname(ini.path)
    env = load(w, posixpath.join(location.group(1), "env.py"), root)
    if env.state == "missing":
        return []
    return judge(w, env, "python", where=f"alembic runs {env.shown}", cwd=root)


# --- rake -----------------------------------------------------------------------------

_FRAMEWORK_TASKS = re.compile(
    r"load_tasks|Rails|ActiveRecord|active_record|standalone_migrations|Tasks|"
    r"\b(?:import|load)\b|require\s*\(?\s*['\"][^'\"]*(?:rake|tasks|migrat|rails)[^'\"]*['\"]"
)


def rakefile_owns(cmd: Command, ctx: Context) -> bool:
    """The Rakefile defines every task named, and loads no framework's tasks."""
    from opsgate.classify._run_tasks import _RAKEFILES, _rake_tasks

    w = _walker(ctx)
    if w is None or cmd.option("-f", "--rakefile", "-C", "--directory", "-r", "-I"):
        return False
    start = cmd.cwd or w.scope.cwd or w.workspace.project or "/"
    if load(w, "config/application.rb", start).state != "missing":
        return False  # a Rails application: its db tasks run as well
    loaded = next((x for x in (load(w, n, start) for n in _RAKEFILES) if x.state != "missing"),
                  None)  # fmt: skip
    if loaded is None or loaded.text is None or _FRAMEWORK_TASKS.search(loaded.text):
        return False
    goals = [a.value for a in cmd.positionals() if "=" not in a.value]
    tasks = _rake_tasks(loaded.text)
    return bool(goals) and all(g in tasks for g in goals)
