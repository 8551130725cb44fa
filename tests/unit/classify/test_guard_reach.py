"""opsgate's administrative powers by other routes (attack 1517): its credential files
as secrets, its admin code run in process, its admin API called directly.  The corpus
(tests/corpus/guardfix.jsonl) runs the same classes through the real hook; these pin
the tables' edges, the parts read from the environment included."""

from __future__ import annotations

import pytest

from opsgate.classify._guard_reach import code_findings
from opsgate.classify.paths import holds_secrets, is_secret_path

HOME = "/home/dev"


@pytest.mark.parametrize(
    "path",
    [
        "/home/dev/.opsgate/session.json",
        "~/.opsgate/initial-owner-password",
        "~/.opsgate/.session.json.4242",  # the file `opsgate login` writes first
        "/home/dev/.config/opsgate/config.toml",
        "/etc/opsgate/config.toml",
        "/etc/opsgate/opsgate.env",
        "/var/lib/opsgate/secret.key",
        "/var/lib/opsgate/opsgate.db-wal",
        "~/.opsgate/connect.json",
        "~/.opsgate/**/*.json",  # find -name '*.json' under the home
        "~/.opsgate/*",
        "$OPSGATE_HOME/session.json",
        "${OPSGATE_HOME}/connect.json",
    ],
)
def test_opsgate_credentials_are_secret_files(path: str) -> None:
    assert is_secret_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "~/.opsgate/policy.yaml",
        "~/.opsgate/audit.db",
        "~/.opsgate/*.yaml",
        "/home/dev/project/config.toml",
        "/home/dev/project/fixtures/session.json",
        "/etc/opsgate/hook.conf",
        "$APP_HOME/session.json",
    ],
)
def test_opsgate_files_without_credentials_stay_readable(path: str) -> None:
    assert not is_secret_path(path)


def test_opsgate_home_from_the_environment_is_read_on_every_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPSGATE_HOME", "/srv/og")
    assert is_secret_path("/srv/og/session.json")
    assert holds_secrets("/srv/og", HOME)
    assert not is_secret_path("/srv/og/policy.yaml")
    monkeypatch.setenv("OPSGATE_HOME", "/srv/other")
    assert not is_secret_path("/srv/og/session.json")  # no stale cached answer
    assert not holds_secrets("/srv/og", HOME)


@pytest.mark.parametrize("path", ["/home/dev/.opsgate", "/var/lib", "/var/lib/opsgate", HOME])
def test_a_recursive_read_of_an_opsgate_home_holds_secrets(path: str) -> None:
    assert holds_secrets(path, HOME)


@pytest.mark.parametrize(
    ("lang", "code"),
    [
        ("python", "from opsgate.cli import main\nmain(['approve', 'c_1'])"),
        ("python", "import os, opsgate.approvals as a"),
        ("python", "from opsgate import (cli)"),
        ("python", "import opsgate\nopsgate.store.open_store()"),
        ("python", "import importlib\nimportlib.import_module('ops' + 'gate.cli')"),
        ("python", "import urllib.request as u\nu.urlopen('http://h/api/v1/lockdown/lift')"),
        ("python", "requests.post(url, cookies={'opsgate_session': s})"),
        ("node", "require('child_process').spawn('opsgate', args)"),
        ("node", "fetch(base + '/api/v1/cards/' + id + '/approve', {method: 'POST'})"),
        ("ruby", "Net::HTTP.post(URI(ENV['OPSGATE_URL'] + '/api/v1/users'), body)"),
    ],
)
def test_admin_routes_in_code_are_tampering(lang: str, code: str) -> None:
    found = code_findings(lang, code)
    assert found and found[0].category == "guard.tamper", found


@pytest.mark.parametrize(
    ("lang", "code"),
    [
        ("python", "import json; print(json.dumps({}))"),
        ("python", "from opsgate import Gate, ApprovalRequired"),
        ("python", "import opsgate\nprint(opsgate.__version__)"),
        ("python", "from opsgate.classify import classify"),
        ("python", "import requests\nrequests.get('https://api.example.com/v1/cards')"),
        ("python", "print(open('/home/dev/.opsgate/policy.yaml').read())"),
        ("node", "console.log('opsgate')"),
        ("node", "fetch('https://gate.example.com/api/v1/users')"),
    ],
)
def test_ordinary_code_is_not_tampering(lang: str, code: str) -> None:
    assert code_findings(lang, code) == []
