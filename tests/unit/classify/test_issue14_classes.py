"""The smaller classes and false positives of issue 14 (deliverables 4 and 5), by the
functions that decide them, with the decision the engine makes of the result."""

from __future__ import annotations

import ast
from typing import Any

import pytest

from helpers import make_command
from opsgate.classify._interp_effects import unmodelled_effects
from opsgate.classify._interp_python import _fresh_temp_names
from opsgate.classify._mcp_known import known_kind
from opsgate.classify.families._system_kills import mass_kill_reason
from opsgate.classify.powershell._parse import _recover, parse
from opsgate.guard import evaluate
from opsgate.models import Action, Verdict

PROJECT = "/home/dev/project"


def _decide(tool: str, data: dict[str, Any]) -> Any:
    return evaluate(Action("x", tool, data, cwd=PROJECT, project_dir=PROJECT))


# --- mass kills ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "mass"),
    [
        ("pkill -9 -u dev", True),
        ("killall -u dev", True),
        ("pkill -f .", True),
        ("pkill -f '.*'", True),
        ("killall -r '.*'", True),
        ("pkill -f '('", True),  # a pattern Python cannot read counts as everything
        ("pkill -f 'node server.js'", False),
        ("pkill -u dev node", False),
        ("killall node", False),
        ("kill 1234", False),
    ],
)
def test_mass_kill_reason(line: str, mass: bool) -> None:
    cmd = make_command(line)
    assert (mass_kill_reason(cmd, [a.value for a in cmd.args]) is not None) is mass


def test_kill_fed_by_ps_is_a_mass_kill_and_by_pgrep_is_not() -> None:
    assert _decide("Bash", {"command": "ps -ef | awk '{print $2}' | xargs kill"}).verdict is (
        Verdict.REQUIRE_APPROVAL
    )
    assert _decide("Bash", {"command": "pgrep -f vite | xargs kill"}).verdict is Verdict.ALLOW


# --- the branch a command switches to ----------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "verdict"),
    [
        ("git checkout main && git push", Verdict.DENY),  # a push to main: Production Protection
        ("git switch - && git push", Verdict.DENY),  # an unknown branch
        ("git checkout -b fix/x && git push -u origin fix/x", Verdict.ALLOW),
        ("git switch -c fix/y && git push -u origin HEAD", Verdict.ALLOW),
        ("git checkout main && git pull", Verdict.ALLOW),
    ],
)
def test_branch_switched_in_the_command(command: str, verdict: Verdict) -> None:
    assert _decide("Bash", {"command": command}).verdict is verdict, command


def test_checkout_of_paths_is_not_a_switch() -> None:
    decision = _decide("Bash", {"command": "git checkout main -- README.md && git push"})
    categories = decision.classification.categories
    assert "vcs.discard" in categories and "vcs.push_protected" not in categories


# --- interpreters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "code", "unknown"),
    [
        ("perl", 'unlink glob "*"', True),
        ("perl", "print if /copy|unlink/", False),  # words in a regex are data
        ("perl", 'print "system ready\\n"', False),  # and in a string
        ("ruby", "Kernel.send(:system, 'x')", True),
        ("ruby", "puts Order.where(status: :open).count", False),
        ("ruby", "File.write('x', 'y')", True),
        ("node", "require('fs').appendFileSync('x', 'y')", True),
        ("node", "console.log(require('./package.json').version)", False),
        ("node", "process.stdout.write('hi')", False),
        ("node", "globalThis['req' + 'uire']('child_process')", True),
        ("node", "require(name)", True),
        ("node", "require('child_process').execSync('npm test')", False),  # one modelled call
        ("node", "require('fs').rmSync('dist', {recursive: true})", False),
        ("php", "echo PHP_VERSION;", False),
        ("php", '$f = "sys" . "tem"; $f("id");', True),
        ("lua", "print(_VERSION)", False),
        ("lua", "os.remove(os.getenv('HOME'))", True),
    ],
)
def test_unmodelled_effects(lang: str, code: str, unknown: bool) -> None:
    assert bool(unmodelled_effects(lang, code)) is unknown, code


def test_mkdtemp_names() -> None:
    literal = lambda node: None  # noqa: E731  # no string constants in these snippets
    fresh = _fresh_temp_names(ast.parse("import tempfile\nd = tempfile.mkdtemp()"), literal)
    assert set(fresh) == {"d"}
    moved = ast.parse("import tempfile, os\nd = tempfile.mkdtemp()\nd = os.getcwd()")
    assert _fresh_temp_names(moved, literal) == {}
    looped = ast.parse("import tempfile\nd = tempfile.mkdtemp()\nfor d in x: pass")
    assert _fresh_temp_names(looped, literal) == {}
    param = ast.parse("import tempfile\nd = tempfile.mkdtemp()\ndef f(d): pass")
    assert _fresh_temp_names(param, literal) == {}


# --- MCP ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "tool", "kind"),
    [
        ("ide", "getdiagnostics", "read"),
        ("ide", "executecode", "python"),
        ("sequential-thinking", "sequentialthinking", "read"),
        ("playwright", "browser_snapshot", "read"),
        ("plugin_playwright_playwright", "browser_take_screenshot", "read"),
        ("playwright", "browser_tabs", "local"),
        ("playwright", "browser_click", None),
        ("memory", "read_graph", "read"),
        ("memory", "create_entities", "local"),
        ("everything", "printenv", "env"),
        ("acme", "getdiagnostics", None),  # a known tool name on an unknown server
    ],
)
def test_known_mcp_tools(server: str, tool: str, kind: str | None) -> None:
    assert known_kind(server, tool) == kind


def test_unknown_mcp_tool_needs_a_person_not_a_flat_deny() -> None:
    decision = _decide("mcp__acme__frobnicate", {"id": 3})
    assert decision.verdict is Verdict.REQUIRE_APPROVAL
    assert decision.decided_by == "default.write" and not decision.card


def test_known_mcp_read_still_checks_paths() -> None:
    decision = _decide("mcp__ide__getDiagnostics", {"uri": "file:///home/dev/.aws/credentials"})
    assert decision.decided_by == "safeguard.secrets"


def test_ide_execute_code_is_judged_as_python() -> None:
    code = "import shutil, os; shutil.rmtree(os.path.expanduser('~'))"
    assert _decide("mcp__ide__executeCode", {"code": code}).verdict is not Verdict.ALLOW
    assert _decide("mcp__ide__executeCode", {"code": "print(1 + 1)"}).verdict is Verdict.ALLOW


# --- PowerShell --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "recovered"),
    [
        ("kubectl logs --tail=100 web", "kubectl logs '--tail=100' web"),
        ("docker ps --format='{{.Names}}'", "docker ps '--format={{.Names}}'"),
        ('docker ps --format="{{.ID}}" | sort', 'docker ps "--format={{.ID}}" | sort'),
    ],
)
def test_powershell_flag_value_recovery(script: str, recovered: str) -> None:
    assert _recover(script) == recovered
    tree, used = parse(script)
    assert not tree.root_node.has_error and used == recovered
