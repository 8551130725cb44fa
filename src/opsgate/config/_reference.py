"""``docs/configuration.md``, generated from the table of settings (so the page
cannot drift from the code; ``tests/unit/test_config.py`` checks it is current)."""

from __future__ import annotations

from opsgate.config._table import SETTINGS, Setting

__all__ = ["reference"]

_HEAD = """\
# Configuration

<!-- Generated from src/opsgate/config/_table.py by `python -m opsgate.config > \
docs/configuration.md`; edit the table, not this page. -->

Every setting opsgate reads is listed here. Each takes its value from the first of:

1. a **flag** on the command line (`--data-dir`, `--url`, …),
2. the **environment** (`OPSGATE_*`),
3. the **config file** (TOML),
4. the **default**.

An empty environment variable counts as unset. A boolean setting reads `1`, `true`,
`yes` or `on` as true and `0`, `false`, `no` or `off` as false, in any case — the
same words everywhere, the hook's own switches included (anything else is an error,
except in the hook, which then takes the slower, safer way: no resident service, a
forked child). `opsgate config show` prints each effective value and where it came
from (secrets masked); `--json` for scripts.

## The config file

`--config FILE` or `OPSGATE_CONFIG` names it (it must exist); otherwise opsgate reads
`$OPSGATE_HOME/config.toml` (`~/.opsgate/config.toml`), else `/etc/opsgate/config.toml`,
whichever exists first — one file, never a merge of both. A key written as
`section.name` below goes in that `[section]`:

```toml
url = "https://opsgate.example.com"      # admin commands go through this control plane
policy = "policy.yaml"                   # relative paths are relative to this file

[server]
host = "0.0.0.0"
port = 8470

[audit]
witness = "/var/backups/opsgate-witness"
```

An unknown key is an error that names the closest known one. A file that holds a
secret (`database_url`, the webhook URLs and secret) must be readable by its owner
only (`chmod 600`). A few settings cannot be in the file at all (the table says why):
the data directory (the file is found in it), credentials (use `opsgate login`, or
the hook's `connect.json`), and the hook's own switches (read before any file).

## Which one wins when two settings disagree

- **Where the control plane is.** An explicit `--data-dir` (or `--db`) works on that
  local directory, whatever `OPSGATE_URL` or `OPSGATE_DATABASE_URL` say; `--url`
  speaks to that server. Otherwise the more explicit of `url` and `database_url`
  wins (environment over file), and `url` wins when both come from the same place.
- **Who is acting.** An explicit `--user` or `--token` wins over `OPSGATE_TOKEN` and
  `OPSGATE_USER`; between the two variables, the token wins; the session of
  `opsgate login` comes last.
- **The data directory** named by a flag or the environment must exist: a mistyped
  path is an error (exit 9), not a new empty store with a fresh signing key and none
  of your rules. That holds for every command, `check` included, and for the hook,
  which then refuses every tool call with a deny that names the directory and what
  to do (it never creates one, nor starts its service there). `opsgate init`
  creates it, and so do `opsgate serve --create` and `opsgate install <agent>` (the
  data directory the hook will use). The default `~/.opsgate` is created by
  `opsgate serve` and by the hook's first call on a new machine; `check` runs
  without it (the built-in policy).

## Protected mode

In protected mode (`opsgate install <agent> --system`) the hook's service runs as
opsgate's own user with `/var/lib/opsgate` as its data directory. Its settings come
from its own environment and `/var/lib/opsgate/config.toml` or
`/etc/opsgate/config.toml` — files the agent's user cannot write — never from the
agent's environment. The root-owned `/etc/opsgate/hook.conf` (socket, service user)
is written by the installer and is not a settings file.

## Other files

- `$OPSGATE_HOME/policy.yaml`: the policy (`policy` above). Its `settings:`
  (production protection, write actions, approval TTL, two approvers) mean the same
  in `check`, the hook and `serve`: the console cannot change a setting the file sets.
- `$OPSGATE_HOME/session.json`: the session of `opsgate login` (0600); `opsgate
  logout` ends it.
- `$OPSGATE_HOME/connect.json`: the hook's control plane and agent token
  (`{"url": …, "token": …}`, 0600).
- `$OPSGATE_HOME/secret.key`, `audit-signing-key.pem`: the secret store's key and the
  checkpoint signing key.
"""

_SECTIONS = {
    "": "General",
    "server": "`[server]`: `opsgate serve`",
    "audit": "`[audit]`: the audit trail",
    "notify": "`[notify]`: notifications of pending and decided cards",
    "execute": "`[execute]`: governed execution",
    "hook": "`[hook]`: the agent hook",
}


def _row(s: Setting) -> str:
    default = f"`{s.default}`" if s.default is not None else "—"
    flag = f"`{s.flag}`" if s.flag else "—"
    notes = []
    if s.secret:
        notes.append("**secret**")
    if not s.file:
        notes.append(f"not in the file: {s.why_not_file}")
    if s.choices:
        notes.append("one of " + ", ".join(f"`{c}`" for c in s.choices))
    text = s.help + (" (" + "; ".join(notes) + ")" if notes else "")
    cells = (f"`{s.key}`", f"`{s.env}`", flag, default, s.used_by, text.replace("|", "\\|"))
    return "| " + " | ".join(cells) + " |"


def reference() -> str:
    parts = [_HEAD]
    for section, title in _SECTIONS.items():
        rows = [s for s in SETTINGS if s.section == section]
        parts.append(f"\n## {title}\n\n| key | variable | flag | default | used by | meaning |\n")
        parts.append("|---|---|---|---|---|---|\n")
        parts.extend(_row(s) + "\n" for s in rows)
    return "".join(parts)
