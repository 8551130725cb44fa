"""Secrets: reading credential files, dumping the environment, secret managers.

The agent may learn that a secret exists (names, ``describe``, ``test -n``), never
its value.  A disclosed value cannot be taken back, so every finding here is
``Effect.SECRET`` — denied by an immutable safeguard.
"""

from __future__ import annotations

import re

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.families._secrets_common import (
    _resolve,
    _secret,
    env_dump,
    redirect_read,
    secret_operands,
    secret_write,
)
from opsgate.classify.families._secrets_readers import _READERS, _reader
from opsgate.classify.families._secrets_routes import (
    _SKIP,
    WRITES_SECRETS,
    named_secrets,
    secret_writes,
)
from opsgate.classify.paths import is_secret_path
from opsgate.models import Effect, Finding, Impact

__all__ = ["HANDLERS", "env_dump", "redirect_read", "reveals", "secret_operands", "secret_write"]


def _printenv(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._words import SECRET_VAR

    names = [a.value for a in cmd.positionals()]
    if not names:
        return env_dump(cmd.text)
    if not all(a.static for a in cmd.positionals()):
        # ``compgen -e | xargs printenv``: names chosen at run time may be any variable.
        return [_secret(cmd.text, "prints variables whose names are chosen at run time")]
    secret = [n for n in names if SECRET_VAR.search(n)]
    if secret:
        return [_secret(cmd.text, f"prints the secret variable {secret[0]}")]
    return []


def _set(cmd: Command, ctx: Context) -> list[Finding]:
    return env_dump(cmd.text) if not cmd.args else []


def _manager(reveal: dict[str, str], *, default: str | None = None) -> Handler:
    """A secret manager: subcommand path → finding when it reveals values."""

    def handler(cmd: Command, ctx: Context) -> list[Finding]:
        words = [w for w in cmd.words if not w.startswith("-")]
        for depth in (2, 1):
            key = " ".join(words[:depth])
            if key in reveal:
                if reveal[key] == "reveal":
                    return [_secret(cmd.text, f"{cmd.name} {key} prints a secret value")]
                return []
        if default == "reveal" and words:
            return [_secret(cmd.text, f"{cmd.name} {words[0]} may print secret values")]
        return []

    return handler


def _op(cmd: Command, ctx: Context) -> list[Finding]:
    words = [w for w in cmd.words if not w.startswith("-")]
    head = " ".join(words[:2])
    if words[:1] == ["read"] or (
        head in ("item get", "document get", "inject")
        and (cmd.has("--reveal", "--fields", "--field") or words[:2] != ["item", "get"])
    ):
        return [_secret(cmd.text, "1Password CLI prints a secret value")]
    return []


def _security(cmd: Command, ctx: Context) -> list[Finding]:
    if cmd.words[:1] and "password" in cmd.words[0] and cmd.has("-w", "-g"):
        return [_secret(cmd.text, "macOS keychain prints a password")]
    if cmd.words[:1] == ("dump-keychain",) and cmd.has("-d"):
        return [_secret(cmd.text, "dumps the keychain with its secrets")]
    return []


# openssl subcommands that use their inputs (certificates, keys to sign or connect with)
# and print nothing of a secret's value; every other one prints or transforms ``-in``.
_OPENSSL_USES = frozenset(
    {"x509", "req", "verify", "crl", "crl2pkcs7", "s_client", "s_server", "s_time", "dgst",
     "version", "genrsa", "genpkey", "gendsa", "rand", "ca", "ocsp", "ciphers", "list", "speed",
     "sha1", "sha256", "sha384", "sha512", "md5", "passwd", "prime", "errstr", "spkac", "ts",
     "help", "dhparam", "ecparam", "info"}
)  # fmt: skip
_OPENSSL_KEYS = frozenset({"rsa", "pkey", "ec", "dsa", "pkcs8", "pkcs12"})


def _openssl(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._command import Arg
    from opsgate.classify.families._secrets_common import judge_operand

    sub = cmd.words[0] if cmd.words else ""
    if sub in _OPENSSL_USES:
        return []
    if sub in _OPENSSL_KEYS and cmd.has("-pubout", "-noout") and not cmd.has("-text"):
        return []
    names = ["-in", "-inkey", "-key"] if sub in _OPENSSL_KEYS else ["-in"]
    valued = ("-in", "-out", "-inkey", "-key", "-pass", "-passin", "-passout", "-K", "-iv",
              "-md", "-certfile", "-recip", "-signer", "-CAfile", "-name")  # fmt: skip
    words = [*cmd.options(*names), *(a.value for a in cmd.positionals(valued)[1:])]
    for word in words:
        found = judge_operand(cmd, Arg(word), ctx, verb=f"openssl {sub} prints")
        if found is not None:
            return [found]
    return []


_VAULT = _manager(
    {
        "read": "reveal",
        "kv get": "reveal",
        "kv list": "list",
        "status": "list",
        "kv metadata": "list",
        "secrets list": "list",
        "token lookup": "list",
        "login": "list",
        "write": "list",
        "kv put": "list",
        "list": "list",
        "token create": "reveal",
        "unwrap": "reveal",
    }
)

HANDLERS: dict[str, Handler] = {
    **{name: _reader for name in _READERS},
    "printenv": _printenv,
    "set": _set,
    "vault": _VAULT,
    "op": _op,
    "security": _security,
    "openssl": _openssl,
    "sops": _manager({"-d": "reveal"}, default=None),
    "pass": _manager({"show": "reveal", "ls": "list", "list": "list"}, default="reveal"),
    "gopass": _manager({"show": "reveal", "cat": "reveal", "ls": "list", "list": "list"}),
    "lpass": _manager({"show": "reveal", "ls": "list"}),
    "bw": _manager({"get": "reveal", "list": "list", "status": "list"}),
    "doppler": _manager(
        {
            "secrets get": "reveal",
            "secrets download": "reveal",
            "secrets": "reveal",
            "secrets names": "list",
        }
    ),
    "chamber": _manager({"read": "reveal", "export": "reveal", "env": "reveal", "list": "list"}),
    "kubeseal": _manager({}),
    "age": _manager({}),
    "gpg": _manager({}),
}


def _sops(cmd: Command, ctx: Context) -> list[Finding]:
    if cmd.has("-d", "--decrypt") or cmd.words[:1] in (("decrypt",), ("exec-env",)):
        return [_secret(cmd.text, "sops decrypts a secrets file")]
    return []


def _gpg(cmd: Command, ctx: Context) -> list[Finding]:
    if cmd.has("-d", "--decrypt", "--export-secret-keys", "--export-secret-subkeys"):
        return [_secret(cmd.text, "gpg decrypts or exports secret material")]
    return []


def _age(cmd: Command, ctx: Context) -> list[Finding]:
    if cmd.has("-d", "--decrypt"):
        return [_secret(cmd.text, "age decrypts a secret file")]
    return []


# A process's memory holds every secret it has read: a core dump of a running process
# (``gcore PID``, ``gdb -p PID -ex gcore``, ``lldb -p PID -o 'process save-core'``)
# is a secret read.  Debugging a program it starts itself (``gdb ./a.out``) is not.
_CORE_DUMPS = re.compile(r"\b(gcore|generate-core-file|dump\s+(binary\s+)?memory|save-core)\b")


def _core_dump(cmd: Command, ctx: Context) -> list[Finding]:
    if cmd.name in ("gcore", "procdump"):
        return [_secret(cmd.text, f"{cmd.name} dumps a running process's memory")]
    attaches = cmd.has("-p", "--pid", "--attach-pid") or any(
        w.startswith(("--pid=", "--attach-pid=")) for w in cmd.words
    )
    if attaches and _CORE_DUMPS.search(" ".join(cmd.words)):
        return [_secret(cmd.text, f"{cmd.name} dumps a running process's memory")]
    return []


HANDLERS.update({"sops": _sops, "gpg": _gpg, "gpg2": _gpg, "age": _age})
HANDLERS.update(dict.fromkeys(("gcore", "procdump", "gdb", "lldb"), _core_dump))


# Subcommands that print credentials, whichever family owns the program.
_REVEALS: dict[str, tuple[tuple[str, ...], ...]] = {
    "systemctl": (("show-environment",),),
    "git": (("credential", "fill"), ("credential-cache",), ("credential-store", "get")),
    "rails": (("credentials:show",), ("credentials:edit",), ("secret",)),
    "rake": (("credentials:show",),),
    "secret-tool": (("lookup",), ("search",)),
    "kubectl": (("view-secret",),),
    "keyring": (("get",),),
    "aws-vault": (("export",),),
    "gcloud": (("auth", "print-access-token"), ("auth", "print-identity-token")),
    "az": (("account", "get-access-token"),),
    "docker": (("secret", "inspect"),),
    "php": (("artisan", "env:decrypt"),),
    "dotnet": (("user-secrets", "list"),),
}


def may_reveal(name: str) -> bool:
    """Whether ``reveals`` can find anything for program ``name`` (with arguments;
    without any it finds nothing): ``named_secrets`` skips ``_SKIP``, and the other
    routes answer only for the programs they name.  Keep in step with ``reveals``:
    ``_cross_cutting`` does not call it for any other program."""
    return name not in _SKIP or name in WRITES_SECRETS or name in _REVEALS or name in _OPENS


_OPENS = frozenset({"sqlite3", "duckdb", "sqlite", "ps"})  # the last tests of ``_reveals``


def reveals(cmd: Command, ctx: Context) -> list[Finding]:
    """Cross-cutting: a subcommand that prints secrets, ``ps e`` (process env), any
    program given a credentials path (``_secrets_routes``), a write into one."""
    found = named_secrets(cmd, ctx) + secret_writes(cmd, ctx)
    return found if found else _reveals(cmd, ctx)


def _reveals(cmd: Command, ctx: Context) -> list[Finding]:
    words = [w for w in cmd.words if not w.startswith("-")]
    for path in _REVEALS.get(cmd.name, ()):
        if tuple(words[: len(path)]) == path:
            return [_secret(cmd.text, f"{cmd.name} {' '.join(path)} prints secret values")]
    if cmd.name in ("sqlite3", "duckdb", "sqlite") and cmd.positionals():
        db = cmd.positionals()[0]
        if db.static and is_secret_path(_resolve(db.value, ctx, cmd.cwd)):
            return [_secret(cmd.text, f"{cmd.name} opens {db.value}, a credential store")]
    if cmd.name == "ps" and any(
        (not w.startswith("-") and "e" in w and w.isalpha()) for w in cmd.words
    ):
        return [_secret(cmd.text, "ps with BSD 'e' prints every process's environment")]
    return []


_VAULT_WRITES = {
    "kv destroy": Impact.DESTRUCTIVE, "kv delete": Impact.DESTRUCTIVE,
    "kv metadata delete": Impact.DESTRUCTIVE, "delete": Impact.DESTRUCTIVE,
    "secrets disable": Impact.DESTRUCTIVE, "kv put": Impact.CAUTION, "kv patch": Impact.CAUTION,
    "kv rollback": Impact.CAUTION, "write": Impact.CAUTION, "policy write": Impact.CAUTION,
    "policy delete": Impact.DESTRUCTIVE, "secrets enable": Impact.CAUTION,
    "auth enable": Impact.CAUTION, "auth disable": Impact.DESTRUCTIVE,
    "token revoke": Impact.CAUTION, "lease revoke": Impact.CAUTION,
    "operator seal": Impact.DESTRUCTIVE, "operator raft": Impact.CAUTION,
}  # fmt: skip


def _vault(cmd: Command, ctx: Context) -> list[Finding]:
    words = [w for w in cmd.words if not w.startswith("-")]
    for depth in (3, 2, 1):
        impact = _VAULT_WRITES.get(" ".join(words[:depth]))
        if impact is not None:
            address = cmd.option("-address", "--address") or cmd.env.get("VAULT_ADDR") or "vault"
            return [
                Finding(
                    "secrets.write",
                    impact,
                    Effect.WRITE,
                    cmd.text,
                    f"vault {' '.join(words[:depth])} changes the secret store",
                    address,
                )
            ]
    return _VAULT(cmd, ctx)


# Tools that decrypt or print a project's .env values, by subcommand; ``()`` after a
# subcommand: always, else only with one of the listed options (``decrypt --stdout``;
# plain ``decrypt`` rewrites the file in place and prints nothing).
_DOTENV_TOOLS: dict[str, dict[str, tuple[str, ...]]] = {
    "dotenvx": {"get": (), "keypair": (), "decrypt": ("--stdout",)},
    "dotenv": {"get": (), "list": (), "-p": ()},  # python-dotenv; dotenv-cli's -p NAME
    "dotenv-vault": {"keys": (), "decrypt": ()},
    "infisical": {"secrets": (), "export": ()},
}


# Options of these tools whose value is a file, a key or an environment name.
_DOTENV_VALUED = ("-f", "--file", "-e", "--env", "--env-file", "--env-keys-file", "-k", "--key",
                  "--path", "--projectId", "--convention", "-fk", "-fv")  # fmt: skip


def _dotenv_tool(cmd: Command, ctx: Context) -> list[Finding]:
    subcommands = _DOTENV_TOOLS[cmd.name]
    plain = [a.value for a in cmd.positionals(_DOTENV_VALUED)]
    flags = [o for o in subcommands if o.startswith("-") and cmd.has(o)]
    word = flags[0] if flags else plain[0] if plain else None
    options = subcommands.get(word) if word is not None else None
    if options is None or (options and not cmd.has(*options)):
        return _by_words(cmd, ctx)
    if word == "secrets" and plain[1:2] not in ([], ["get"]):
        return _by_words(cmd, ctx)  # ``infisical secrets set``: a change, not a print
    return [_secret(cmd.text, f"{cmd.name} {word} prints secret values")]


def _by_words(cmd: Command, ctx: Context) -> list[Finding]:
    """Any other subcommand is judged as a tool without a table is, by the words it
    was given (``infisical secrets delete`` is stopped); ``run`` wraps a command, which
    is judged on its own (``_dispatch_wrappers``)."""
    from opsgate.classify import _unknown_tools
    from opsgate.classify.shell import Walker

    return _unknown_tools.sniff(cmd, ctx) if isinstance(ctx, Walker) else []


def _docker_credential(cmd: Command, ctx: Context) -> list[Finding]:
    if cmd.words[:1] in (("get",), ("list",)):
        return [_secret(cmd.text, f"{cmd.name} {cmd.words[0]} prints registry credentials")]
    return []


HANDLERS.update({"vault": _vault, **dict.fromkeys(_DOTENV_TOOLS, _dotenv_tool)})
for _helper in (
    "docker-credential-desktop",
    "docker-credential-osxkeychain",
    "docker-credential-pass",
    "docker-credential-secretservice",
    "docker-credential-wincred",
    "docker-credential-ecr-login",
    "docker-credential-gcloud",
    "docker-credential-gcr",
):
    HANDLERS[_helper] = _docker_credential
