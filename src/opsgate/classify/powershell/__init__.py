"""PowerShell classification on a real grammar (tree-sitter-powershell).

Only what would execute is judged: commands in pipelines and statement lists,
script blocks, ``$(...)`` inside double-quoted strings, and payloads handed to
``Invoke-Expression``, ``powershell -Command``/``-EncodedCommand``, ``cmd /c``,
``wsl`` and ``Start-Process``.  Strings, comments and here-strings are data.
Cmdlets are judged by approved-verb tables with noun overrides (``_tables``);
native programs go to the same family handlers as in bash, and Linux commands
run through WSL go to the bash classifier.

Modules: ``_parse`` (grammar, recovery), ``_values`` (arguments and calls),
``_paths`` (Windows paths and zones), ``_walk`` (the walker), ``_rules`` and
``_rules_ops`` (cmdlets), ``_cmdexe`` (cmd.exe, nested PowerShell, WSL),
``_wintools`` (Windows programs), ``_dotnet`` (.NET and COM calls), ``_tables``.
"""

from __future__ import annotations

from opsgate.classify.powershell._parse import parse
from opsgate.classify.powershell._values import PsArg, PsCall, Vars, native_command, parse_call
from opsgate.classify.powershell._walk import classify_powershell

__all__ = [
    "PsArg",
    "PsCall",
    "Vars",
    "classify_powershell",
    "native_command",
    "parse",
    "parse_call",
]
