"""Every setting opsgate reads, declared once: its name in the config file, its
environment variable, its command-line flag, its default, what it is for and
whether it is a secret.  ``docs/configuration.md`` is generated from this table
(``python -m opsgate.config``; a test keeps the page current).

A setting's value comes from the first of: a flag, the environment, the config
file, the default.  Some settings cannot come from the file (``file=False``), each
for the reason given in ``why_not_file``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["SETTINGS", "Kind", "Setting", "by_env", "by_key"]

Kind = Literal["text", "path", "url", "int", "float", "bool", "paths", "choice"]


@dataclass(frozen=True, slots=True)
class Setting:
    key: str  # in the config file; a dot names a [section]
    env: str  # the environment variable
    kind: Kind
    help: str
    default: str | None = None  # as text, the way the environment would give it
    flag: str | None = None  # the command-line flag, where a command takes one
    secret: bool = False  # masked by `config show`; a file holding it must be private
    file: bool = True  # may be set in the config file
    why_not_file: str = ""
    choices: tuple[str, ...] = ()
    used_by: str = "every command"

    @property
    def section(self) -> str:
        return self.key.rpartition(".")[0]


_HOT = "read by the hook's lean client on every tool call, before any file is read"

SETTINGS: tuple[Setting, ...] = (
    # --- where things are -----------------------------------------------------------
    Setting("config", "OPSGATE_CONFIG", "path", flag="--config", file=False,
            why_not_file="it names the file",
            help="the config file; without it, $OPSGATE_HOME/config.toml, else "
            "/etc/opsgate/config.toml (the first that exists)"),
    Setting("data_dir", "OPSGATE_HOME", "path", default="~/.opsgate", flag="--data-dir",
            file=False, why_not_file="the config file is found in it",
            help="the data directory: SQLite databases, signing and secret keys, "
            "policy.yaml, the hook's socket. A directory named by a flag or the "
            "environment must exist (`opsgate init`, `serve --create` and `install` "
            "create it); the hook refuses every call while it does not"),
    Setting("policy", "OPSGATE_POLICY", "path", flag="--policy",
            help="the policy file; without it, $OPSGATE_HOME/policy.yaml, else the "
            "built-in default", used_by="check, hook, serve, mcp"),
    Setting("database_url", "OPSGATE_DATABASE_URL", "url", secret=True,
            help="postgresql://… — the control plane's and the audit trail's shared "
            "database (replicas); without it, SQLite in the data directory. An explicit "
            "--data-dir beats it", used_by="serve, mcp, the hook, local admin commands"),
    # --- the control plane, as a client ------------------------------------------------
    Setting("url", "OPSGATE_URL", "url", flag="--url",
            help="the control plane's address: administrative commands go through its "
            "HTTP API as you (`opsgate login`); an explicit --data-dir works locally "
            "instead. The hook and the SDK take it only from OPSGATE_URL (or "
            "connect.json): a person's config file does not connect their agents",
            used_by="admin commands, the hook, the SDK"),
    Setting("token", "OPSGATE_TOKEN", "text", flag="--token", secret=True, file=False,
            why_not_file="a credential: use `opsgate login` (a 0600 session file) or, "
            "for the hook, $OPSGATE_HOME/connect.json",
            help="an API token to act with (the hook: its agent token). An explicit "
            "--user beats it", used_by="admin commands, the hook, mcp (stdio)"),
    Setting("user", "OPSGATE_USER", "text", flag="--user",
            help="act as this person (password from OPSGATE_PASSWORD or a prompt). "
            "An explicit --token beats it", used_by="admin commands"),
    Setting("password", "OPSGATE_PASSWORD", "text", secret=True, file=False,
            why_not_file="a credential: use `opsgate login`",
            help="the password for --user / OPSGATE_USER (else a prompt)",
            used_by="admin commands, login"),
    Setting("public_url", "OPSGATE_PUBLIC_URL", "url", flag="--public-url",
            help="the base of card links (default: http://HOST:PORT for serve, "
            "http://127.0.0.1:8470 elsewhere)", used_by="serve, mcp, ops"),
    # --- serve -------------------------------------------------------------------------
    Setting("server.host", "OPSGATE_HOST", "text", default="127.0.0.1", flag="--host",
            help="the address `serve` listens on", used_by="serve"),
    Setting("server.port", "OPSGATE_PORT", "int", default="8470", flag="--port",
            help="the port `serve` listens on", used_by="serve"),
    Setting("server.log_level", "OPSGATE_LOG_LEVEL", "choice", default="info",
            flag="--log-level", choices=("critical", "error", "warning", "info", "debug"),
            help="the server's log level", used_by="serve"),
    Setting("server.log_format", "OPSGATE_LOG_FORMAT", "choice", default="text",
            flag="--log-format", choices=("text", "json"),
            help="text, or json: one object per line with the request id", used_by="serve"),
    Setting("server.metrics_address", "OPSGATE_METRICS_ADDRESS", "text",
            flag="--metrics-address",
            help="HOST:PORT where /metrics is also served without credentials, e.g. "
            "127.0.0.1:9470 (on the API, /metrics needs a viewer credential)",
            used_by="serve"),
    Setting("server.expire_interval", "OPSGATE_EXPIRE_INTERVAL", "float", default="5",
            flag="--expire-interval",
            help="seconds between sweeps that expire pending cards past their TTL "
            "(0: no sweep)", used_by="serve"),
    Setting("server.decision_threads", "OPSGATE_DECISION_THREADS", "int",
            help="threads deciding at once (default 4 on SQLite, 8 on PostgreSQL)",
            used_by="serve"),
    Setting("server.db_pool_size", "OPSGATE_DB_POOL_SIZE", "int", default="10",
            help="PostgreSQL connections per process", used_by="serve, mcp"),
    Setting("server.max_body", "OPSGATE_MAX_BODY", "int", default=str(2 * 1024 * 1024),
            help="the largest request body in bytes (413 beyond)", used_by="serve"),
    Setting("server.body_timeout", "OPSGATE_BODY_TIMEOUT", "float", default="30",
            help="seconds for a request body to arrive (408 beyond)", used_by="serve"),
    Setting("server.header_timeout", "OPSGATE_HEADER_TIMEOUT", "float", default="10",
            help="seconds for a request's headers to arrive (the connection is closed "
            "beyond)", used_by="serve"),
    # --- audit -------------------------------------------------------------------------
    Setting("audit.key", "OPSGATE_AUDIT_KEY", "path",
            help="the checkpoint signing key file (default: audit-signing-key.pem in the "
            "data directory); replicas of one log share one key (or each lists the "
            "others' public keys in audit.trusted_keys)",
            used_by="serve, the hook, audit"),
    Setting("audit.trusted_keys", "OPSGATE_AUDIT_TRUSTED_KEYS", "paths",
            help="public keys (PEM files, as `opsgate audit key` prints; a file may hold "
            "several, as the DEST.pub.pem of `opsgate audit backup`) of earlier "
            "signing keys that verification trusts besides the current key: after a "
            "rotation, or every replica's key where replicas do not share one (the "
            "environment: separated by ':'; the file: a list). A listed file that is "
            "missing or not an Ed25519 public key is an error, never skipped",
            used_by="serve, audit verify, incident"),
    Setting("audit.witness", "OPSGATE_AUDIT_WITNESS", "text",
            help="a directory, file or http(s) URL that receives each signed checkpoint",
            used_by="serve, the hook, audit"),
    Setting("audit.checkpoint_every", "OPSGATE_AUDIT_CHECKPOINT_EVERY", "int",
            default="1000", help="entries between signed checkpoints",
            used_by="serve, the hook"),
    Setting("audit.checkpoint_seconds", "OPSGATE_AUDIT_CHECKPOINT_SECONDS", "float",
            default="3600", help="seconds between signed checkpoints",
            used_by="serve, the hook"),
    # --- notifications ----------------------------------------------------------------
    Setting("notify.webhook_url", "OPSGATE_WEBHOOK_URL", "url", secret=True,
            help="a generic JSON webhook for new and decided cards (POST)",
            used_by="serve"),
    Setting("notify.webhook_secret", "OPSGATE_WEBHOOK_SECRET", "text", secret=True,
            help="HMAC-SHA256 key; header X-Opsgate-Signature: sha256=<hex>",
            used_by="serve"),
    Setting("notify.slack_webhook_url", "OPSGATE_SLACK_WEBHOOK_URL", "url", secret=True,
            help="a Slack incoming-webhook URL", used_by="serve"),
    Setting("notify.slack_bot_token", "OPSGATE_SLACK_BOT_TOKEN", "text", secret=True,
            help="a Slack app's bot token: cards posted with Approve and Deny buttons "
            "(with notify.slack_channel)", used_by="serve"),
    Setting("notify.slack_channel", "OPSGATE_SLACK_CHANNEL", "text",
            help="the channel id the Slack app posts cards to", used_by="serve"),
    Setting("notify.slack_signing_secret", "OPSGATE_SLACK_SIGNING_SECRET", "text",
            secret=True, help="the Slack app's signing secret: verifies its button clicks",
            used_by="serve"),
    Setting("notify.slack_team_id", "OPSGATE_SLACK_TEAM_ID", "text",
            help="refuse Slack clicks from any workspace but this one", used_by="serve"),
    Setting("notify.slack_api_url", "OPSGATE_SLACK_API_URL", "url",
            default="https://slack.com/api", help="Slack's Web API (a stand-in in tests)",
            used_by="serve"),
    # --- execution ---------------------------------------------------------------------
    Setting("execute.local_runner", "OPSGATE_LOCAL_RUNNER", "bool", default="false",
            help="let approved operations run on this machine (a dedicated host only)",
            used_by="serve"),
    Setting("execute.operations", "OPSGATE_OPERATIONS", "paths",
            help="more operation files or directories (the environment: separated by "
            "':'; the file: a list), besides $OPSGATE_HOME/operations",
            used_by="serve, mcp, ops"),
    Setting("execute.secret_key", "OPSGATE_SECRET_KEY", "text", secret=True, file=False,
            why_not_file="a key: keep it in secret.key in the data directory (0600) or "
            "the service's environment",
            help="the secret store's key (32 bytes, base64); default: secret.key in the "
            "data directory; replicas share it", used_by="serve, mcp, secrets"),
    Setting("execute.secret_key_previous", "OPSGATE_SECRET_KEY_PREVIOUS", "text",
            secret=True, file=False,
            why_not_file="a key: use execute.secret_key_previous_file, or the service's "
            "environment",
            help="during a key rotation, the secret store's earlier key (32 bytes, base64): "
            "values that do not open with the current key are tried with it; new values "
            "are always sealed with the current key",
            used_by="serve, mcp, secrets, incident"),
    Setting("execute.secret_key_previous_file", "OPSGATE_SECRET_KEY_PREVIOUS_FILE", "path",
            help="a file (0600) holding the earlier key, instead of "
            "OPSGATE_SECRET_KEY_PREVIOUS (set one of the two)",
            used_by="serve, mcp, secrets, incident"),
    # --- the hook ----------------------------------------------------------------------
    Setting("hook.daemon", "OPSGATE_HOOK_DAEMON", "bool", default="true", file=False,
            why_not_file=_HOT,
            help="ask the resident decision service (false, or any word that is not "
            "true: always decide in the hook process)", used_by="the hook"),
    Setting("hook.fork", "OPSGATE_HOOK_FORK", "bool", default="true", file=False,
            why_not_file=_HOT,
            help="decide in a forked child, so a crash in a parser is a block (only "
            "an explicit false turns it off)", used_by="the hook"),
    Setting("hook.build_client", "OPSGATE_HOOK_BUILD_CLIENT", "bool", default="true",
            file=False, why_not_file="read by `install` and the hook's service before "
            "any command-line parsing",
            help="build the native hook client when a C compiler is present",
            used_by="install, the hook"),
)  # fmt: skip

_BY_KEY = {s.key: s for s in SETTINGS}
_BY_ENV = {s.env: s for s in SETTINGS}


def by_key(key: str) -> Setting:
    return _BY_KEY[key]


def by_env(env: str) -> Setting | None:
    return _BY_ENV.get(env)
