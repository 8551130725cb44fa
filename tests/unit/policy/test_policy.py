"""The policy file, the decision pipeline's order, and the immutable safeguards."""

from __future__ import annotations

import pytest

from opsgate.errors import PolicyError
from opsgate.guard import evaluate
from opsgate.models import Action, Verdict
from opsgate.policy.loader import parse_policy

PROJECT = "/home/dev/project"


def decide(command: str, policy_text: str | None = None, tool: str = "Bash") -> object:
    policy = parse_policy(policy_text) if policy_text else None
    data = {"command": command} if tool == "Bash" else {"file_path": command}
    action = Action("", tool, data, cwd=PROJECT, project_dir=PROJECT)
    return evaluate(action, policy) if policy else evaluate(action)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        pytest.param("version: 2\n", 1, "version", id="wrong-version"),
        pytest.param(
            "version: 1\nrules:\n  - {effect: allow, actoin: x}\n",
            3,
            "actoin",
            id="unknown-rule-field",
        ),
        pytest.param(
            "version: 1\nrules:\n  - id: a\n    effect: maybe\n",
            4,
            "maybe",
            id="bad-effect-names-its-line",
        ),
        pytest.param(
            "version: 1\nsettings:\n  approval_ttl: soon\n", 3, "approval_ttl", id="bad-duration"
        ),
        pytest.param(
            "version: 1\nsettings:\n  approval_ttl: 29s\n", 3, "30s to 7d", id="ttl-too-short"
        ),
        pytest.param(
            "version: 1\nsettings: {approval_ttl: 8d}\n", 2, "30s to 7d", id="ttl-too-long"
        ),
        pytest.param("version: 1\nrules: [\n", 3, "invalid YAML", id="yaml-syntax"),
        pytest.param("", None, "empty", id="empty-file-is-an-error"),
    ],
)
def test_errors_name_file_and_line(text: str, line: int | None, fragment: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(text, "p.yaml")
    message = err.value.message
    assert fragment in message
    if line is not None:
        assert message.startswith(f"p.yaml:{line}:")


def test_deny_rule_matches_git_push_branch() -> None:
    text = ("version: 1\nrules:\n  - {id: no-push-release, action: git.push, resource: 'v*',"
            " effect: deny, reason: 'no version branches'}\n")  # fmt: skip
    assert decide("git push origin v2-beta", text).verdict is Verdict.DENY  # type: ignore[attr-defined]
    assert decide("git push origin feature/x", text).verdict is Verdict.ALLOW  # type: ignore[attr-defined]


def test_allow_rule_never_removes_the_human_from_a_write() -> None:
    text = "version: 1\nrules:\n  - {id: yolo, action: '*', effect: allow}\n"
    d = decide("kubectl --context staging delete pod api-1", text)
    assert d.verdict is Verdict.REQUIRE_APPROVAL  # type: ignore[attr-defined]
    assert d.decided_by == "safeguard.no_auto_approve"  # type: ignore[attr-defined]


def test_allow_rule_cannot_lift_the_secrets_safeguard() -> None:
    text = "version: 1\nrules:\n  - {id: yolo, action: '*', effect: allow}\n"
    d = decide("cat ~/.aws/credentials", text)
    assert d.verdict is Verdict.DENY  # type: ignore[attr-defined]
    assert d.decided_by == "safeguard.secrets"  # type: ignore[attr-defined]


def test_production_protection_denies_without_a_card_and_says_so() -> None:
    d = decide("kubectl --context prod-eu scale deploy/api --replicas=0")
    assert d.verdict is Verdict.DENY  # type: ignore[attr-defined]
    assert "Production Protection is active" in d.reasons[0]  # type: ignore[attr-defined]
    assert d.card is False  # type: ignore[attr-defined]


def test_production_protection_off_gives_a_card_with_confirmation() -> None:
    text = "version: 1\nsettings: {production_protection: false}\n"
    d = decide("kubectl --context prod-eu delete ns payments", text)
    assert d.verdict is Verdict.REQUIRE_APPROVAL  # type: ignore[attr-defined]
    assert d.card is True  # type: ignore[attr-defined]
    assert d.confirm  # type: ignore[attr-defined]
    assert "member" not in d.approvers  # type: ignore[attr-defined]


def test_write_actions_off_denies_writes_but_not_reads() -> None:
    text = "version: 1\nsettings: {write_actions: false, production_protection: false}\n"
    assert decide("kubectl --context staging delete pod x", text).verdict is Verdict.DENY  # type: ignore[attr-defined]
    assert decide("kubectl --context staging get pods", text).verdict is Verdict.ALLOW  # type: ignore[attr-defined]


def test_inventory_sets_environment_and_access() -> None:
    text = (
        "version: 1\nsettings: {production_protection: false}\ninventory:\n  servers:\n"
        "    - {name: db-box, environment: staging, access: read_only, match: ['db.internal']}\n"
        "    - {name: vault, environment: production, access: no_access, match: ['vault.*']}\n"
    )
    d = decide("ssh db.internal 'systemctl restart postgresql'", text)
    assert d.verdict is Verdict.DENY and "read-only" in d.reasons[0]  # type: ignore[attr-defined]
    assert decide("ssh db.internal 'df -h'", text).verdict is Verdict.ALLOW  # type: ignore[attr-defined]
    assert decide("ssh vault.acme.io 'ls'", text).verdict is Verdict.DENY  # type: ignore[attr-defined]


def test_every_decision_explains_environment_source() -> None:
    d = decide("kubectl --context prod-eu get pods")
    assert d.env_source  # type: ignore[attr-defined]
    d2 = decide("kubectl delete pod api-1")
    assert "unknown remote target" in d2.env_source  # type: ignore[attr-defined]
    assert d2.environment.label == "production"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("ttl", "seconds"), [("30s", 30), ("15m", 900), ("7d", 604800)])
def test_approval_ttl_within_the_bounds_of_the_console_and_the_api(ttl: str, seconds: int) -> None:
    from opsgate.policy.model import MAX_TTL_SECONDS, MIN_TTL_SECONDS

    policy = parse_policy(f"version: 1\nsettings: {{approval_ttl: {ttl}}}\n")
    assert policy.settings.approval_ttl_seconds == seconds
    assert MIN_TTL_SECONDS <= seconds <= MAX_TTL_SECONDS
