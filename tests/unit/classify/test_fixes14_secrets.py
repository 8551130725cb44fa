"""Round a14's secrets, links and false-positive classes (issue 14.3, 14.5, 13.7), by
the functions that decide them, with the decision the engine makes of the result."""

from __future__ import annotations

from typing import Any

import pytest

from opsgate.classify._mcp_known import known_kind
from opsgate.classify.tools import _path_argument
from opsgate.guard import evaluate
from opsgate.models import Action, Verdict

PROJECT = "/home/dev/project"


def _decide(tool: str, data: dict[str, Any], cwd: str = PROJECT) -> Any:
    return evaluate(Action("x", tool, data, cwd=cwd, project_dir=cwd))


# --- MCP tools by name -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "tool", "kind"),
    [
        ("pw", "browser_take_screenshot", "read"),  # Playwright under any server name
        ("anything", "browser_snapshot", "read"),
        ("pw", "browser_tabs", "local"),
        ("pw", "browser_click", None),
        ("pw", "take_snapshot", None),  # Chrome DevTools' short names need a browser server
        ("chrome-devtools", "take_snapshot", "read"),
        ("x", "perplexity_ask", "read"),
        ("deepwiki", "ask_question", "read"),
        ("slack", "ask_question", None),  # a question posted to people is not a lookup
    ],
)
def test_tools_known_by_their_own_name(server: str, tool: str, kind: str | None) -> None:
    assert known_kind(server, tool) == kind


@pytest.mark.parametrize(
    ("tool", "verdict"),
    [
        ("mcp__atlassian__getJiraIssue", Verdict.ALLOW),
        ("mcp__atlassian__searchJiraIssuesUsingJql", Verdict.ALLOW),
        ("mcp__atlassian__createJiraIssue", Verdict.DENY),  # a remote write: production
        ("mcp__atlassian__frobnicateJiraIssue", Verdict.REQUIRE_APPROVAL),
    ],
)
def test_camel_case_tool_names_are_read_as_words(tool: str, verdict: Verdict) -> None:
    assert _decide(tool, {"cloudId": "acme"}).verdict is verdict


@pytest.mark.parametrize(
    ("args", "found"),
    [
        ({"relative_path": ".env"}, ("relative_path", ".env")),
        ({"filePath": "a/b.txt", "path": "x"}, ("filePath", "a/b.txt")),
        ({"path": "src"}, ("path", "src")),
        ({"query": "x"}, ("", None)),
    ],
)
def test_path_arguments_by_name(args: dict[str, Any], found: tuple[str, str | None]) -> None:
    assert _path_argument(args) == found


def test_serena_read_of_env_is_a_secret_read() -> None:
    decision = _decide("mcp__serena__read_file", {"relative_path": ".env"})
    assert decision.decided_by == "safeguard.secrets"
    assert _decide("mcp__serena__read_file", {"relative_path": "src/app.ts"}).verdict is (
        Verdict.ALLOW
    )
