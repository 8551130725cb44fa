"""``ansible-playbook --check`` still runs the tasks that say ``check_mode: false``.

Check mode only reports what tasks would change — except a task (or the block, role
or play around it) with ``check_mode: false`` (``no``, or a template that may be
false), which Ansible runs for real.  The playbooks are read, with the task files they
import or include and the roles' ``tasks/main.yml`` (bounded); a playbook that has
such a task is judged as run without ``--check``.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from opsgate.classify._command import Command, Context
from opsgate.classify._run_files import Loaded, load
from opsgate.classify._run_hooks import walker

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["runs_for_real"]

_MAX_FILES = 16
_TASK_LISTS = ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always")
_INCLUDES = ("import_tasks", "include_tasks", "ansible.builtin.import_tasks",
             "ansible.builtin.include_tasks", "import_playbook",
             "ansible.builtin.import_playbook")  # fmt: skip
_ROLES = ("include_role", "import_role", "ansible.builtin.include_role",
          "ansible.builtin.import_role")  # fmt: skip
_FALSE = frozenset({"false", "no", "off", "n", "0"})


def runs_for_real(cmd: Command, ctx: Context, playbooks: list[str]) -> str | None:
    """Where a task of ``playbooks`` runs despite ``--check`` (a file, as shown), or
    None; a playbook that cannot be read answers its name too (fail closed)."""
    w = walker(ctx)
    if w is None:
        return None
    reader = _Reader(w)
    for playbook in playbooks:
        found = reader.file(load(w, playbook, cmd.cwd or w.scope.cwd), playbook=True)
        if found is not None:
            return found
    return None


class _Reader:
    def __init__(self, w: Walker):
        self.w = w
        self.seen: set[str] = set()

    def file(self, loaded: Loaded, *, playbook: bool) -> str | None:
        from opsgate.classify._run_tasks import yaml_of

        if loaded.state == "missing" or loaded.path in self.seen:
            return None
        if len(self.seen) >= _MAX_FILES or loaded.text is None:
            return loaded.shown
        self.seen.add(loaded.path)
        data = yaml_of(self.w, loaded)
        if not isinstance(data, list):
            return loaded.shown if data is not None else None
        here = posixpath.dirname(loaded.path)
        for item in data:
            found = self._play(item, loaded, here) if playbook else self._task(item, loaded, here)
            if found is not None:
                return found
        return None

    def _play(self, play: object, loaded: Loaded, here: str) -> str | None:
        if not isinstance(play, dict):
            return None
        if _real(play):
            return loaded.shown
        for key in _INCLUDES:
            if isinstance(play.get(key), str):
                found = self.file(load(self.w, str(play[key]), here), playbook=True)
                if found is not None:
                    return found
        roles = play.get("roles")
        for role in roles if isinstance(roles, list) else []:
            name = role.get("role", role.get("name")) if isinstance(role, dict) else role
            if isinstance(role, dict) and _real(role):
                return loaded.shown
            found = self._role(name, here)
            if found is not None:
                return found
        return self._tasks(play, loaded, here)

    def _tasks(self, node: dict[object, object], loaded: Loaded, here: str) -> str | None:
        for key in _TASK_LISTS:
            tasks = node.get(key)
            for task in tasks if isinstance(tasks, list) else []:
                found = self._task(task, loaded, here)
                if found is not None:
                    return found
        return None

    def _task(self, task: object, loaded: Loaded, here: str) -> str | None:
        if not isinstance(task, dict):
            return None
        if _real(task):
            return loaded.shown
        for key in _INCLUDES:
            if isinstance(task.get(key), str):
                found = self.file(load(self.w, str(task[key]), here), playbook=False)
                if found is not None:
                    return found
        for key in _ROLES:
            spec = task.get(key)
            if isinstance(spec, dict):
                found = self._role(spec.get("name"), here)
                if found is not None:
                    return found
        return self._tasks(task, loaded, here)

    def _role(self, name: object, here: str) -> str | None:
        if not isinstance(name, str) or "{{" in name:
            return None
        for directory in (posixpath.join(here, "roles", name), posixpath.join(here, name)):
            for tasks in ("tasks/main.yml", "tasks/main.yaml"):
                loaded = load(self.w, posixpath.join(directory, tasks), None)
                if loaded.state != "missing":
                    return self.file(loaded, playbook=False)
        return None


def _real(node: dict[object, object]) -> bool:
    """``check_mode: false`` (or ``no``, or a template that may be either)."""
    if "check_mode" not in node:
        return False
    value = node["check_mode"]
    if isinstance(value, bool):
        return not value
    return str(value).strip().lower() in _FALSE or "{{" in str(value)
