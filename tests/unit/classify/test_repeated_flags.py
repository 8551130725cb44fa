"""A flag given twice counts as the tool counts it (round a15): getopt, pflag (kubectl,
helm), argparse and Go's flag package keep the last value, so `--context staging
--context prod` acts on prod and must be judged there; ssh's own settings keep the
first, and `-o HostName=` names the machine it really connects to."""

from __future__ import annotations

import pytest

from opsgate.guard import evaluate
from opsgate.models import Action, Environment
from opsgate.policy.model import Policy


@pytest.mark.parametrize(
    ("command", "environment"),
    [
        ("kubectl --context staging --context prod-eu delete deploy web -n shop",
         Environment.PRODUCTION),
        ("kubectl --context=staging --context=prod-eu delete deploy web", Environment.PRODUCTION),
        ("kubectl --context prod-eu --context staging delete deploy web", Environment.STAGING),
        ("helm upgrade web ./chart --kube-context staging --kube-context prod-eu",
         Environment.PRODUCTION),
        ("psql -h db.staging.internal -h db.prod.internal -c 'DROP TABLE t' app",
         Environment.PRODUCTION),
        ("ssh -o HostName=web-prod-1 web-staging-1 sudo systemctl stop nginx",
         Environment.PRODUCTION),
        ("ssh -oHostName=db.prod.internal web-staging-1 sudo reboot", Environment.PRODUCTION),
    ],
)  # fmt: skip
def test_the_environment_is_the_one_the_tool_acts_on(
    command: str, environment: Environment
) -> None:
    action = Action("", "Bash", {"command": command}, cwd="/srv/w", project_dir="/srv/w")
    assert evaluate(action, Policy()).environment is environment
