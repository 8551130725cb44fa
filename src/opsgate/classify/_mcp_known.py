"""MCP tools opsgate knows by name, as data: server pattern, tool names, what they do.

The verb tables in ``tools`` read a tool's name (``list_*``, ``delete_*``); many
everyday tools say nothing in their names (an IDE's ``getDiagnostics``, the
sequential-thinking server, a browser server's ``browser_snapshot``), and would
otherwise be ``unknown``.  A server's name is the one the user gave it in the agent's
configuration (Playwright may be ``pw``), so servers are matched by pattern, and a
tool whose name alone is distinctive (``browser_take_screenshot``, ``perplexity_ask``)
is matched under any server name (pattern ``None``).  A tool not listed here falls
back to the verb tables, and a tool nothing recognises is ``unknown`` (a person
decides).

Kinds:
    read    reads, looks or thinks; changes nothing (paths in its arguments are still
            checked for credentials files)
    local   changes only the agent's own session state (browser tabs, its memory graph)
    python  runs the ``code`` argument as Python (judged as that code)
    shell   runs the ``command`` argument on this machine (judged as that command)
    env     prints the server's environment (a secret read)
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Literal

from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify._files import FileSource
    from opsgate.classify._tools_files import Shell
    from opsgate.classify.paths import Workspace

__all__ = ["Kind", "known_findings", "known_kind"]

Kind = Literal["read", "local", "python", "shell", "env"]

_BROWSER = r"playwright|puppeteer|browser|chrome|devtools|selenium|webdriver|browserbase"
_TABLE: tuple[tuple[str | None, Kind, str], ...] = (
    # IDE integrations (Claude Code's VS Code/JetBrains bridge is the server "ide").
    (r"^ide$|vscode|jetbrains|intellij|idea|cursor|zed|windsurf", "read",
     "getdiagnostics get_project_problems get_open_in_editor_file_text "
     "get_open_in_editor_files get_file_text_by_path list_directory_tree_in_folder "
     "find_files_by_name_substring search_in_files_content search_in_files_by_text "
     "get_run_configurations get_project_vcs_status get_symbol_info get_file_problems "
     "get_project_modules get_project_dependencies get_all_open_file_paths"),
    (r"^ide$|vscode|jupyter|notebook", "python", "executecode"),
    (r"jetbrains|intellij|idea|serena", "shell", "execute_terminal_command "
     "execute_shell_command"),
    # Thinking aids and time.
    (r"think|sequential|reason", "read", "sequentialthinking sequential_thinking think"),
    (r"time|clock", "read", "get_current_time convert_time"),
    # Memory servers: reads, and notes the agent keeps for itself.
    (r"memory|knowledge|graph|mem0", "read", "read_graph search_nodes open_nodes "
     "search_memory search_memories get_memories"),
    (r"memory|knowledge|graph|mem0", "local", "create_entities create_relations "
     "add_observations add_memory add_memories"),
    # Documentation lookups.
    (r"context7|docs|documentation", "read", "resolve-library-id get-library-docs "
     "query-docs resolve_library_id get_library_docs"),
    # Browser automation: looking at the page, and the session's own tabs and window.
    # Playwright's and Puppeteer's tool names are their own, under whatever name the
    # server was registered; Chrome DevTools' short names need a browser server.
    (None, "read",
     "browser_snapshot browser_take_screenshot browser_console_messages "
     "browser_network_requests browser_wait_for puppeteer_screenshot browser_get_text "
     "browser_get_title browser_get_url"),
    (_BROWSER, "read",
     "take_snapshot take_screenshot list_console_messages get_console_message "
     "list_network_requests get_network_request list_pages performance_analyze_insight"),
    (None, "local",
     "browser_resize browser_close browser_navigate_back browser_navigate_forward "
     "browser_install browser_tabs"),
    (_BROWSER, "local",
     "select_page close_page resize_page emulate_cpu emulate_network emulate "
     "performance_start_trace performance_stop_trace"),
    # Questions to a search or documentation service: an answer comes back, nothing
    # changes (a URL or path in the arguments is still checked).
    (None, "read", "perplexity_ask perplexity_research perplexity_reason perplexity_search "
     "sequentialthinking get-library-docs resolve-library-id read_wiki_structure "
     "read_wiki_contents"),
    (r"wiki|docs|documentation|perplexity", "read", "ask_question ask"),
    # The reference "everything" server's environment dump.
    (r"everything", "env", "printenv print_env"),
    (r"everything", "read", "echo add getTinyImage gettinyimage annotatedmessage "
     "getresourcereference"),
    # Serena's code navigation.
    (r"serena", "read", "find_symbol find_referencing_symbols get_symbols_overview "
     "search_for_pattern list_dir find_file read_memory list_memories "
     "think_about_collected_information think_about_task_adherence "
     "think_about_whether_you_are_done get_current_config check_onboarding_performed"),
    (r"serena", "local", "write_memory"),
)  # fmt: skip
_COMPILED = tuple(
    (None if s is None else re.compile(s, re.I), kind, frozenset(t.lower().split()))
    for s, kind, t in _TABLE
)


def known_kind(server: str, tool: str) -> Kind | None:
    """What a known tool of a server does, or None when opsgate does not know it."""
    for pattern, kind, tools in _COMPILED:
        if tool in tools and (pattern is None or pattern.search(server)):
            return kind
    return None


def known_findings(
    kind: Kind,
    tool: str,
    server: str,
    args: dict[str, Any],
    ws: Workspace,
    cwd: str | None,
    shell: Shell,
    files: FileSource,
) -> list[Finding]:
    """The findings for a known tool, by its kind."""
    from opsgate.classify._tools_files import _f, _python_as_shell, classify_file_tool

    evidence = f"mcp__{server}__{tool} {json.dumps(args, sort_keys=True, default=str)[:160]}"
    if kind == "env":
        reason = f"{tool} prints the {server} server's environment, secrets included"
        return [_f("secrets.env_dump", Impact.CAUTION, Effect.SECRET, evidence, reason)]
    if kind in ("python", "shell"):
        code = args.get("code" if kind == "python" else "command")
        if not isinstance(code, str):
            reason = f"{tool} runs code opsgate cannot see"
            return [_f("unknown", Impact.CAUTION, Effect.UNKNOWN, evidence, reason)]
        script = _python_as_shell(code) if kind == "python" else code
        if script is None:
            reason = f"{tool} runs code opsgate cannot read"
            return [_f("unknown", Impact.CAUTION, Effect.UNKNOWN, evidence, reason)]
        return shell(script, None) or [
            _f("mcp.read", Impact.SAFE, Effect.READ, evidence, f"{tool} runs read-only code")
        ]
    for path in _paths(args):
        found = classify_file_tool("Read", {"file_path": path}, ws, cwd, shell, files=files)
        if any(f.effect is Effect.SECRET for f in found):
            return found
    if kind == "local":
        reason = f"{tool} changes only the agent's own {server} session"
        return [_f("mcp.local", Impact.SAFE, Effect.LOCAL, evidence, reason)]
    return [_f("mcp.read", Impact.SAFE, Effect.READ, evidence, f"{tool} reads from {server}")]


def _paths(args: dict[str, Any]) -> list[str]:
    """File paths in a tool's arguments (``path``, ``filePath``, ``uri`` …)."""
    out: list[str] = []
    for key, value in args.items():
        if not isinstance(value, str) or not re.search(r"path|file|uri|dir", key, re.I):
            continue
        out.append(value[len("file://") :] if value.startswith("file://") else value)
    return out
