"""Round a14's secrets, links and false-positive classes (issue 14.3, 14.5, 13.7), by
the functions that decide them, with the decision the engine makes of the result."""

from __future__ import annotations

from typing import Any

import pytest

from opsgate.classify._mcp_known import known_kind
from opsgate.classify.tools import _path_argument
from opsgate.guard import evaluate
from opsgate.models import Action, Environment, Impact, Verdict

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


# --- PowerShell ------------------------------------------------------------------------------

PS_CWD = "C:\\Users\\dev\\source\\project"


def _ps(command: str) -> Any:
    return _decide("PowerShell", {"command": command}, PS_CWD)


@pytest.mark.parametrize(
    ("script", "names"),
    [
        ("$a = 1; $b = 2", {"a", "b"}),
        ("$a = 1; $a = 2", set()),  # assigned twice
        ("$a += 'x'", set()),  # not a plain assignment
        ("foreach ($a in 1..2) { $b = $a }", set()),  # a loop variable, a loop body
        ("function f { $a = 1 }", set()),
        ("$a = 1; Get-Item x -OutVariable a", set()),  # any other setter: nothing binds
        ("$script:a = 1", {"a"}),
    ],
)
def test_powershell_variables_bound_once(script: str, names: set[str]) -> None:
    from opsgate.classify.powershell._bindings import bindable
    from opsgate.classify.powershell._parse import parse

    assert bindable(parse(script)[0].root_node) == names


def test_powershell_native_flag_values_with_commas_parse() -> None:
    from opsgate.classify.powershell._parse import _recover

    assert _recover("ruff check --select=E,F .") == "ruff check '--select=E,F' ."
    assert _ps("kubectl get pods -l=app=api,tier=web -n staging").verdict is Verdict.ALLOW


@pytest.mark.parametrize(
    ("command", "verdict"),
    [
        ("$d = [IO.Directory]::CreateTempSubdirectory(); Remove-Item $d.FullName -Recurse",
         Verdict.ALLOW),
        ("$t = Join-Path ([IO.Path]::GetTempPath()) x; Remove-Item -Recurse $t", Verdict.ALLOW),
        ("$t = Join-Path $env:TEMP '..\\..\\..'; Remove-Item -Recurse -Force $t", None),
        ("$env:TEMP = $HOME; Remove-Item -Recurse -Force $env:TEMP", None),
    ],
)  # fmt: skip
def test_powershell_temp_directories(command: str, verdict: Verdict | None) -> None:
    """None: a destructive deletion (of the profile), which needs a person."""
    decision = _ps(command)
    if verdict is None:
        assert decision.impact is Impact.DESTRUCTIVE and decision.verdict is not Verdict.ALLOW
    else:
        assert decision.verdict is verdict


def test_powershell_local_paths_are_not_remote_targets() -> None:
    decision = _ps("Remove-Item -Recurse -Force $unknown")
    assert decision.environment is Environment.LOCAL
    assert decision.verdict is Verdict.REQUIRE_APPROVAL


@pytest.mark.parametrize(
    ("command", "secret"),
    [
        ("Copy-Item $env:USERPROFILE\\.aws\\credentials .\\notes.txt", True),
        ("robocopy $HOME\\.aws C:\\temp\\aws", True),
        ("Copy-Item .env .env.bak", False),
        ("Copy-Item ~\\.ssh\\id_ed25519.pub .\\deploy\\key.pub", False),
    ],
)
def test_powershell_copies_of_secrets(command: str, secret: bool) -> None:
    assert (_ps(command).decided_by == "safeguard.secrets") is secret


# --- credentials files by name -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "secret"),
    [
        ("acme-prod-firebase-adminsdk-x1y2z-0123456789.json", True),
        ("functions/serviceAccountKey.json", True),
        ("my-project-381512-4f2a9c1b7e3d.json", True),  # a GCP key's download name
        ("deploy-bot_accessKeys.csv", True),
        ("AuthKey_AB12CD34EF.p8", True),
        ("/etc/wireguard/wg0.conf", True),
        ("config/secrets.example.yml", False),
        ("credentials.sample.json", False),
        ("secrets.template.yaml", False),
        ("secrets.yml.dist", False),
        ("dist/manifest.3f2a1b9c.json", False),
        ("android/app/google-services.json", False),
    ],
)
def test_credentials_file_names(path: str, secret: bool) -> None:
    from opsgate.classify.paths import is_secret_path

    assert is_secret_path(path) is secret
