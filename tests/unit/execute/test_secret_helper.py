"""Credential-helper commands as real processes (small scripts written by each
test): a value, trimmed; one that hangs, one that fails, one that prints
megabytes — each refused with the helper's name and never its output, and no
process left behind; a clean environment; argv only.  And the store around it:
the command sealed with its kind, the value learnt by every redactor."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from opsgate.audit.redact import MASK, Redactor
from opsgate.execute._helper import HelperSpec, run_helper
from opsgate.execute.errors import InvalidHelper, SecretError
from opsgate.execute.secrets import SecretStore
from opsgate.store import open_store
from opsgate.store._schema import secrets as table

VALUE = "helper-value-5bX9qL2mN8"
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0): dead for our purpose once it is one.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def test_the_value_is_its_stdout_trimmed(tmp_path: Path) -> None:
    helper = script(tmp_path, "ok", f'printf "  {VALUE}\\n\\n"\n')
    assert run_helper("db", HelperSpec.checked([helper]), ENV) == VALUE


def test_arguments_are_argv_not_a_shell(tmp_path: Path) -> None:
    helper = script(tmp_path, "args", 'printf "%s|" "$@"\n')
    value = run_helper("db", HelperSpec.checked([helper, "a b", "$HOME", "*"]), ENV)
    assert value == "a b|$HOME|*|"
    with pytest.raises(InvalidHelper, match="separate arguments"):
        HelperSpec.checked([f"{helper} a b"])
    for bad in ([], [""], ["op", "x\x00y"]):
        with pytest.raises(InvalidHelper):
            HelperSpec.checked(bad)
    with pytest.raises(InvalidHelper, match="at most 60"):
        HelperSpec.checked([helper], timeout=600)
    with pytest.raises(InvalidHelper, match="names only"):
        HelperSpec.checked([helper], env=["A=1"])


def test_a_helper_that_hangs_is_stopped_with_its_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    helper = script(tmp_path, "hang", f"sleep 30 & echo $! > {pids}; echo $$ >> {pids}; wait\n")
    started = time.monotonic()
    with pytest.raises(SecretError) as err:
        run_helper("db", HelperSpec.checked([helper], timeout=0.5), ENV)
    assert time.monotonic() - started < 5
    assert "'hang'" in err.value.message and "did not finish within 0.5 s" in err.value.message
    for pid in (int(p) for p in pids.read_text().split()):
        deadline = time.monotonic() + 5
        while not gone(pid):
            assert time.monotonic() < deadline, f"helper process {pid} left running"
            time.sleep(0.05)


def test_a_failing_helper_is_named_never_quoted(tmp_path: Path) -> None:
    helper = script(tmp_path, "fails", f'echo "half {VALUE}"; echo "stderr {VALUE}" >&2; exit 3\n')
    with pytest.raises(SecretError) as err:
        run_helper("db", HelperSpec.checked([helper]), ENV)
    said = f"{err.value.message} {err.value.hint}"
    assert "'fails'" in said and "status 3" in said and "secret 'db'" in said
    assert VALUE not in said and "half" not in said and "stderr" not in said


def test_a_helper_that_prints_megabytes_is_cut_off(tmp_path: Path) -> None:
    helper = script(tmp_path, "flood", "head -c 5000000 /dev/zero | tr '\\0' x; sleep 30\n")
    started = time.monotonic()
    with pytest.raises(SecretError, match="more than 64 KiB"):
        run_helper("db", HelperSpec.checked([helper]), ENV)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("body", "said"),
    [("exit 0\n", "printed nothing"), ("printf '   \\n'\n", "printed nothing")],
    ids=["silent", "blank"],
)
def test_nothing_printed_is_no_value(tmp_path: Path, body: str, said: str) -> None:
    helper = script(tmp_path, "empty", body)
    with pytest.raises(SecretError, match=said):
        run_helper("db", HelperSpec.checked([helper]), ENV)


def test_a_missing_helper_is_named(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match="'no-such-helper-x' was not found"):
        run_helper("db", HelperSpec.checked(["no-such-helper-x"]), ENV)


def test_the_environment_is_clean_but_for_named_variables(tmp_path: Path) -> None:
    helper = script(tmp_path, "env", "env | sort | tr '\\n' ' '\n")
    source = {**ENV, "VAULT_ADDR": "https://vault.internal", "OPSGATE_TOKEN": "agent-token",
              "AWS_PROFILE": "prod", "LD_PRELOAD": "/tmp/evil.so"}  # fmt: skip
    seen = run_helper("db", HelperSpec.checked([helper], env=["VAULT_ADDR"]), source)
    names = {item.split("=", 1)[0] for item in seen.split()}
    assert names <= {"PATH", "HOME", "LANG", "VAULT_ADDR", "PWD", "SHLVL", "_"}, names
    assert "VAULT_ADDR=https://vault.internal" in seen
    assert "agent-token" not in seen and "evil" not in seen and "AWS_PROFILE" not in seen


def test_store_seals_the_command_and_every_redactor_learns_the_value(
    tmp_path: Path, hook_env: None
) -> None:
    value = f"{VALUE}-from-store"
    helper = script(tmp_path, "vault", f'printf "%s" "{value}"\n')
    store = open_store(tmp_path / "home")
    secrets = SecretStore(os.urandom(32))
    try:
        with store.write() as conn:
            secrets.put_command(conn, "db", HelperSpec.checked([helper]), None, 1.0)
        with store.read() as conn:
            row = conn.execute(table.select()).one()
            assert helper not in row.ciphertext and row.source == "command"
            info = secrets.names(conn)[0]
            assert info.source == "command" and secrets.reveal_all(conn) == []  # never run there
            revealed = secrets.reveal(conn, "db")
        assert revealed.reveal() == value and value not in repr(revealed)
        assert Redactor(from_environ=False).text(f"x {value} y") == f"x {MASK} y"
        # Its kind is sealed with it: a command row marked as a value does not open.
        with store.write() as conn:
            conn.execute(table.update().values(source=None))
        with store.read() as conn, pytest.raises(SecretError, match="does not decrypt"):
            secrets.reveal(conn, "db")
    finally:
        store.close()


def test_learning_a_key_never_unmasks_another_key() -> None:
    """A stored private key is learnt line by line, but not its armor lines: those
    are in every key, and masking them first would break the pattern that masks any
    other key whole (its body would pass)."""
    from opsgate.execute.secrets import learn

    armor = "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----"
    learn(armor.format("c3RvcmVkLWtleS1ib2R5LWxpbmUtb25l"))
    other = armor.format("b3RoZXIta2V5LWJvZHktbGluZQ==")
    shown = Redactor(from_environ=False).text(f"cat <<EOF\n{other}\nEOF")
    assert "b3RoZXIta2V5" not in shown and "c3RvcmVk" not in shown


# --- the reason a failed run gives: the secret's name readable, no value ever -----------------


@pytest.mark.parametrize(
    "name", ["helper_bad", "api_token", "db_password", "SECRET_KEY", "partner.token-2"]
)
def test_a_failing_helper_names_its_secret_readably_whatever_the_name(
    tmp_path: Path, name: str
) -> None:
    from opsgate.execute._running import failure_reason
    from opsgate.execute.redact import OutputRedactor

    bad = script(tmp_path, "bad", f"echo {VALUE}\nexit 3\n")
    with pytest.raises(SecretError) as caught:
        run_helper(name, HelperSpec.checked([bad]), ENV)
    said = failure_reason(caught.value, OutputRedactor([VALUE]))
    assert said == f"secret {name!r}: the helper 'bad' exited with status 3", said


def test_a_secrets_name_that_is_a_known_value_is_still_masked() -> None:
    from opsgate.execute._running import failure_reason
    from opsgate.execute.redact import OutputRedactor

    error = SecretError("the helper 'x' printed nothing", secret=VALUE)
    said = failure_reason(error, OutputRedactor([VALUE]))
    assert VALUE not in said and MASK in said, said


def test_other_errors_keep_their_class_and_secret_shapes_are_masked() -> None:
    from opsgate.execute._running import failure_reason
    from opsgate.execute.redact import OutputRedactor

    said = failure_reason(RuntimeError("PGPASSWORD=hunter2-xyz failed"), OutputRedactor())
    assert said.startswith("RuntimeError: ") and "hunter2-xyz" not in said, said
    said = failure_reason(SecretError("token=abc123-secret-1 leaked"), OutputRedactor())
    assert "abc123-secret-1" not in said and not said.startswith("SecretError"), said
