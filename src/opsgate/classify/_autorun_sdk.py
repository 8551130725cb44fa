"""API calls in planted code, as the commands that do the same.

A CI step in Python or JavaScript reaches clouds and forges through their SDKs, not
through ``aws`` or ``gh``: ``boto3.resource('s3').Bucket('b').objects.all().delete()``
empties a bucket, ``github.rest.git.deleteRef`` deletes a branch.  The shell
classifier knows the command-line forms, so each such call is written as its
command-line twin and judged like one.  Only calls that destroy or force are
translated (reads and ordinary writes — comments, labels, artifacts — are the
step's business), from literal arguments where the code has them.
"""

from __future__ import annotations

import re
import shlex

__all__ = ["api_commands"]

_MAX_CALLS = 16

# --- GitHub's Octokit (actions/github-script, @actions/github) -----------------------------
_OCTOKIT = re.compile(r"\b(?:github|octokit)(?:\.rest)?\.(\w+)\.(\w+)\s*\(\s*(\{[^}]*\})?")
_OCTOKIT_REQUEST = re.compile(r"""\.request\(\s*['"`](DELETE|PUT|PATCH)\s+(/[^'"`\s]+)""")
# Calls that delete what is hard to get back (branches, repositories, releases,
# protections, environments, packages, secrets), by ``namespace.method``.
_OCTOKIT_DESTROYS = {
    "repos.delete": "",
    "repos.deleteBranchProtection": "branches/BRANCH/protection",
    "repos.deleteAdminBranchProtection": "branches/BRANCH/protection/enforce_admins",
    "repos.deleteRelease": "releases/ID",
    "repos.deleteAnEnvironment": "environments/NAME",
    "repos.deleteFile": "contents/PATH",
    "repos.deleteDeployment": "deployments/ID",
    "actions.deleteRepoSecret": "actions/secrets/NAME",
    "actions.deleteEnvironmentSecret": "environments/NAME/secrets/NAME",
    "packages.deletePackageForOrg": "packages/NAME",
    "packages.deletePackageForUser": "packages/NAME",
    "packages.deletePackageForAuthenticatedUser": "packages/NAME",
    "packages.deletePackageVersionForOrg": "packages/NAME/versions/ID",
}
_LITERAL = r"""\s*:\s*['"`]([^'"`]+)['"`]"""


def _octokit(code: str) -> list[str]:
    out = []
    for match in _OCTOKIT.finditer(code):
        method = f"{match.group(1)}.{match.group(2)}"
        params = match.group(3) or ""
        ref = re.search(r"\bref" + _LITERAL, params)
        if method == "git.deleteRef":
            branch = ref.group(1).removeprefix("refs/").removeprefix("heads/") if ref else "BRANCH"
            out.append(shlex.join(["git", "push", "origin", "--delete", branch]))
        elif method == "git.updateRef" and re.search(r"\bforce\s*:\s*true", params):
            branch = ref.group(1).removeprefix("refs/").removeprefix("heads/") if ref else "BRANCH"
            out.append(shlex.join(["git", "push", "--force", "origin", f"HEAD:{branch}"]))
        elif method in _OCTOKIT_DESTROYS:
            path = "/".join(p for p in ("repos/OWNER/REPO", _OCTOKIT_DESTROYS[method]) if p)
            out.append(shlex.join(["gh", "api", "-X", "DELETE", path]))
    for match in _OCTOKIT_REQUEST.finditer(code):
        path = match.group(2).lstrip("/").replace("{owner}", "OWNER").replace("{repo}", "REPO")
        if match.group(1) == "DELETE" or re.search(r"/(protection|visibility)\b", path):
            out.append(shlex.join(["gh", "api", "-X", match.group(1), path]))
    return out


# --- cloud and cluster SDKs in Python -------------------------------------------------------
_DESTROYING = re.compile(
    r"\.(delete\w*|terminate\w*|purge\w*|destroy\w*|deregister\w*|remove_\w+|drop\w*)\s*\("
    r"([^()]*)"
)
_STRINGS = re.compile(r"""['"]([^'"\s]{1,200})['"]""")
_BOTO_SERVICE = re.compile(r"""boto3\.(?:client|resource)\(\s*['"]([\w-]+)['"]""")
_S3_BUCKET = re.compile(r"""\bBucket(?:\(\s*|\s*=\s*)['"]([^'"\s]+)['"]""")
_K8S_OBJECT = re.compile(r"delete_(?:namespaced_|collection_namespaced_)?(\w+)")


def _python(code: str) -> list[str]:
    if "boto3" in code:
        return _boto(code)
    if "kubernetes" in code:
        return _kubernetes(code)
    return []


def _boto(code: str) -> list[str]:
    services = _BOTO_SERVICE.findall(code) or ["UNKNOWN"]
    buckets = _S3_BUCKET.findall(code)
    out = []
    for match in _DESTROYING.finditer(code):
        method, args = match.group(1), _STRINGS.findall(match.group(2))
        if "s3" in services and (buckets or method in ("delete", "delete_objects")):
            for bucket in buckets or ["BUCKET"]:
                out.append(shlex.join(["aws", "s3", "rm", f"s3://{bucket}", "--recursive"]))
            continue
        verb = method.replace("_", "-")
        for service in services:
            out.append(shlex.join(["aws", service, verb if "-" in verb else f"{verb}-resources",
                                   *args[:3]]))  # fmt: skip
    return out


def _kubernetes(code: str) -> list[str]:
    out = []
    for match in _DESTROYING.finditer(code):
        kind = _K8S_OBJECT.fullmatch(match.group(1))
        if kind is None:
            continue
        args = _STRINGS.findall(match.group(2))
        out.append(shlex.join(["kubectl", "delete", kind.group(1), *args[:1]]))
    return out


def api_commands(code: str, lang: str) -> list[str]:
    """The command-line twins of the destroying API calls in ``code``."""
    if lang == "node":
        found = _octokit(code) if ("github" in code or "octokit" in code) else []
    elif lang == "python":
        found = _python(code)
    else:
        return []
    return list(dict.fromkeys(found))[:_MAX_CALLS]
