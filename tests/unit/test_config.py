"""The configuration model: one table, flags > environment > file > defaults, the
config file's rules, the reference page and exit-code table kept current, and no
setting read anywhere but through the table (the hook's lean client excepted)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsgate.config import DEFAULT, ENV, FILE, FLAG, SETTINGS, resolve
from opsgate.config._reference import reference
from opsgate.errors import EXIT_CODES, ConfigError

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "opsgate"


def _file(home: Path, text: str, mode: int = 0o600) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_each_layer_beats_the_ones_below(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _file(home, '[server]\nport = 9001\nhost = "0.0.0.0"\nlog_level = "debug"\n')
    env = {"OPSGATE_HOME": str(home), "OPSGATE_PORT": "9002", "OPSGATE_HOST": "10.0.0.1"}
    config = resolve(env, {"server.port": 9003})
    assert (config.get("server.port"), config.layer("server.port")) == (9003, FLAG)
    assert config.value("server.port").source == "flag --port"
    assert (config.get("server.host"), config.layer("server.host")) == ("10.0.0.1", ENV)
    assert config.value("server.host").source == "environment OPSGATE_HOST"
    assert (config.get("server.log_level"), config.layer("server.log_level")) == ("debug", FILE)
    assert config.value("server.log_level").source == f"file {home / 'config.toml'}"
    expire = config.value("server.expire_interval")
    assert (expire.value, expire.layer, expire.source) == (5.0, DEFAULT, "default")


def test_an_empty_variable_is_unset(tmp_path: Path) -> None:
    config = resolve({"OPSGATE_HOME": str(tmp_path), "OPSGATE_URL": ""}, {})
    assert config.get("url") is None


def test_the_named_file_wins_and_must_exist(tmp_path: Path) -> None:
    named = _file(tmp_path / "elsewhere", 'url = "https://cp.example"\n')
    _file(tmp_path / "home", 'url = "https://home.example"\n')
    env = {"OPSGATE_HOME": str(tmp_path / "home"), "OPSGATE_CONFIG": str(named)}
    assert resolve(env, {}).get("url") == "https://cp.example"
    with pytest.raises(ConfigError, match="does not exist"):
        resolve({"OPSGATE_CONFIG": str(tmp_path / "nope.toml")}, {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("[server]\nprot = 1\n", "did you mean 'server.port'", id="typo"),
        pytest.param('token = "og_x"\n', "cannot be set in the config file", id="credential"),
        pytest.param('data_dir = "/x"\n', "the config file is found in it", id="data-dir"),
        pytest.param('[server]\nport = "high"\n', "must be a whole number", id="type"),
        pytest.param("url = [\n", "not valid TOML", id="syntax"),
        pytest.param('url = "ftp://x"\n', "http(s) URL", id="scheme"),
    ],
)
def test_a_bad_file_is_an_error_that_names_the_setting(
    tmp_path: Path, text: str, message: str
) -> None:
    _file(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        config = resolve({"OPSGATE_HOME": str(tmp_path)}, {})
        for s in SETTINGS:
            config.get(s.key)
    assert message in error.value.diagnostics()


def test_a_file_holding_a_secret_must_be_private(tmp_path: Path) -> None:
    _file(tmp_path, 'database_url = "postgresql://u:pw@db/opsgate"\n', mode=0o644)
    with pytest.raises(ConfigError, match="other users can read it") as error:
        resolve({"OPSGATE_HOME": str(tmp_path)}, {})
    assert "chmod 600" in error.value.diagnostics()
    (tmp_path / "config.toml").chmod(0o600)
    assert (
        resolve({"OPSGATE_HOME": str(tmp_path)}, {}).database_url == "postgresql://u:pw@db/opsgate"
    )


def test_a_bad_environment_value_names_its_variable(tmp_path: Path) -> None:
    config = resolve({"OPSGATE_HOME": str(tmp_path), "OPSGATE_LOCAL_RUNNER": "maybe"}, {})
    with pytest.raises(ConfigError, match="environment OPSGATE_LOCAL_RUNNER"):
        config.boolean("execute.local_runner")


def test_paths_in_the_file_are_relative_to_it(tmp_path: Path) -> None:
    _file(tmp_path, 'policy = "policy.yaml"\n[execute]\noperations = ["ops", "/abs/x.yaml"]\n')
    config = resolve({"OPSGATE_HOME": str(tmp_path)}, {})
    assert config.path("policy") == tmp_path / "policy.yaml"
    assert config.paths("execute.operations") == (tmp_path / "ops", Path("/abs/x.yaml"))


def test_an_explicit_data_dir_beats_a_database_url(tmp_path: Path) -> None:
    env = {"OPSGATE_HOME": str(tmp_path), "OPSGATE_DATABASE_URL": "postgresql://db/x"}
    assert resolve(env, {}).database_url == "postgresql://db/x"  # a replica: both from env
    assert resolve(env, {"data_dir": tmp_path / "copy"}).database_url is None
    # The environment's data directory is where the file is found: it does not beat it.
    _file(tmp_path, 'database_url = "postgresql://db/y"\n')
    assert resolve({"OPSGATE_HOME": str(tmp_path)}, {}).database_url == "postgresql://db/y"


def test_agents_connections_come_only_from_flags_or_the_environment(tmp_path: Path) -> None:
    _file(tmp_path, 'url = "https://cp.example"\n')
    config = resolve({"OPSGATE_HOME": str(tmp_path)}, {})
    assert config.get("url") == "https://cp.example"  # the admin commands
    assert config.explicit("url") is None  # the SDK: a person's file does not connect it
    assert (
        resolve({"OPSGATE_HOME": str(tmp_path), "OPSGATE_URL": "https://a"}, {}).explicit("url")
        == "https://a"
    )


def test_the_table_is_consistent() -> None:
    keys = [s.key for s in SETTINGS]
    envs = [s.env for s in SETTINGS]
    assert len(set(keys)) == len(keys) and len(set(envs)) == len(envs)
    for s in SETTINGS:
        assert s.env.startswith("OPSGATE_"), s.key
        assert s.help and s.used_by, s.key
        assert s.file or s.why_not_file, s.key


def test_the_reference_page_is_current() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text("utf-8")
    assert page == reference(), "run: python -m opsgate.config > docs/configuration.md"


def test_the_exit_code_table_is_documented() -> None:
    codes = [code for code, _, _ in EXIT_CODES]
    assert len(set(codes)) == len(codes)
    page = (ROOT / "docs" / "cli.md").read_text("utf-8")
    for code, name, _ in EXIT_CODES:
        assert re.search(rf"^\| {code} \| `{name}` \|", page, re.MULTILINE), (code, name)


# Direct reads of opsgate's variables outside opsgate.config: the hook's lean client
# (before any file is read, on every tool call), the classifier guarding the data
# directory and its control plane, and what is handed to a child process.  Each name
# is in the table.
LEAN = {
    "hooks/_client.py": {"OPSGATE_HOME", "OPSGATE_HOOK_DAEMON"},
    "hooks/_runner.py": {"OPSGATE_HOOK_FORK"},
    "hooks/_connect.py": {"OPSGATE_URL", "OPSGATE_TOKEN", "OPSGATE_HOME"},
    "hooks/_daemon.py": {"OPSGATE_HOME"},  # sets its own, for the decisions it makes
    "classify/_guard_paths.py": {"OPSGATE_HOME"},
    "classify/_files.py": {"OPSGATE_HOME"},
    "classify/_paths_opsgate.py": {"OPSGATE_HOME"},  # its credentials are secret files
    "classify/_guard_reach.py": {"OPSGATE_URL"},  # its console's forms, on its own address
}
_READ = re.compile(r"""(?:environ|env)(?:\.get\(|\[)\s*["'](OPSGATE_[A-Z_]+)["']""")


def test_settings_are_read_only_through_the_table() -> None:
    declared = {s.env for s in SETTINGS}
    for path in sorted(SRC.rglob("*.py")):
        rel = str(path.relative_to(SRC))
        if rel.startswith("config/"):
            continue
        names = set(_READ.findall(path.read_text("utf-8")))
        assert names <= declared, f"{rel} reads undeclared {sorted(names - declared)}"
        assert names <= LEAN.get(rel, set()), f"{rel} reads {sorted(names)} around the table"


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", True), ("true", True), (" Yes ", True), ("ON", True), ("0", False),
     ("false", False), ("No", False), ("off ", False), ("", None), ("fasle", None),
     ("2", None)],
)  # fmt: skip
def test_one_reading_of_booleans_for_the_config_and_the_hook(text: str, value: bool | None) -> None:
    from opsgate._boolean import parse_bool

    assert parse_bool(text) is value
    env = {"OPSGATE_LOCAL_RUNNER": text}
    if value is None and text:
        with pytest.raises(ConfigError, match="OPSGATE_LOCAL_RUNNER"):
            resolve(env, {}).get("execute.local_runner")
    elif text:
        assert resolve(env, {}).get("execute.local_runner") is value


def test_the_native_client_knows_the_same_true_words() -> None:
    from opsgate._boolean import TRUE_WORDS
    from opsgate.hooks._native import source

    line = next(ln for ln in source().splitlines() if "TRUE_WORDS[] =" in ln)
    assert line.endswith("{" + ", ".join(f'"{w}"' for w in TRUE_WORDS) + ", NULL};")


def test_a_named_data_directory_must_exist_the_default_need_not(tmp_path: Path) -> None:
    from opsgate.config import MissingDataDir, require_named_data_dir

    typo = tmp_path / "opsgaet"
    with pytest.raises(MissingDataDir, match="environment OPSGATE_HOME") as err:
        require_named_data_dir(resolve({"OPSGATE_HOME": str(typo)}, {}))
    assert err.value.exit_code == 9 and err.value.hint and "opsgate init" in err.value.hint
    with pytest.raises(MissingDataDir, match="flag --data-dir"):
        require_named_data_dir(resolve({}, {"data_dir": str(typo)}))
    default = resolve({}, {})
    assert require_named_data_dir(default) == default.data_dir  # ~/.opsgate: not needed yet
