"""Cloud and cluster SDK calls in Python and JavaScript, judged like the CLI.

``python3 -c "import boto3; boto3.client('s3').delete_bucket(Bucket='b')"`` does what
``aws s3api delete-bucket --bucket b`` does, and ``./bin/rotate`` (Python by its
``#!``) may empty a bucket through ``Bucket('b').objects.all().delete()``.  Code that
loads a cloud or cluster SDK is read for its calls:

- a call that destroys (``delete_*``, ``terminate_*``, ``objects.all().delete()``) is
  written as its command-line twin (``_autorun_sdk``) and judged as that command;
- any other call named for a change (``create_*``, ``put_*``, ``update_*``,
  ``run_instances``, ``upload_file``, AWS SDK v3's ``new PutObjectCommand``) is a
  cloud write, which needs a person like ``aws s3 cp`` does;
- reads (``get_*``, ``list_*``, ``describe_*``, ``download_file``) change nothing,
  except those that return a secret's value (``get_secret_value``,
  ``access_secret_version``, ``read_namespaced_secret``, ``GetSecretValueCommand``,
  SSM parameters read ``WithDecryption``): each is written as the command that prints
  the same secret (``aws secretsmanager get-secret-value``, ``gcloud secrets versions
  access``, ``kubectl get secret -o yaml``) and judged as that secret read.

Forge SDKs (PyGithub, python-gitlab, Octokit) count only for what destroys or
forces, as ``gh issue create`` is routine and ``gh api -X DELETE`` is not.  Code that
puts a fake in the cloud's place (moto, a Stubber, a mock patch, LocalStack) is a
test of SDK code and reaches nothing.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from opsgate.models import Effect, Finding, Impact

__all__ = ["sdk_findings"]

_PY_SDK = re.compile(
    r"^\s*(?:import|from)\s+(boto3|botocore|aioboto3|google\.cloud|googleapiclient|"
    r"azure\.\w+|kubernetes|openstack|hcloud|pydo|digitalocean|linode_api4|oci|"
    r"pulumi_\w+|github|gitlab)\b",
    re.MULTILINE,
)
_JS_SDK = re.compile(
    r"""(?:require\(\s*|from\s+|import\s*\(\s*)['"](@aws-sdk/[\w-]+|aws-sdk|@google-cloud/"""
    r"""[\w-]+|googleapis|@azure/[\w-]+|@kubernetes/client-node|@octokit/[\w-]+|"""
    r"""@pulumi/[\w-]+)['"]"""
)
_CHANGE = (
    "create|put|update|modify|start|stop|reboot|run|invoke|publish|send|upload|copy|"
    "restore|revoke|authorize|attach|detach|associate|disassociate|replace|set|add|"
    "register|enable|disable|import|reset|scale|patch|tag|untag|change|apply|execute|"
    "rotate|promote|failover|reset|resize|insert|batch_write|write"
)
_DESTROY = "delete|terminate|purge|destroy|deregister|remove|drop|empty"
# Python: snake_case methods named for a change (``put_object``, ``run_instances``),
# and the few single-word ones the SDKs use (``Object.put()``, ``lambda invoke``).
# Bare ``remove``/``drop`` are list and DataFrame methods: only ``remove_*``/``drop_*``.
# Azure's long-running operations start with ``begin_`` (``begin_delete``).
_PY_CALL = re.compile(
    rf"\.((?:{_CHANGE})_\w+|put|invoke|publish|upload_from_\w+|patch|insert"
    rf"|begin_(?!(?:{_DESTROY}))\w+)\s*\("
)
_PY_DESTROY = re.compile(
    rf"\.((?:begin_)?(?:{_DESTROY})_\w+|(?:begin_)?(?:delete|terminate|purge|destroy))\s*\("
)
# JavaScript: camelCase methods (``putObject``) and v3 commands (``new PutObjectCommand``).
_JS_CALL = re.compile(rf"\.((?:{_CHANGE.replace('_', '')})[A-Z]\w*)\s*\(")
_JS_DESTROY = re.compile(rf"\.((?:{_DESTROY})[A-Z]\w*)\s*\(")
_JS_COMMAND = re.compile(
    rf"\bnew\s+((?:{'|'.join(w.capitalize() for w in _CHANGE.split('|'))})\w*Command)\s*\("
)
_JS_DESTROY_COMMAND = re.compile(
    rf"\bnew\s+((?:{'|'.join(w.capitalize() for w in _DESTROY.split('|'))})\w*Command)\s*\("
)
_MAX_CALLS = 8
# Calls that return a secret's value, by SDK method or command name: the command that
# prints the same secret, and what else must hold.  SSM parameters are secrets only
# read with decryption (``WithDecryption=True``, as ``aws ssm get-parameter
# --with-decryption``); ``get_secret`` returns the value in Azure Key Vault's SDK, and
# only metadata in Google Secret Manager's.
_SM = ("aws", "secretsmanager", "get-secret-value", "--secret-id", "{0}")
_SSM = ("aws", "ssm", "get-parameter", "--name", "{0}", "--with-decryption")
_GCP = ("gcloud", "secrets", "versions", "access", "latest", "--secret={0}")
_AZURE = ("az", "keyvault", "secret", "show", "--vault-name", "VAULT", "--name", "{0}")
_K8S_ONE = ("kubectl", "get", "secret", "{0}", "-o", "yaml")
_K8S_ALL = ("kubectl", "get", "secrets", "--all-namespaces", "-o", "yaml")
_DECRYPTED = re.compile(r"\bWithDecryption\b\s*[=:]\s*(?:True|true)\b")
_KEY_VAULT = re.compile(r"azure\.keyvault\.secrets|@azure/keyvault-secrets")
_ALWAYS = re.compile("")
_Read = tuple[tuple[str, ...], re.Pattern[str], re.Pattern[str]]  # words, in args, in code
_SECRET_READS: dict[str, _Read] = {
    **dict.fromkeys(("get_secret_value", "batch_get_secret_value", "getSecretValue",
                     "GetSecretValueCommand", "BatchGetSecretValueCommand"),
                    (_SM, _ALWAYS, _ALWAYS)),
    **dict.fromkeys(("get_parameter", "get_parameters", "get_parameters_by_path",
                     "getParameter", "getParameters", "getParametersByPath", "GetParameterCommand",
                     "GetParametersCommand", "GetParametersByPathCommand"),
                    (_SSM, _DECRYPTED, _ALWAYS)),
    **dict.fromkeys(("access_secret_version", "accessSecretVersion"), (_GCP, _ALWAYS, _ALWAYS)),
    **dict.fromkeys(("get_secret", "getSecret"), (_AZURE, _ALWAYS, _KEY_VAULT)),
    **dict.fromkeys(("read_namespaced_secret", "readNamespacedSecret"),
                    (_K8S_ONE, _ALWAYS, _ALWAYS)),
    **dict.fromkeys(("list_namespaced_secret", "list_secret_for_all_namespaces",
                     "listNamespacedSecret", "listSecretForAllNamespaces"),
                    (_K8S_ALL, _ALWAYS, _ALWAYS)),
}  # fmt: skip
_SECRET_CALL = re.compile(rf"(?<![\w$])({'|'.join(_SECRET_READS)})\s*\(([^()]*)")
_FIRST_STRING = re.compile(r"""['"`]([^'"`\s$]{1,200})['"`]""")
# A fake in place of the cloud: moto's decorators and context managers, botocore's
# Stubber, unittest.mock/pytest-mock patches, LocalStack and other loopback
# endpoints, Jest mocks and aws-sdk-client-mock.  Tests that exercise SDK code this way
# (``@mock_aws def test_upload(): s3.create_bucket(…)``) reach nothing.
_MOCKED = re.compile(
    r"@mock_\w+|\bmock_aws\s*\(|\bwith\s+mock_\w+|\bStubber\s*\(|\bpatch(?:\.object)?\s*\("
    r"|\bmocker\.patch|\bMagicMock\s*\(|\bjest\.mock\s*\(|\bmockClient\s*\(|"
    r"\bendpoint_url\s*=\s*['\"]https?://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|localstack)|"
    r"\bendpoint\s*:\s*['\"]https?://(?:localhost|127\.0\.0\.1|localstack)"
)
# Forge SDKs: only their destroying calls count (``_autorun_sdk``), as for ``gh``.
_FORGES = ("github", "gitlab", "@octokit/")


def sdk_findings(lang: str, code: str, shell: Callable[[str], list[Finding]]) -> list[Finding]:
    """Findings for the cloud/cluster SDK calls in ``code`` (``python`` or ``node``)."""
    if lang == "python":
        sdk = _PY_SDK.search(code)
        calls, destroys = [_PY_CALL], [_PY_DESTROY]
    elif lang == "node":
        sdk = _JS_SDK.search(code)
        calls, destroys = [_JS_CALL, _JS_COMMAND], [_JS_DESTROY, _JS_DESTROY_COMMAND]
    else:
        return []
    if sdk is None or _MOCKED.search(code):
        return []
    from opsgate.classify._autorun_sdk import api_commands

    name = sdk.group(1)
    findings: list[Finding] = []
    twins = api_commands(code, lang)
    secrets = [] if name.startswith(_FORGES) else _secret_reads(code)
    for twin in [*twins, *secrets]:
        findings += shell(twin)  # ``aws s3 rm s3://b --recursive``: judged as the command
    if name.startswith(_FORGES):
        return findings  # issues, comments, pull requests: routine, as ``gh issue create``
    if not twins:
        for method in _methods(destroys, code):
            reason = f"calls {method} through {name}, which deletes cloud or cluster resources"
            findings.append(_finding("cloud.delete", Impact.DESTRUCTIVE, name, method, reason))
    for method in _methods(calls, code):
        reason = f"calls {method} through {name}, which changes cloud or cluster resources"
        findings.append(_finding("cloud.write", Impact.CAUTION, name, method, reason))
    return findings


def _secret_reads(code: str) -> list[str]:
    """The commands that print the secrets ``code`` reads through an SDK."""
    out = []
    for m in _SECRET_CALL.finditer(code):
        words, in_args, in_code = _SECRET_READS[m.group(1)]
        if not (in_args.search(m.group(2)) and in_code.search(code)):
            continue
        name = _FIRST_STRING.search(m.group(2))
        out.append(shlex.join(w.format(name.group(1) if name else "NAME") for w in words))
    return list(dict.fromkeys(out))[:_MAX_CALLS]


def _methods(patterns: list[re.Pattern[str]], code: str) -> list[str]:
    found = [m.group(1) for p in patterns for m in p.finditer(code)]
    return list(dict.fromkeys(found))[:_MAX_CALLS]


def _finding(category: str, impact: Impact, sdk: str, method: str, reason: str) -> Finding:
    return Finding(category, impact, Effect.WRITE, f"{sdk} {method}(…)", reason, f"{sdk} API")
