"""Card titles for the cloud CLIs (aws, gcloud, gsutil, az), naming the object a
command changes: "Delete everything under s3://acme-backups, with the default AWS
profile", "Delete the Cloud SQL instance orders in project shop".

Behaviour as data: each row is a command (the words after the program) and a
template whose ``<…>`` slots are read from the command: ``<1>`` the first
positional word after the command, ``<*>`` all of them, ``<--bucket>`` an option's
value (``<-n|--name>``: whichever is given).  The options are read strictly: an
option opsgate does not know, followed by a word, could take that word as its value
or not, so the command has no title here (the general description stays) rather
than a title that names the wrong object.  Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from opsgate.models import Action

__all__ = ["cloud_title"]

Words = Sequence[str]


@dataclass(frozen=True, slots=True)
class _Cli:
    valued: frozenset[str]  # options that take the next word (or =value)
    listed: frozenset[str]  # options that take every following word up to the next option
    flags: frozenset[str]  # options that take no value
    where: tuple[tuple[str, str], ...]  # (option, " in project {}") said after the phrase
    context: tuple[tuple[str, str], ...]  # (hook context key, " in project {}") otherwise
    default: str  # said when neither names the account


_AWS = _Cli(
    valued=frozenset({
        "--profile", "--region", "--endpoint-url", "--output", "--query", "--color",
        "--ca-bundle", "--cli-read-timeout", "--cli-connect-timeout", "--cli-input-json",
        "--bucket", "--key", "--version-id", "--db-instance-identifier",
        "--db-cluster-identifier", "--db-snapshot-identifier", "--final-db-snapshot-identifier",
        "--table-name", "--function-name", "--stack-name", "--user-name", "--role-name",
        "--name", "--repository-name", "--volume-id", "--snapshot-id", "--group-id",
        "--cluster", "--service", "--exclude", "--include", "--acl", "--storage-class",
        "--secret-id", "--recovery-window-in-days", "--key-id",
        "--hosted-zone-id", "--file-system-id", "--cache-cluster-id", "--replication-group-id",
    }),
    listed=frozenset({"--instance-ids", "--volume-ids"}),
    flags=frozenset({
        "--recursive", "--force", "--quiet", "--dryrun", "--delete", "--skip-final-snapshot",
        "--no-skip-final-snapshot", "--delete-automated-backups", "--debug", "--no-paginate",
        "--no-verify-ssl", "--no-sign-request", "--no-cli-pager", "--only-show-errors",
        "--exact-timestamps", "--force-delete-without-recovery", "--dry-run",
    }),
    where=(("--profile", ", with AWS profile {}"), ("--region", " in {}")),
    context=(("aws.profile", ", with AWS profile {}"),),
    default=", with the default AWS profile",
)  # fmt: skip
_GCLOUD = _Cli(
    valued=frozenset({
        "--project", "--zone", "--region", "--instance", "--configuration", "--account",
        "--format", "--verbosity", "--delete-disks", "--keep-disks", "--location",
        "--impersonate-service-account", "--billing-project",
    }),
    listed=frozenset(),
    flags=frozenset({"--quiet", "-q", "--async", "-r", "-R", "-f", "-m", "-a", "--recursive"}),
    where=(("--project", " in project {}"),),
    context=(("gcloud.project", " in project {}"),),
    default="",
)  # fmt: skip
_AZ = _Cli(
    valued=frozenset({
        "--subscription", "-g", "--resource-group", "-n", "--name", "-s", "--server",
        "--account-name", "--output", "-o", "--query", "--ids", "--vault-name",
        "--cluster-name",
    }),
    listed=frozenset(),
    flags=frozenset({"--yes", "-y", "--no-wait", "--verbose",
                     "--debug", "--only-show-errors"}),
    where=(("-g", " in resource group {}"), ("--resource-group", " in resource group {}"),
           ("--subscription", ", subscription {}")),
    context=(("azure.subscription", ", subscription {}"),),
    default="",
)  # fmt: skip
_CLIS = {"aws": _AWS, "gcloud": _GCLOUD, "gsutil": _GCLOUD, "az": _AZ}

# program, the command's words, the template (the first row that matches wins; a row
# that ends in "+" needs its flag: "--recursive+" only when --recursive is given)
_TITLES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("aws", ("s3", "rm", "--recursive+"), "Delete everything under <*>"),
    ("aws", ("s3", "rm"), "Delete <*>"),
    ("aws", ("s3", "rb", "--force+"), "Delete the bucket <1> and everything in it"),
    ("aws", ("s3", "rb"), "Delete the bucket <1>"),
    ("aws", ("s3", "sync", "--delete+"), "Sync <1> to <2>, deleting what <1> lacks"),
    ("aws", ("s3", "mv"), "Move <1> to <2>"),
    ("aws", ("s3", "cp"), "Copy <1> to <2>"),
    ("aws", ("s3", "sync"), "Sync <1> to <2>"),
    ("aws", ("s3api", "delete-bucket"), "Delete the bucket <--bucket>"),
    ("aws", ("s3api", "delete-object"), "Delete <--key> from the bucket <--bucket>"),
    ("aws", ("s3api", "delete-objects"), "Delete objects from the bucket <--bucket>"),
    ("aws", ("rds", "delete-db-instance", "--skip-final-snapshot+"),
     "Delete the RDS database <--db-instance-identifier> and skip its final snapshot"),
    ("aws", ("rds", "delete-db-instance"), "Delete the RDS database <--db-instance-identifier>"),
    ("aws", ("rds", "delete-db-cluster"), "Delete the RDS cluster <--db-cluster-identifier>"),
    ("aws", ("rds", "reboot-db-instance"), "Reboot the RDS database <--db-instance-identifier>"),
    ("aws", ("rds", "modify-db-instance"), "Change the RDS database <--db-instance-identifier>"),
    ("aws", ("rds", "delete-db-snapshot"), "Delete the RDS snapshot <--db-snapshot-identifier>"),
    ("aws", ("ec2", "terminate-instances"), "Terminate the EC2 instances <--instance-ids>"),
    ("aws", ("ec2", "stop-instances"), "Stop the EC2 instances <--instance-ids>"),
    ("aws", ("ec2", "reboot-instances"), "Reboot the EC2 instances <--instance-ids>"),
    ("aws", ("ec2", "delete-volume"), "Delete the EBS volume <--volume-id>"),
    ("aws", ("ec2", "delete-snapshot"), "Delete the EBS snapshot <--snapshot-id>"),
    ("aws", ("ec2", "delete-security-group"), "Delete the security group <--group-id>"),
    ("aws", ("dynamodb", "delete-table"), "Delete the DynamoDB table <--table-name>"),
    ("aws", ("lambda", "delete-function"), "Delete the Lambda function <--function-name>"),
    ("aws", ("cloudformation", "delete-stack"),
     "Delete the CloudFormation stack <--stack-name> and what it made"),
    ("aws", ("iam", "delete-user"), "Delete the IAM user <--user-name>"),
    ("aws", ("iam", "delete-role"), "Delete the IAM role <--role-name>"),
    ("aws", ("eks", "delete-cluster"), "Delete the EKS cluster <--name>"),
    ("aws", ("ecr", "delete-repository"), "Delete the ECR repository <--repository-name>"),
    ("aws", ("secretsmanager", "delete-secret"), "Delete the secret <--secret-id>"),
    ("gcloud", ("compute", "instances", "delete"), "Delete the Compute Engine instance <*>"),
    ("gcloud", ("compute", "instances", "stop"), "Stop the Compute Engine instance <*>"),
    ("gcloud", ("compute", "disks", "delete"), "Delete the disk <*>"),
    ("gcloud", ("sql", "instances", "delete"), "Delete the Cloud SQL instance <1>"),
    ("gcloud", ("sql", "databases", "delete"),
     "Delete the database <1> on the Cloud SQL instance <--instance>"),
    ("gcloud", ("storage", "rm"), "Delete <*>"),
    ("gcloud", ("storage", "buckets", "delete"), "Delete the bucket <*>"),
    ("gcloud", ("container", "clusters", "delete"), "Delete the GKE cluster <1>"),
    ("gcloud", ("projects", "delete"), "Delete the project <1> and everything in it"),
    ("gcloud", ("run", "services", "delete"), "Delete the Cloud Run service <1>"),
    ("gsutil", ("rm",), "Delete <*>"),
    ("gsutil", ("rb",), "Delete the bucket <*>"),
    ("az", ("group", "delete"), "Delete the resource group <-n|--name> and everything in it"),
    ("az", ("vm", "delete"), "Delete the VM <-n|--name>"),
    ("az", ("vm", "stop"), "Stop the VM <-n|--name>"),
    ("az", ("sql", "db", "delete"), "Delete the SQL database <-n|--name> on <-s|--server>"),
    ("az", ("sql", "server", "delete"), "Delete the SQL server <-n|--name>"),
    ("az", ("storage", "account", "delete"), "Delete the storage account <-n|--name>"),
    ("az", ("storage", "container", "delete"),
     "Delete the container <-n|--name> of the storage account <--account-name>"),
    ("az", ("aks", "delete"), "Delete the AKS cluster <-n|--name>"),
    ("az", ("webapp", "delete"), "Delete the web app <-n|--name>"),
    ("az", ("keyvault", "delete"), "Delete the key vault <-n|--name>"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Read:
    positional: tuple[str, ...]
    options: dict[str, str]
    flags: frozenset[str]


def cloud_title(program: str, args: Words, action: Action) -> str:
    """The title for ``program args`` (a cloud CLI's words), or "" (no row, or the
    words cannot be read for sure)."""
    cli = _CLIS.get(program)
    read = _read(args, cli) if cli is not None else None
    if cli is None or read is None:
        return ""
    for name, command, template in _TITLES:
        if name != program:
            continue
        words = tuple(w for w in command if not w.endswith("+"))
        needs = [w[:-1] for w in command if w.endswith("+")]
        if read.positional[: len(words)] != words or any(f not in read.flags for f in needs):
            continue
        phrase = _fill(template, read.positional[len(words) :], read.options)
        return phrase + _where(cli, read.options, action) if phrase else ""
    return ""


def _read(args: Words, cli: _Cli) -> _Read | None:
    positional: list[str] = []
    options: dict[str, str] = {}
    flags: set[str] = set()
    i = 0
    while i < len(args):
        word = args[i]
        i += 1
        if not word.startswith("-") or word == "-":
            positional.append(word)
            continue
        key, eq, value = word.partition("=")
        if eq:
            options[key] = value
        elif key in cli.listed:
            taken = []
            while i < len(args) and not args[i].startswith("-"):
                taken.append(args[i])
                i += 1
            options[key] = ", ".join(taken)
        elif key in cli.valued:
            if i >= len(args):
                return None
            options[key], i = args[i], i + 1
        elif key in cli.flags or i >= len(args) or args[i].startswith("-"):
            flags.add(key)
        else:
            return None  # an unknown option before a word: its value, or a name?
    return _Read(tuple(positional), options, frozenset(flags))


def _fill(template: str, rest: tuple[str, ...], options: dict[str, str]) -> str:
    """``template`` with its slots filled; "" when one has nothing to fill it."""
    out: list[str] = []
    head, _, tail = template.partition("<")
    out.append(head)
    while tail:
        slot, _, after = tail.partition(">")
        value = _slot(slot, rest, options)
        if not value:
            return ""
        out.append(value)
        head, _, tail = after.partition("<")
        out.append(head)
    return "".join(out)


def _slot(slot: str, rest: tuple[str, ...], options: dict[str, str]) -> str:
    if slot == "*":
        return ", ".join(rest)
    if slot.isdigit():
        index = int(slot) - 1
        return rest[index] if index < len(rest) else ""
    return next((options[k] for k in slot.split("|") if options.get(k)), "")


def _where(cli: _Cli, options: dict[str, str], action: Action) -> str:
    said = [template.format(options[key]) for key, template in cli.where if options.get(key)]
    if said:
        return "".join(said)
    for key, template in cli.context:
        value = next((v for k, v in action.context if k.partition("@")[0] == key and v), None)
        if value:
            return template.format(value)
    return cli.default
