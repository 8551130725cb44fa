"""Data tables for the PowerShell classifier: aliases, approved-verb effects,
nouns that only touch the agent's own session, and the places and names that
matter (system paths, secret files, secret-looking variable names).

Everything is lower-case; lookups lower-case their key first.
"""

from __future__ import annotations

import re

from opsgate.models import Effect, Impact

__all__ = [
    "ALIASES",
    "DESTRUCTIVE_NOUNS",
    "DOMAINS",
    "LOCAL_CMDLETS",
    "LOCAL_NOUNS",
    "METADATA_HOSTS",
    "NAMES_ONLY_PROPERTIES",
    "OUTPUT_CMDLETS",
    "PASSTHROUGH_CMDLETS",
    "PROTECTED_WRITE_SUFFIXES",
    "READ_VERBS",
    "SECRET_ENV_NAME",
    "SECRET_FILE",
    "SHELLS",
    "SWITCHES",
    "SYSTEM_DIRS",
    "SYSTEM_PROCESSES",
    "VALUED_PARAMS",
    "VERBS",
    "WRITE_CMDLETS",
]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Built-in aliases of Windows PowerShell 5.1 and PowerShell 7 (curl/wget are
# aliases in 5.1 only; treating them as Invoke-WebRequest is the stricter reading
# because its method rules are the same as curl's).
ALIASES: dict[str, str] = {
    **dict.fromkeys(("rm", "del", "erase", "ri", "rd", "rmdir"), "remove-item"),
    **dict.fromkeys(("gc", "cat", "type"), "get-content"),
    "sc": "set-content",
    "ac": "add-content",
    "clc": "clear-content",
    "cli": "clear-item",
    "clp": "clear-itemproperty",
    "sp": "set-itemproperty",
    "rp": "remove-itemproperty",
    "si": "set-item",
    "iex": "invoke-expression",
    "icm": "invoke-command",
    "ii": "invoke-item",
    **dict.fromkeys(("iwr", "curl", "wget"), "invoke-webrequest"),
    "irm": "invoke-restmethod",
    "spsv": "stop-service",
    "sasv": "start-service",
    **dict.fromkeys(("kill", "spps"), "stop-process"),
    **dict.fromkeys(("saps", "start"), "start-process"),
    "sajb": "start-job",
    **dict.fromkeys(("ls", "dir", "gci"), "get-childitem"),
    **dict.fromkeys(("mv", "move", "mi"), "move-item"),
    **dict.fromkeys(("cp", "copy", "cpi"), "copy-item"),
    **dict.fromkeys(("ren", "rni"), "rename-item"),
    "ni": "new-item",
    **dict.fromkeys(("md", "mkdir"), "new-item"),
    "gi": "get-item",
    "gp": "get-itemproperty",
    **dict.fromkeys(("gps", "ps"), "get-process"),
    "gsv": "get-service",
    **dict.fromkeys(("echo", "write"), "write-output"),
    **dict.fromkeys(("cd", "chdir", "sl"), "set-location"),
    **dict.fromkeys(("pwd", "gl"), "get-location"),
    **dict.fromkeys(("sls",), "select-string"),
    **dict.fromkeys(("select",), "select-object"),
    **dict.fromkeys(("where", "?"), "where-object"),
    **dict.fromkeys(("foreach", "%"), "foreach-object"),
    "sort": "sort-object",
    "measure": "measure-object",
    "tee": "tee-object",
    **dict.fromkeys(("ft",), "format-table"),
    **dict.fromkeys(("fl",), "format-list"),
    "fw": "format-wide",
    "oh": "out-host",
    "gcm": "get-command",
    "gm": "get-member",
    "ghy": "get-history",
    **dict.fromkeys(("h", "history"), "get-history"),
    **dict.fromkeys(("cls", "clear"), "clear-host"),
    "gv": "get-variable",
    "sv": "set-variable",
    "set": "set-variable",
    "nv": "new-variable",
    "rv": "remove-variable",
    "sal": "set-alias",
    "nal": "new-alias",
    "ipmo": "import-module",
    "rjb": "remove-job",
    "rcjb": "receive-job",
    "gjb": "get-job",
    "wjb": "wait-job",
    "sleep": "start-sleep",
    "epal": "export-alias",
    "epcsv": "export-csv",
    "ipcsv": "import-csv",
    "fhx": "format-hex",
    "rvpa": "resolve-path",
    "gdr": "get-psdrive",
    "ndr": "new-psdrive",
    "rdr": "remove-psdrive",
    "etsn": "enter-pssession",
    "nsn": "new-pssession",
    "gwmi": "get-wmiobject",
    "rwmi": "remove-wmiobject",
    "swmi": "set-wmiinstance",
    "iwmi": "invoke-wmimethod",
    "gcim": "get-ciminstance",
    "rcim": "remove-ciminstance",
    "icim": "invoke-cimmethod",
}

# Effect of an approved verb when its noun is NOT one of LOCAL_NOUNS, i.e. when it
# acts on the machine, a service, a directory or a cloud.  Verbs missing from this
# table are not approved verbs: UNKNOWN.
_W = (Effect.WRITE, Impact.CAUTION)
_D = (Effect.WRITE, Impact.DESTRUCTIVE)
_R = (Effect.READ, Impact.SAFE)
READ_VERBS = frozenset(
    _words(
        "get find search select show measure test trace resolve ping compare convert "
        "convertfrom convertto format group join split out write read receive watch wait "
        "debug confirm assert limit skip step exit hide use where sort foreach tee import "
        "export open close enter"
    )
)
VERBS: dict[str, tuple[Effect, Impact]] = {
    **dict.fromkeys(READ_VERBS, _R),
    **dict.fromkeys(
        _words(
            "add set new copy move rename enable disable start stop restart suspend resume "
            "install register unregister update edit grant revoke block unblock protect "
            "unprotect lock unlock connect disconnect send publish unpublish deploy invoke "
            "mount dismount sync merge optimize repair resize backup checkpoint submit "
            "request approve deny complete save switch redo undo compress expand "
            "push pop"
        ),
        _W,
    ),
    **dict.fromkeys(_words("remove clear reset uninstall initialize restore"), _D),
    # Build makes an artifact from input files: the developer's own workspace.
    "build": (Effect.LOCAL, Impact.SAFE),
}

# Cmdlets of the developer's own build and test tooling: they run the project's
# tests, builds, linters and formatters, like ``npm test`` or ``make`` in bash.
LOCAL_CMDLETS = frozenset(
    _words(
        "invoke-pester invoke-build invoke-psake invoke-scriptanalyzer invoke-formatter "
        "invoke-gherkin invoke-plaster invoke-msbuild invoke-dotnet invoke-nuke "
        "invoke-cake invoke-platyps new-markdownhelp update-markdownhelp new-externalhelp "
        "start-pester new-temporaryfile"
    )
)

# Nouns whose verbs only change the agent's own session or workspace.  Path-based
# nouns (item, content, …) are judged by their path elsewhere; these are the rest.
LOCAL_NOUNS = frozenset(
    _words(
        "location variable alias psdrive job threadjob sleep transcript archive module "
        "object member type host output error verbose debug warning information progress "
        "path culture clipboard random unique psreadlineoption psdebug strictmode "
        "psbreakpoint history formatdata typedata event timespan guid credential filehash "
        "csv json xml html securestring string expression command help pssession "
        "table list wide custom hex childitem item itemproperty content location "
        "psprovider pscallstack uiculture tracesource markdown clixml stack psrepository "
        "installedmodule psresource installedpsresource"
    )
)

# Cmdlets that write the path they are given (judged by that path).
WRITE_CMDLETS = _words(
    "set-content add-content clear-content out-file set-item clear-item new-item export-csv "
    "export-clixml tee-object compress-archive expand-archive set-acl new-itemproperty "
    "set-itemproperty remove-itemproperty clear-itemproperty rename-itemproperty"
)

# Cmdlets judged by what runs inside them (script blocks are walked where they stand).
PASSTHROUGH_CMDLETS = _words(
    "start-job start-threadjob foreach-object where-object invoke-item import-module new-pssession"
)

SHELLS = frozenset({"powershell", "pwsh", "powershell_ise"})

# Noun prefixes → the domain a state change belongs to (for categories).
DOMAINS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("mppreference", "netfirewall", "executionpolicy", "bitlocker", "tpm"), "security"),
    (("az", "aws", "ec2", "s3", "iam", "gce", "gcs", "gcp", "mg", "rds", "lm", "cf"), "cloud"),
    (("ad", "localuser", "localgroup", "mailbox", "msol", "exo", "distributiongroup"), "identity"),
    (("service", "web", "website", "webapppool", "scheduledtask", "cluster"), "service"),
    (("computer", "restartcomputer"), "system"),
    (("disk", "volume", "partition", "physicaldisk", "virtualdisk", "storagepool"), "disk"),
    (("net", "dns", "dhcp", "vpn"), "network"),
    (("sql", "db"), "database"),
    (("vm", "container"), "vm"),
)

# Noun overrides: state changes on these are always destructive.
DESTRUCTIVE_NOUNS = frozenset(_words("volume disk partition physicaldisk virtualdisk storagepool"))

# Cmdlets whose job is to show their input; a secret value reaching them is shown.
OUTPUT_CMDLETS = frozenset(
    _words(
        "write-output write-host write-information write-verbose write-warning write-debug "
        "write-error out-host out-string out-default format-table format-list format-wide "
        "format-custom set-clipboard tee-object convertto-json convertto-csv out-gridview "
        "select-object sort-object export-csv"
    )
)

# Select-Object / Format-* properties that show only names, not values.
NAMES_ONLY_PROPERTIES = frozenset({"name", "key", "pspath", "length", "count"})

# Switch parameters common enough that the token after them is positional.
SWITCHES = frozenset(
    _words(
        "recurse force whatif confirm verbose debug asplaintext usebasicparsing passthru "
        "noprofile noninteractive removedata removeoemdata all wait nonewwindow hidden "
        "file directory readonly system asjob nonewline append noclobber "
        "skipcertificatecheck raw expandproperty includeall erroraction"
    )
) - {"expandproperty", "erroraction"}

# Parameters that always take a value, so their value is not a path/positional.
VALUED_PARAMS = frozenset(
    _words(
        "filter include exclude credential erroraction ea warningaction wa errorvariable ev "
        "outvariable ov informationaction ia pipelinevariable pv outbuffer ob stream "
        "itemtype type value encoding tail totalcount first last skip method body headers "
        "contenttype useragent timeoutsec verb windowstyle workingdirectory pattern "
        "property expandproperty depth delimiter startuptype displayname description "
        "newname port filesystem driveletter number logname maxevents newest "
        "resourcegroupname location scope executionpolicy"
    )
)

SECRET_ENV_NAME = re.compile(
    r"(secret|token|passw|pwd$|api_?key|access_?key|private|credential|conn(ection)?_?str"
    r"|auth|_sas|sas_|_pat$|^pat$|dsn$|database_url|_key$|^key$|cookie|session)",
    re.IGNORECASE,
)

# File names whose contents are secret values.  Examples and templates are not.
SECRET_FILE = re.compile(
    r"(^|[\\/])("
    r"\.env(\.(?!example$|sample$|template$|dist$|defaults?$|tmpl$)[\w.-]+)?"
    r"|[^\\/]*credentials?[^\\/]*|id_(rsa|dsa|ecdsa|ed25519)|[^\\/]+\.(pem|key|pfx|p12|kdbx"
    r"|publishsettings|ppk)|\.npmrc|\.pypirc|_?\.?netrc|\.git-credentials|kubeconfig"
    r"|secrets\.json|appsettings\.prod[\w]*\.json|\.pgpass|accesstokens\.json"
    r"|msal_token_cache\.[\w]+"
    r")$|[\\/]\.kube[\\/]config$|[\\/]\.docker[\\/]config\.json$|[\\/]\.ssh[\\/]",
    re.IGNORECASE,
)

# Lower-case prefixes (normalised, backslashes) of directories the machine needs.
SYSTEM_DIRS = (
    "c:\\windows",
    "c:\\program files",
    "c:\\program files (x86)",
    "c:\\programdata",
    "c:\\inetpub",
    "c:\\boot",
    "c:\\recovery",
    "c:\\system volume information",
)

# Places under the user profile where a write changes how the machine or the
# agent behaves (profiles, startup, credentials, agent and guard settings).
PROTECTED_WRITE_SUFFIXES = (
    "\\documents\\powershell",
    "\\documents\\windowspowershell",
    "\\appdata\\roaming\\microsoft\\windows\\start menu\\programs\\startup",
    "\\.ssh",
    "\\.aws",
    "\\.azure",
    "\\.kube",
    "\\.docker",
    "\\.gitconfig",
    "\\.bashrc",
    "\\.profile",
    "\\.claude",
    "\\.codex",
    "\\.gemini",
    "\\.cursor",
    "\\.opsgate",
    "\\appdata\\roaming\\opsgate",
    "\\.config",
    "\\.npmrc",
)

SYSTEM_PROCESSES = frozenset(
    _words(
        "system smss csrss wininit winlogon services lsass lsm svchost spoolsv dwm explorer "
        "msmpeng sqlservr w3wp inetinfo mysqld postgres dockerd com.docker.service vmms "
        "taskhostw fontdrvhost sihost ntoskrnl registry memory compression "
        "securityhealthservice wuauserv"
    )
)

METADATA_HOSTS = frozenset(
    {"169.254.169.254", "metadata.google.internal", "metadata", "169.254.170.2", "fd00:ec2::254"}
)
