"""Card titles for SQL clients run here, naming the statement, its table and the
database: "Drop table users in database app on db-prod-1 (production)", not "Drops
table users on database (production), with psql".  The statement's words are the
classifier's (the finding's reason); the database and host are the client's own
options (``policy._objects``).  Pure.
"""

from __future__ import annotations

from opsgate.approvals._clause import Words
from opsgate.models import Finding
from opsgate.policy._names import inventory_name
from opsgate.policy._objects import SQL_CLIENTS, database_object, object_of, simple_commands

__all__ = ["SQL_CLIENTS", "sql_title"]


def sql_title(finding: Finding, program: str, args: Words, command: str) -> str:
    """The title, or "" when the command does not name its database."""
    found = database_object(program, args, {}) if program in SQL_CLIENTS else None
    named = inventory_name(finding)
    if found is None and _one_client(command):
        # ``URL=… bash -c 'psql $URL …'``: the variable as the command set it (the
        # classifier's inventory match may be of another value: not said here).
        found, named = object_of(finding.category, command), None
    if not found or not finding.category.startswith("database."):
        return ""
    host, _, database = found.rpartition("/")
    host = named or host
    on = f" on {host}" if host else ""
    if program == "dropdb":
        return f"Drop the database {database}{on}"
    return f"{_imperative(finding.reason)} in database {database}{on}"


def _one_client(command: str) -> bool:
    """Whether ``command`` runs a single database client (so what its variables
    name is that client's, not another one's in the chain)."""
    programs = [w[0].rsplit("/", 1)[-1] for w, _env in simple_commands(command)]
    return sum(p in SQL_CLIENTS for p in programs) == 1


def _imperative(reason: str) -> str:
    """ "drops table users" → "Drop table users" (the classifier speaks in the third
    person, titles in the imperative)."""
    verb, space, rest = reason.partition(" ")
    if verb.endswith("ies"):
        verb = verb[:-3] + "y"
    elif verb.endswith("s") and not verb.endswith("ss"):
        verb = verb[:-1]
    return verb[:1].upper() + verb[1:] + space + rest
