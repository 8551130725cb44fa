"""The agent's environment variables that choose a target (``_files.AMBIENT``)."""

from __future__ import annotations

from opsgate.classify._files import AMBIENT, GivenFiles, LocalFiles, NoFiles
from opsgate.guard import evaluate
from opsgate.hooks._context import CONTEXT_ENV
from opsgate.models import Action, Verdict

PROJECT = "/home/dev/project"


def _decide(command: str, environ: dict[str, str]) -> Verdict:
    action = Action("", "Bash", {"command": command}, cwd=PROJECT, project_dir=PROJECT)
    return evaluate(action, environ=environ).verdict


def test_every_ambient_variable_reaches_the_resident_service() -> None:
    # The service decides in the request's environment: a variable it is not sent
    # would be read from its own, stale environment.
    assert set(AMBIENT) <= set(CONTEXT_ENV)


def test_only_the_listed_variables_are_taken_and_only_from_the_local_source() -> None:
    environ = {"DOCKER_HOST": "ssh://ops@docker-prod-2", "DATABASE_URL": "postgres://u:pw@h/db"}
    assert LocalFiles(environ=environ).ambient() == {"DOCKER_HOST": "ssh://ops@docker-prod-2"}
    assert NoFiles().ambient() == {}
    assert GivenFiles().ambient() == {}


def test_a_daemon_in_the_environment_decides_where_docker_acts() -> None:
    prod = {"DOCKER_HOST": "ssh://ops@docker-prod-2.example.com"}
    assert _decide("docker restart api", prod) is Verdict.DENY
    assert _decide("docker ps", prod) is Verdict.ALLOW
    assert _decide("docker restart api", {}) is not Verdict.DENY


def test_a_profile_in_the_environment_decides_the_account() -> None:
    stop = "aws ec2 stop-instances --instance-ids i-0abc1234def567890"
    assert _decide(stop, {"AWS_PROFILE": "prod-admin"}) is Verdict.DENY
    assert _decide(stop, {"AWS_PROFILE": "dev-sandbox"}) is not Verdict.DENY
