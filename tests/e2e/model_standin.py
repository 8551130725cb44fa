"""A scripted stand-in for a model API on loopback, for driving real agent CLIs
offline.

It speaks enough of the Anthropic Messages API (``POST /v1/messages``, JSON or SSE
streaming), of the Gemini API (``…:streamGenerateContent?alt=sse`` and
``…:generateContent``) and of the OpenAI Responses API (``POST /v1/responses``, SSE;
what Codex CLI speaks) for an agent's main loop: each request that offers the
agent's tools gets the next scripted tool call (step = how many tool calls the
conversation already holds), then a final text answer.  Side requests (titles,
summaries, token counts) get a short text.  Every request body is kept, raw, so a
test can prove what did — and did not — reach the model.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class ToolCall:
    name: str
    input: dict[str, Any]


@dataclass
class StandIn:
    script: list[ToolCall]
    final_text: str = "All done."
    bodies: list[bytes] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, path: str, body: bytes) -> None:
        with self.lock:
            self.paths.append(path)
            self.bodies.append(body)

    def all_bodies(self) -> bytes:
        with self.lock:
            return b"\n".join(self.bodies)


# --- Anthropic Messages -----------------------------------------------------------


def anthropic_step(request: dict[str, Any]) -> int:
    """How many tool calls the conversation already holds."""
    count = 0
    for message in request.get("messages", []):
        if message.get("role") == "assistant" and isinstance(message.get("content"), list):
            count += sum(1 for b in message["content"] if b.get("type") == "tool_use")
    return count


def anthropic_tool_results(request: dict[str, Any]) -> list[dict[str, Any]]:
    results = []
    for message in request.get("messages", []):
        if message.get("role") == "user" and isinstance(message.get("content"), list):
            results.extend(b for b in message["content"] if b.get("type") == "tool_result")
    return results


def _anthropic_blocks(standin: StandIn, request: dict[str, Any]) -> tuple[list[Any], str]:
    tools = {t.get("name") for t in request.get("tools") or []}
    step = anthropic_step(request)
    if standin.script and standin.script[0].name in tools and step < len(standin.script):
        call = standin.script[step]
        block = {"type": "tool_use", "id": f"toolu_standin_{step}", "name": call.name,
                 "input": call.input}  # fmt: skip
        return [block], "tool_use"
    text = standin.final_text if tools else "ok"
    return [{"type": "text", "text": text}], "end_turn"


def anthropic_response(standin: StandIn, request: dict[str, Any]) -> tuple[str, bytes]:
    blocks, stop = _anthropic_blocks(standin, request)
    model = request.get("model", "claude-standin")
    usage = {"input_tokens": 10, "output_tokens": 5}
    if not request.get("stream"):
        body = {
            "id": "msg_standin", "type": "message", "role": "assistant", "model": model,
            "content": blocks, "stop_reason": stop, "stop_sequence": None, "usage": usage,
        }  # fmt: skip
        return "application/json", json.dumps(body).encode()
    return "text/event-stream", b"".join(_anthropic_events(blocks, stop, model, usage))


def _sse(event: str | None, data: dict[str, Any]) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


def _anthropic_events(
    blocks: list[Any], stop: str, model: str, usage: dict[str, int]
) -> Iterator[bytes]:
    start = {"id": "msg_standin", "type": "message", "role": "assistant", "model": model,
             "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}  # fmt: skip
    yield _sse("message_start", {"type": "message_start", "message": start})
    for index, block in enumerate(blocks):
        if block["type"] == "tool_use":
            empty = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            empty = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        start_block = {"type": "content_block_start", "index": index, "content_block": empty}
        yield _sse("content_block_start", start_block)
        yield _sse("content_block_delta",
                   {"type": "content_block_delta", "index": index, "delta": delta})  # fmt: skip
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})
    yield _sse("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": stop, "stop_sequence": None},
                                 "usage": {"output_tokens": 5}})  # fmt: skip
    yield _sse("message_stop", {"type": "message_stop"})


# --- Gemini -----------------------------------------------------------------------


def gemini_step(request: dict[str, Any]) -> int:
    count = 0
    for content in request.get("contents", []):
        if content.get("role") == "model":
            count += sum(1 for p in content.get("parts", []) if "functionCall" in p)
    return count


def gemini_function_responses(request: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for content in request.get("contents", []):
        for part in content.get("parts", []):
            if "functionResponse" in part:
                found.append(part["functionResponse"])
    return found


def gemini_response(standin: StandIn, request: dict[str, Any], *, stream: bool) -> bytes:
    declared = {
        d.get("name")
        for tool in request.get("tools") or []
        for d in tool.get("functionDeclarations") or []
    }
    step = gemini_step(request)
    if standin.script and standin.script[0].name in declared and step < len(standin.script):
        call = standin.script[step]
        part: dict[str, Any] = {"functionCall": {"name": call.name, "args": call.input}}
    else:
        part = {"text": standin.final_text if declared else '{"ok": true}'}
    body = {
        "candidates": [
            {"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                          "totalTokenCount": 15},
        "modelVersion": "gemini-standin",
    }  # fmt: skip
    if stream:
        return _sse(None, body)
    return json.dumps(body).encode()


# --- OpenAI Responses (Codex CLI) -------------------------------------------------
#
# Codex reads a stream of ``response.*`` events and acts on each finished output item
# (``response.output_item.done``) once ``response.completed`` arrives
# (codex-rs/codex-api/src/sse/responses.rs).  A function tool's call carries its
# arguments as a JSON string; a freeform ("custom") tool's call — Codex's
# ``apply_patch`` — carries its raw text in ``input``, which the script gives as
# ``{"input": text}``.

_RESPONSES_CALLS = ("function_call", "custom_tool_call")
# In a scripted call's input: the session id of the command Codex last left running
# (its unified exec answers "Process running with session ID N"), for ``write_stdin``.
SESSION = "<running session>"
_RESPONSES_OUTPUTS = ("function_call_output", "custom_tool_call_output")


def responses_step(request: dict[str, Any]) -> int:
    return sum(1 for item in request.get("input") or [] if item.get("type") in _RESPONSES_CALLS)


def responses_outputs(request: dict[str, Any]) -> list[dict[str, Any]]:
    """What each tool call returned to the model, in order."""
    return [i for i in request.get("input") or [] if i.get("type") in _RESPONSES_OUTPUTS]


def _running_session(request: dict[str, Any]) -> int:
    for out in reversed(responses_outputs(request)):
        found = re.search(r"session ID (\d+)", str(out.get("output")))
        if found:
            return int(found.group(1))
    return 0  # none running: Codex answers "Unknown process id"


def _responses_item(standin: StandIn, request: dict[str, Any]) -> dict[str, Any]:
    kinds = {t.get("name"): t.get("type") for t in request.get("tools") or []}
    step = responses_step(request)
    if standin.script and standin.script[0].name in kinds and step < len(standin.script):
        call = standin.script[step]
        ids = {"id": f"fc_standin_{step}", "call_id": f"call_standin_{step}", "name": call.name}
        if kinds.get(call.name) == "custom":
            return {"type": "custom_tool_call", **ids, "input": call.input["input"]}
        args = {k: _running_session(request) if v == SESSION else v for k, v in call.input.items()}
        return {"type": "function_call", **ids, "arguments": json.dumps(args)}
    text = standin.final_text if kinds else "ok"
    return {"type": "message", "id": "msg_standin", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}  # fmt: skip


def responses_response(standin: StandIn, request: dict[str, Any]) -> bytes:
    item = _responses_item(standin, request)
    response = {"id": "resp_standin", "object": "response", "model": request.get("model"),
                "status": "in_progress", "output": []}  # fmt: skip
    usage = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": 15}  # fmt: skip
    done = {**response, "status": "completed", "output": [item], "usage": usage}
    events = [
        ("response.created", {"response": response}),
        ("response.output_item.added", {"output_index": 0, "item": item}),
        ("response.output_item.done", {"output_index": 0, "item": item}),
        ("response.completed", {"response": done}),
    ]
    return b"".join(_sse(kind, {"type": kind, **data}) for kind, data in events)


# --- the server -------------------------------------------------------------------


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_HEAD(self) -> None:
            self._send(200, "application/json", b"")

        def do_GET(self) -> None:
            standin.record(self.path, b"")
            if "/models" in self.path:
                self._send(200, "application/json", b'{"data": [], "models": []}')
            else:
                self._send(200, "application/json", b"{}")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            standin.record(self.path, raw)
            try:
                request = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                request = {}
            path = self.path.split("?", 1)[0]
            if path.endswith("/v1/messages"):
                kind, body = anthropic_response(standin, request)
            elif path.endswith("/count_tokens"):
                kind, body = "application/json", b'{"input_tokens": 10}'
            elif path.endswith(":countTokens"):
                kind, body = "application/json", b'{"totalTokens": 10}'
            elif path.endswith(":streamGenerateContent"):
                kind, body = "text/event-stream", gemini_response(standin, request, stream=True)
            elif path.endswith("/responses"):
                kind, body = "text/event-stream", responses_response(standin, request)
            elif path.endswith(":generateContent"):
                kind = "application/json"
                body = gemini_response(standin, request, stream=False)
            else:
                kind, body = "application/json", b"{}"
            self._send(200, kind, body)

        def _send(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("request-id", "req_standin")
            self.end_headers()
            self.wfile.write(body)

    return Handler


class Server:
    """The stand-in, listening on 127.0.0.1 (an ephemeral port) in a thread."""

    def __init__(self, standin: StandIn) -> None:
        self.standin = standin
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(standin))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
