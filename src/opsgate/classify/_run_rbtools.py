"""Ruby files that bundler and RSpec load before any test or gem runs: judged as Ruby.

* ``bundle install|exec|update|…``: bundler evaluates the ``Gemfile`` (or
  ``gems.rb``; ``--gemfile``, ``BUNDLE_GEMFILE``), found upwards from the working
  directory, as Ruby: a ``system(…)`` in it runs on every ``bundle`` command.
* ``rspec``: the options files ``.rspec`` and ``.rspec-local`` (and ``-r`` on the
  command line) name files RSpec requires first: ``--require spec_helper`` loads
  ``spec/spec_helper.rb`` (``spec`` and ``lib`` are on its load path), a path
  loads that file.
"""

from __future__ import annotations

import posixpath
import shlex
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify._run_files import judge, load, nearest
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["RB_TOOLS"]

# ``bundle`` subcommands that do not evaluate the Gemfile.
_BUNDLE_QUIET = frozenset({"help", "version", "--version", "-v", "-h", "--help", "init",
                           "config", "gem", "platform", "env"})  # fmt: skip
_RSPEC_QUIET = frozenset({"-h", "--help", "-v", "--version", "--init"})
_MAX_REQUIRES = 16


def _cwd(w: Walker, cmd: Command) -> str:
    return cmd.cwd or w.scope.cwd or w.workspace.project or "/"


def _bundle(cmd: Command, w: Walker) -> list[Finding]:
    if cmd.words[:1] and cmd.words[0] in _BUNDLE_QUIET:
        return []
    given = cmd.option("--gemfile") or cmd.env.get("BUNDLE_GEMFILE")
    start = _cwd(w, cmd)
    loaded = load(w, given, start) if given else nearest(w, start, ("Gemfile", "gems.rb"))
    if loaded is None or loaded.state == "missing":
        return []
    where = f"bundler evaluates {loaded.shown}"
    return judge(w, loaded, "ruby", where=where, cwd=posixpath.dirname(loaded.path))


def _rspec(cmd: Command, w: Walker) -> list[Finding]:
    if _RSPEC_QUIET & set(cmd.words):
        return []
    start = _cwd(w, cmd)
    requires: list[str] = []
    for name in (".rspec", ".rspec-local"):
        options = load(w, name, start)
        if options.text is not None:
            requires += _requires(_split(options.text))
        elif options.state != "missing":
            return judge(w, options, None, where="rspec", cwd=start)
    requires += _requires(list(cmd.words))
    found: list[Finding] = []
    for spec in list(dict.fromkeys(requires))[:_MAX_REQUIRES]:
        for path in _candidates(spec):
            loaded = load(w, path, start)
            if loaded.state != "missing":
                found += judge(w, loaded, "ruby", where=f"rspec requires {loaded.shown}",
                               cwd=start)  # fmt: skip
                break
    return found


def _split(text: str) -> list[str]:
    words: list[str] = []
    for line in text.splitlines():
        if line.strip().startswith("#"):
            continue
        try:
            words += shlex.split(line)
        except ValueError:
            words += line.split()
    return words


def _requires(words: list[str]) -> list[str]:
    out = []
    for i, word in enumerate(words):
        if word in ("-r", "--require") and i + 1 < len(words):
            out.append(words[i + 1])
        elif word.startswith("--require="):
            out.append(word.split("=", 1)[1])
        elif word.startswith("-r") and len(word) > 2 and not word.startswith("--"):
            out.append(word[2:])
    return out


def _candidates(spec: str) -> tuple[str, ...]:
    """Where ``require SPEC`` finds the file: a path as written, else RSpec's load
    path (``spec``, ``lib``); a gem's name is found nowhere here and is the gem."""
    name = spec if spec.endswith(".rb") else spec + ".rb"
    if spec.startswith(("/", "./", "../")):
        return (name,)
    return (posixpath.join("spec", name), posixpath.join("lib", name))


RB_TOOLS = {"bundle": _bundle, "bundler": _bundle, "rspec": _rspec}
