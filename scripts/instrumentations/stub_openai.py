"""A stub of OpenAI's Chat Completions API on 127.0.0.1, the one mock of the instrumentation
suites (nothing real can answer here). It answers deterministically from the last user message:

* contains "FAIL": HTTP 500 with OpenAI's error body (the SDK raises after its retries, which the
  tests turn off with max_retries=0);
* contains "weather" and no tool result yet: a tool call to `get_weather` (finish_reason
  tool_calls);
* otherwise a short answer, streamed as server-sent events when `stream` is true (with a final
  usage chunk when `stream_options.include_usage` is set).

Usage is fixed per answer (PROMPT_TOKENS, COMPLETION_TOKENS, CACHED_TOKENS), so the tests know
the cost Parley must infer from the price table.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import List, Optional

PROMPT_TOKENS = 120
COMPLETION_TOKENS = 30
CACHED_TOKENS = 20
ANSWER_CHUNKS = ["The ", "answer ", "is ", "forty-two."]
# Seconds between streamed chunks, so time to first token is measurably before the end.
CHUNK_DELAY_S = 0.02


def usage() -> dict:
    return {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
        "prompt_tokens_details": {"cached_tokens": CACHED_TOKENS, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


class StubOpenAI:
    """Serves on an ephemeral port; `requests` records every request body it got."""

    def __init__(self) -> None:
        self.requests: List[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                stub.requests.append(body)
                if not self.path.endswith("/chat/completions"):
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
                    return
                messages = body.get("messages") or []
                last_user = next((m for m in reversed(messages) if m.get("role") == "user"), {})
                text = last_user.get("content") if isinstance(last_user.get("content"), str) else json.dumps(last_user.get("content"))
                has_tool_result = any(m.get("role") == "tool" for m in messages)
                model = body.get("model", "gpt-4o-mini")
                if "FAIL" in (text or ""):
                    self._json(500, {"error": {"message": "The stub failed on purpose", "type": "server_error",
                                               "param": None, "code": "stub_failure"}})
                    return
                if "weather" in (text or "") and not has_tool_result and body.get("tools"):
                    message = {"role": "assistant", "content": None, "tool_calls": [{
                        "id": "call_weather_1", "type": "function",
                        "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}}]}
                    self._json(200, completion(model, message, "tool_calls"))
                    return
                if body.get("stream"):
                    self._stream(model, bool((body.get("stream_options") or {}).get("include_usage")))
                    return
                message = {"role": "assistant", "content": "".join(ANSWER_CHUNKS)}
                self._json(200, completion(model, message, "stop"))

            def _json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, model: str, include_usage: bool) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

                def send(payload: Optional[dict]) -> None:
                    line = b"data: " + (json.dumps(payload).encode() if payload is not None else b"[DONE]") + b"\n\n"
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                    self.wfile.flush()

                base = {"id": "chatcmpl-stub-stream", "object": "chat.completion.chunk", "created": int(time.time()),
                        "model": model, "system_fingerprint": "fp_stub"}
                send({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]})
                for piece in ANSWER_CHUNKS:
                    time.sleep(CHUNK_DELAY_S)
                    send({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
                send({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                if include_usage:
                    send({**base, "choices": [], "usage": usage()})
                send(None)
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "StubOpenAI":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def completion(model: str, message: dict, finish_reason: str) -> dict:
    return {"id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()), "model": model,
            "system_fingerprint": "fp_stub",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
            "usage": usage()}
