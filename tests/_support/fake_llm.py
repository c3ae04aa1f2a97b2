"""A local OpenAI-compatible chat-completions server: the only stand-in in the LLM tests.

The crawl reaches it through litellm's real client (``provider="openai/<model>"``,
``base_url=server.url``), over HTTP. It behaves like a careful, deterministic model:

- **Models** (the part of the provider after ``openai/``) read the page content out of the
  prompt and answer from it, so a merged result proves what every chunk contained:
  ``products`` (lines ``Name — $price``), ``article`` (first heading and first
  paragraph), ``kg`` (entities and relationships from sentences such as ``Ada Lovelace
  worked with Charles Babbage.``), ``blocks`` (one block per paragraph).
- **Directives** written in a chunk's text script its answer: ``FAKE-LLM:429-once`` (one
  429, then an answer), ``FAKE-LLM:429-always``, ``FAKE-LLM:500``, ``FAKE-LLM:500-once``,
  ``FAKE-LLM:malformed`` (broken JSON), ``FAKE-LLM:fenced`` (JSON in a code fence, no
  ``<blocks>``), ``FAKE-LLM:trailing`` (JSON followed by chatter), ``FAKE-LLM:wrong-schema``
  (objects that do not match the schema), ``FAKE-LLM:empty`` (no content, finish_reason
  ``length``), ``FAKE-LLM:slow=SECONDS``, ``FAKE-LLM:slow-once=SECONDS`` (only the first
  time this chunk is asked), ``FAKE-LLM:retry-after=SECONDS`` (one 429 with that
  ``Retry-After``, then an answer), ``FAKE-LLM:echo-auth=STATUS`` (always an error with
  that status whose message quotes the request's ``Authorization`` header, as some
  providers do), ``FAKE-LLM:deep`` (a reply of 100,000 ``[``).
- **Prompt checks**: every request is recorded (``calls``); a prompt with a placeholder
  left in it (``{REQUEST}``...), double-escaped quotes or escaped newlines, or a wrong
  ``Authorization`` header, is refused with HTTP 400/401 and listed in ``problems``.

Usage figures are whitespace-separated word counts of the prompt and of the answer.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from typing_extensions import Self

_CONTENT_RE = re.compile(r"<(url_content|content|html)>\n?(.*?)\n?</\1>", re.DOTALL)
_URL_RE = re.compile(r"<url>(.*?)</url>", re.DOTALL)
_DIRECTIVE_RE = re.compile(r"FAKE-LLM:([a-z0-9-]+)(?:=([0-9.]+))?")
_PLACEHOLDERS = ("{URL}", "{HTML}", "{REQUEST}", "{SCHEMA}", "{CONTENT}")
_TAG_RE = re.compile(r"<[^>]+>")
_PRODUCT_RE = re.compile(
    r"^[\s>*+-]*(?P<name>[A-Z][\w .'&-]*?)\s*[\u2014\u2013-]+\s*\$(?P<price>\d+(?:\.\d+)?)"
)
_NAME = r"[A-Z][a-z]+(?: [A-Z][a-z]+)+"
_RELATION_RE = re.compile(rf"(?P<a>{_NAME}) (?P<verb>[a-z][a-z ]+?) (?P<b>{_NAME})")


@dataclasses.dataclass
class Call:
    model: str
    url: str | None
    prompt: str
    content: str
    status: int
    reply: str | None
    usage: dict[str, int]
    params: dict[str, Any]
    started: float
    authorization: str | None = None
    finished: float = 0.0


class FakeLLM(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops connections under concurrent calls

    def __init__(self, *, token: str | None = None, delay: float = 0.0) -> None:
        self.token = token
        self.delay = delay
        self.calls: list[Call] = []
        self.problems: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

    def calls_for(self, url: str) -> list[Call]:
        return [c for c in self.calls if c.url == url]

    # -- one request ----------------------------------------------------------------------

    def answer(self, headers: Any, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        started = time.monotonic()
        messages = body.get("messages") or []
        prompt = "\n".join(str(m.get("content", "")) for m in messages)
        model = str(body.get("model", ""))
        url_match = _URL_RE.search(prompt)
        content_match = _CONTENT_RE.search(prompt)
        content = content_match.group(2) if content_match else ""
        call = Call(
            model=model,
            url=url_match.group(1).strip() if url_match else None,
            prompt=prompt,
            content=content,
            status=200,
            reply=None,
            usage={},
            params={k: v for k, v in body.items() if k != "messages"},
            started=started,
            authorization=headers.get("Authorization"),
        )
        with self._lock:
            self.calls.append(call)
        problem = self._check(headers, prompt, content_match is not None)
        if problem:
            with self._lock:
                self.problems.append(problem)
            call.status = 401 if problem.startswith("auth") else 400
            return call.status, {}, _error(problem)
        directives = dict(_DIRECTIVE_RE.findall(content))
        first_time = self._first_time(content, directives)
        if "slow" in directives:
            time.sleep(float(directives["slow"] or 1))
        elif "slow-once" in directives and first_time:
            time.sleep(float(directives["slow-once"] or 1))
        elif self.delay:
            time.sleep(self.delay)
        if "echo-auth" in directives:
            call.status = int(float(directives["echo-auth"] or 401))
            auth = headers.get("Authorization")
            message = f"Incorrect API key provided: {auth}. Your request had Authorization: {auth}"
            return call.status, {}, _error(message, "invalid_api_key")
        if "retry-after" in directives and first_time:
            call.status = 429
            wait = directives["retry-after"] or "1"
            return 429, {"Retry-After": wait}, _error("rate limited", "rate_limit_exceeded")
        if "429-always" in directives or ("429-once" in directives and first_time):
            call.status = 429
            return 429, {"Retry-After": "0"}, _error("rate limited", "rate_limit_exceeded")
        if "500" in directives or ("500-once" in directives and first_time):
            call.status = 500
            return 500, {}, _error("the fake model fell over", "server_error")
        clean = _DIRECTIVE_RE.sub("", content)
        json_mode = (body.get("response_format") or {}).get("type") == "json_object"
        reply, finish = self._reply(model, clean, directives, json_mode)
        call.reply = reply
        call.usage = {
            "prompt_tokens": len(prompt.split()),
            "completion_tokens": len(reply.split()),
        }
        call.usage["total_tokens"] = call.usage["prompt_tokens"] + call.usage["completion_tokens"]
        call.finished = time.monotonic()
        completion = {
            "id": f"chatcmpl-fake-{len(self.calls)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply},
                    "finish_reason": finish,
                }
            ],
            "usage": call.usage,
        }
        return 200, {}, json.dumps(completion).encode()

    def _check(self, headers: Any, prompt: str, has_content: bool) -> str | None:
        if self.token is not None and headers.get("Authorization") != f"Bearer {self.token}":
            return "auth: missing or wrong API token"
        for placeholder in _PLACEHOLDERS:
            if placeholder in prompt:
                return f"prompt: placeholder {placeholder} left in the prompt"
        if '\\"' in prompt or "\\n" in prompt:
            return "prompt: escaped quotes or newlines in the content"
        if not has_content:
            return "prompt: no <url_content> section"
        return None

    def _first_time(self, content: str, directives: dict[str, str]) -> bool:
        key = (content, ",".join(sorted(directives)))
        with self._lock:
            if key in self._seen:
                return False
            self._seen.add(key)
            return True

    def _reply(
        self, model: str, content: str, directives: dict[str, str], json_mode: bool
    ) -> tuple[str, str]:
        if "empty" in directives:
            return "", "length"
        if "deep" in directives:
            return "[" * 100_000, "stop"
        if "malformed" in directives:
            return '<blocks>[{"name": "Widget", "price": </blocks>', "stop"
        items = _MODELS.get(model, _blocks)(content)
        if "wrong-schema" in directives:
            items = [{"title": 42}]
        text = json.dumps({"items": items} if json_mode else items, ensure_ascii=False)
        if "fenced" in directives:
            return f"Here is the data:\n```json\n{text}\n```", "stop"
        if "trailing" in directives:
            return f"{text}\n\nI hope this helps! Let me know if you need {{more}}.", "stop"
        if json_mode:
            return text, "stop"
        return f"<score>5</score>\n<blocks>{text}</blocks>", "stop"


# -- the "models" --------------------------------------------------------------------------


def _plain_lines(content: str) -> list[str]:
    text = _TAG_RE.sub("\n", content).replace("**", "").replace("__", "")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _products(content: str) -> list[dict[str, Any]]:
    found = []
    for line in _plain_lines(content):
        match = _PRODUCT_RE.match(line)
        if match:
            found.append({"name": match["name"].strip(), "price": f"${match['price']}"})
    return found


def _article(content: str) -> list[dict[str, Any]]:
    lines = _plain_lines(content)
    heading = next((line.lstrip("# ") for line in lines if line.startswith("#")), None)
    if heading is None:
        heading = lines[0] if lines else ""
    body = next((line for line in lines if len(line.split()) >= 8), "")
    summary = body.split(". ")[0].rstrip(".") + "."
    return [{"headline": heading, "summary": summary}]


def _kg(content: str) -> list[dict[str, Any]]:
    entities: dict[str, dict[str, str]] = {}
    relationships = []
    for line in _plain_lines(content):
        for sentence in re.split(r"(?<=\.)\s+", line):
            match = _RELATION_RE.search(sentence)
            if not match:
                continue
            pair = []
            for key in ("a", "b"):
                name = match[key]
                entities.setdefault(name, {"name": name, "description": sentence})
                pair.append(entities[name])
            relationships.append(
                {
                    "entity1": pair[0],
                    "entity2": pair[1],
                    "description": sentence,
                    "relation_type": match["verb"].strip().replace(" ", "_"),
                }
            )
    return [{"entities": list(entities.values()), "relationships": relationships}]


def _blocks(content: str) -> list[dict[str, Any]]:
    return [
        {"index": i, "tags": ["paragraph"], "content": [line]}
        for i, line in enumerate(_plain_lines(content))
    ]


_MODELS = {"products": _products, "article": _article, "kg": _kg, "blocks": _blocks}


def _error(message: str, code: str = "invalid_request_error") -> bytes:
    return json.dumps({"error": {"message": message, "type": code, "code": code}}).encode()


class _Handler(BaseHTTPRequestHandler):
    server: FakeLLM
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        server = self.server
        with server._lock:
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        headers: dict[str, str] = {}
        try:
            if not self.path.endswith("/chat/completions"):
                status, data = 404, _error(f"no route {self.path}")
            else:
                status, headers, data = server.answer(self.headers, body)
        finally:
            with server._lock:
                server.in_flight -= 1
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


if __name__ == "__main__":  # python -m tests._support.fake_llm: a server to try things by hand
    import sys

    with FakeLLM(delay=float(sys.argv[1]) if len(sys.argv) > 1 else 0.0) as fake:
        print(fake.url, flush=True)
        try:
            fake.thread.join()
        except KeyboardInterrupt:
            pass
