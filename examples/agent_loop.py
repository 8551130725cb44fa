"""A tool-calling agent loop gated by opsgate (docs/sdk.md).

The model is scripted here, so the example runs anywhere; with a real LLM, the
tool calls come from its responses instead and the results go back into its
messages — the gating is the same.  Every tool is a plain function behind
``@gate.gated``: opsgate sees what the call would do and answers at once.  Reads
run; a secret read is denied (and the model is told why); a restart needs a
person, so the loop shows the card's link and — a program, unlike a hook, may
wait — blocks until someone decides, then calls the tool again, once.

Run against a control plane (an agent token from ``opsgate tokens create NAME``):

    OPSGATE_URL=http://127.0.0.1:8470 OPSGATE_TOKEN=og_… python examples/agent_loop.py

``--wait 0`` reports the card and moves on instead of waiting.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

from opsgate import ActionDenied, ApprovalRequired, CardTimeout, Gate

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--wait", type=float, default=300, help="seconds to wait for a person")
parser.add_argument(
    "--log", type=Path, default=Path("agent-actions.log"), help="what the stand-in infra was asked"
)
args = parser.parse_args()

gate = Gate()  # OPSGATE_URL and OPSGATE_TOKEN; without them, the local policy alone


def record(line: str) -> None:
    """Stands in for your infrastructure API: appends what would have been done."""
    with args.log.open("a") as log:
        log.write(line + "\n")


@gate.gated("ls -la {path}")
def list_files(path: str) -> str:
    return "\n".join(sorted(p.name for p in Path(path).iterdir())[:20])


@gate.gated(lambda path: {"tool": "Read", "input": {"file_path": path}})
def read_file(path: str) -> str:
    return Path(path).expanduser().read_text()[:2000]


@gate.gated("ssh {host} sudo systemctl restart {service}")
def restart_service(host: str, service: str) -> str:
    record(f"restart {service} on {host}")
    return f"{service} restarted on {host}"


TOOLS: dict[str, Callable[..., str]] = {
    "list_files": list_files,
    "read_file": read_file,
    "restart_service": restart_service,
}


def scripted_model() -> Generator[dict[str, Any], str, None]:
    """The tool calls a model would make while fixing a 502; it reads each result."""
    result = yield {"tool": "list_files", "arguments": {"path": "."}}
    result = yield {"tool": "read_file", "arguments": {"path": "~/.ssh/id_rsa"}}
    result = yield {"tool": "restart_service",
                    "arguments": {"host": "web-staging", "service": "nginx"}}  # fmt: skip
    print(f"model: done ({result[:60]!r})")


def call(name: str, arguments: dict[str, Any]) -> str:
    """One tool call through the gate; what comes back is what the model reads."""
    tool = TOOLS[name]
    try:
        return tool(**arguments)
    except ActionDenied as denied:
        return f"opsgate denied this: {denied.message}"
    except ApprovalRequired as needed:
        card = needed.card
        assert card is not None
        print(f"  waiting for a person to approve: {card.link}")
        if args.wait <= 0:
            return f"needs approval on card {card.id}; not run"
        try:
            gate.wait_for(card, timeout=args.wait)
        except (ActionDenied, CardTimeout) as refused:
            return f"not run: {refused.message}"
        return tool(**arguments)  # the identical call, once, on the approval's grant


def main() -> int:
    model = scripted_model()
    step = next(model)
    while True:
        print(f"model calls {step['tool']}({json.dumps(step['arguments'])})")
        result = call(step["tool"], step["arguments"])
        print(f"  -> {result.splitlines()[0] if result else ''}")
        try:
            step = model.send(result)
        except StopIteration:
            return 0


if __name__ == "__main__":
    sys.exit(main())
