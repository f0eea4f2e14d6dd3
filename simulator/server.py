"""The provider simulator: a real HTTP/1.1 server on loopback serving all four contracts.

Each provider lives under its own prefix (``/example-ai/v1``, ``/owlbot/api``, ``/chatnode/v1``,
``/feedloop``). ``/_admin/…`` exposes the virtual clock, the ground truth and the request log;
admin calls are never faulted. ``/_hooks/…`` is a chat tool's incoming webhook, recording what
chatsync's alerts post. Accepted sockets get ``TCP_NODELAY``: without it keep-alive
requests stall ~40 ms each on Nagle + delayed ACK.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType, ModuleType
from typing import Any, Final

from . import chatnode, example_ai, feedloop, intercom, owlbot
from .base import ProviderContext, SimRequest, SimResponse, SimulatorSettings, TruthConversation, TruthMessage
from .corpus import Corpus
from .faults import FaultInjector, FaultSpec
from .ratelimit import RateLimit
from .tamper import Tamper, Tampered, concerns
from .tamper import apply as apply_tamper

CONTRACTS: dict[str, ModuleType] = {
    "example_ai": example_ai,
    "owlbot": owlbot,
    "chatnode": chatnode,
    "feedloop": feedloop,
    "intercom": intercom,
}


@dataclass(frozen=True)
class RequestRecord:
    """One served provider request, for tests that prove what was (not) re-read."""

    at: float
    provider: str
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    fault: str | None


@dataclass
class Truth:
    """Exactly what exists at the current virtual time, in canonical terms."""

    conversations: list[TruthConversation] = field(default_factory=list)
    messages: list[TruthMessage] = field(default_factory=list)


HOOKS_PREFIX: Final = "/_hooks/"


class Simulator:
    """The simulator, usable in-process (tests, demo, benchmarks) or from ``chatsync simulate``.

    Args:
        corpus: The synthetic world to serve.
        settings: Keys and behaviour choices of the simulated providers.
        faults: Fault probabilities.
        host: Interface to bind; loopback only by default.
        port: 0 picks a free port.
    """

    def __init__(
        self,
        corpus: Corpus | None = None,
        settings: SimulatorSettings | None = None,
        faults: FaultSpec | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.corpus = corpus or Corpus()
        self.settings = settings or SimulatorSettings()
        self.faults = FaultInjector(faults or FaultSpec())
        self.requests: list[RequestRecord] = []
        self.hooks: list[Any] = []  # JSON bodies posted to /_hooks/… (alerts), in order
        self.tampers: list[Tamper] = []
        self.buckets = (
            RateLimit.parse(self.settings.rate_limit, self.settings.rate_limit_headers).buckets()
            if self.settings.rate_limit
            else None
        )
        self._log_lock = threading.Lock()
        self._server = _Server((host, port), _Handler, self)
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def base_url(self, provider: str) -> str:
        """The base URL a source should be configured with for ``provider``."""
        return self.url + str(CONTRACTS[provider].PREFIX)

    def start(self) -> Simulator:
        """Serves in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="simulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serves in the calling thread until interrupted."""
        self._server.serve_forever()

    def stop(self) -> None:
        """Stops serving and closes the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- in-process API ----------------------------------------------------------------------
    def set_faults(self, spec: FaultSpec) -> None:
        """Replaces the fault probabilities."""
        self.faults = FaultInjector(spec)

    def set_tampers(self, tampers: list[Tamper]) -> None:
        """Replaces the targeted payload tampers (see ``simulator.tamper``)."""
        self.tampers = list(tampers)

    def tampered(self, provider: str, request: SimRequest, response: SimResponse) -> Tampered | None:
        """The first tamper of ``provider`` that alters this request's answer, applied."""
        for tamper in self.tampers:
            if tamper.provider == provider and concerns(tamper, request):
                return apply_tamper(tamper, response)
        return None

    def advance(self, delta: timedelta) -> datetime:
        """Moves the virtual clock (see ``Corpus.advance``)."""
        return self.corpus.advance(delta)

    def truth(self, provider: str) -> Truth:
        """Ground truth for one provider at the current virtual time."""
        context = ProviderContext(self.corpus, self.settings)
        contract = CONTRACTS[provider]
        result = Truth()
        for conversation in self.corpus.conversations(provider):
            head, rows = contract.truth(conversation, self.corpus.visible_messages(conversation), context)
            result.conversations.append(head)
            result.messages.extend(rows)
        return result

    def hook_url(self, name: str = "alerts") -> str:
        """A webhook that records what is posted to it (``hooks``); ``hook_url("down")`` answers 503."""
        return f"{self.url}{HOOKS_PREFIX}{name}"

    def receive_hook(self, request: SimRequest) -> SimResponse:
        """Records one webhook post (a chat tool's incoming webhook, as alerts go to)."""
        if request.method != "POST":
            return SimResponse(405, {"message": "webhooks take POST"})
        if request.path == f"{HOOKS_PREFIX}down":
            return SimResponse(503, {"message": "the chat tool is down"})
        try:
            body = request.json()
        except ValueError:
            return SimResponse(400, {"message": "the body is not JSON"})
        with self._log_lock:
            self.hooks.append(body)
        return SimResponse(200, {"ok": True})

    def requests_for(self, provider: str) -> list[RequestRecord]:
        """The log of requests served for one provider."""
        with self._log_lock:
            return [r for r in self.requests if r.provider == provider]

    def clear_log(self) -> None:
        """Forgets the requests served so far."""
        with self._log_lock:
            self.requests.clear()

    # --- dispatch ----------------------------------------------------------------------------
    def route(self, path: str) -> tuple[str | None, str]:
        """The provider a path belongs to, and the path relative to its prefix."""
        for name, contract in CONTRACTS.items():
            if path == contract.PREFIX or path.startswith(contract.PREFIX + "/"):
                return name, path[len(contract.PREFIX) :]
        return None, path

    def respond(self, provider: str, request: SimRequest) -> SimResponse:
        """The contract's answer, with simulated latency."""
        if self.settings.latency_ms:
            time.sleep(self.settings.latency_ms / 1000)
        context = ProviderContext(self.corpus, self.settings)
        response: SimResponse = CONTRACTS[provider].handle(request, context)
        if provider in self.settings.echo_credentials:
            response = _echo(response, request, self.settings.echo_style)
        return response

    def log(self, record: RequestRecord) -> None:
        """Appends to the request log."""
        with self._log_lock:
            self.requests.append(record)

    ADMIN_PARAMETERS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
        {
            "/_admin/clock": frozenset(),
            "/_admin/advance": frozenset({"seconds", "minutes", "hours", "days"}),
            "/_admin/conversations": frozenset({"provider"}),
            "/_admin/truth": frozenset({"provider"}),
            "/_admin/requests": frozenset({"since"}),
            "/_admin/stats": frozenset(),
            "/_admin/faults": frozenset({"seed", "spec"}),
            "/_admin/tamper": frozenset(),
            "/_admin/delete": frozenset({"provider", "conversation", "messages", "restore"}),
        }
    )
    _UNITS: Final[Mapping[str, int]] = MappingProxyType({"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400})

    def admin(self, request: SimRequest) -> SimResponse:
        """Serves ``/_admin/…``; unknown calls and parameters are rejected, never ignored."""
        allowed = self.ADMIN_PARAMETERS.get(request.path)
        if allowed is None:
            known = sorted(self.ADMIN_PARAMETERS)
            return SimResponse(404, {"message": f"unknown admin call {request.path}; known: {known}"})
        try:
            body = request.json() if request.body else {}
        except ValueError:
            return SimResponse(400, {"message": "the body is not JSON"})
        named = {**request.query, **(body if isinstance(body, dict) else {})}
        unknown = set(named) - allowed
        if unknown:
            return SimResponse(400, {"message": f"unknown parameter(s) {sorted(unknown)}; accepted: {sorted(allowed)}"})
        return self._admin_answer(request, named, body)

    def _admin_answer(self, request: SimRequest, named: dict[str, Any], body: Any) -> SimResponse:
        if request.path == "/_admin/clock":
            return SimResponse(200, {"now": self.corpus.now.isoformat()})
        if request.path == "/_admin/advance" and request.method == "POST":
            seconds = sum(float(named[unit]) * factor for unit, factor in self._UNITS.items() if unit in named)
            return SimResponse(200, {"now": self.advance(timedelta(seconds=seconds)).isoformat()})
        if request.path == "/_admin/conversations":
            return SimResponse(200, self.corpus.conversation_ids(named.get("provider", "example_ai")))
        if request.path == "/_admin/truth":
            truth = self.truth(named.get("provider", "example_ai"))
            return SimResponse(200, json.loads(json.dumps(asdict(truth), default=str)))
        if request.path == "/_admin/requests":
            with self._log_lock:
                records = [asdict(r) for r in self.requests[int(named.get("since", 0)) :]]
            return SimResponse(200, records)
        if request.path == "/_admin/stats":  # for benchmarks: is the simulator the bottleneck?
            with self._log_lock:
                served = len(self.requests)
            return SimResponse(200, {"requests": served, "cpu_seconds": time.process_time()})
        if request.path == "/_admin/faults" and request.method == "POST":
            self.set_faults(FaultSpec.parse(named.get("spec", ""), seed=int(named.get("seed", 0))))
            return SimResponse(200, {"faults": self.faults.spec.total_probability})
        if request.path == "/_admin/delete" and request.method == "POST":
            return self._delete(named)
        if request.path == "/_admin/tamper" and request.method == "POST":
            self.set_tampers([Tamper.parse(value) for value in body or []])
            return SimResponse(200, {"tampers": len(self.tampers)})
        return SimResponse(405, {"message": f"{request.method} is not accepted by {request.path}"})

    def _delete(self, named: dict[str, Any]) -> SimResponse:
        """Deletes a conversation (or some of its messages, by position) at the provider, or restores one."""
        provider, conversation = str(named.get("provider", "")), str(named.get("conversation", ""))
        try:
            if named.get("restore"):
                self.corpus.restore_conversation(provider, conversation)
            elif "messages" in named:
                self.corpus.delete_messages(provider, conversation, [int(seq) for seq in named["messages"]])
            else:
                self.corpus.delete_conversation(provider, conversation)
        except KeyError as exc:
            return SimResponse(404, {"message": str(exc)})
        return SimResponse(200, {"deleted": conversation, "restored": bool(named.get("restore"))})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a cancelled or killed run) is not an error worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], sim: Simulator) -> None:
        self.sim = sim
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY on every accepted socket
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silences the default per-request stderr line."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _read_request(self) -> SimRequest:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        return SimRequest(self.command, path, query, headers, body)

    def _dispatch(self) -> None:
        sim = self.server.sim
        request = self._read_request()
        if request.path.startswith("/_admin/"):
            self._send(sim.admin(request))
            return
        if request.path.startswith(HOOKS_PREFIX):
            self._send(sim.receive_hook(request))
            return
        provider, relative = sim.route(request.path)
        if provider is None:
            self._send(SimResponse(404, {"message": "no such provider"}))
            return
        request.path = relative
        fault = sim.faults.draw(request.method, self.path, request.body)
        self._pending_log: tuple[str, SimRequest, str | None] | None = (provider, request, fault)
        self._serve(sim, provider, request, fault)

    def _log_served(self, status: int) -> None:
        """Logs before the answer leaves, so a client never sees its response before the log does."""
        pending: tuple[str, SimRequest, str | None] | None = getattr(self, "_pending_log", None)
        self._pending_log = None
        if pending is None:
            return
        provider, request, fault = pending
        try:
            body: Any = request.json()
        except ValueError:
            body = None
        record = RequestRecord(time.time(), provider, request.method, request.path, request.query, body, status, fault)
        self.server.sim.log(record)

    def _serve(self, sim: Simulator, provider: str, request: SimRequest, fault: str | None) -> int:
        self._rate_headers: dict[str, str] = {}
        if sim.buckets is not None:
            key = request.header("authorization") or request.header("token") or ""
            allowed, self._rate_headers = sim.buckets.take(f"{provider}\x1f{key}")
            if not allowed:
                return self._send(_fault_body(429, "Too many requests"))
        spec = sim.faults.spec
        if fault == "reset":
            self._log_served(0)
            self._reset()
            return 0
        if fault == "429":
            return self._send(_fault_body(429, "Too many requests"), {"Retry-After": str(spec.retry_after)})
        if fault in ("500", "502", "503"):
            return self._send(_fault_body(int(fault), "Unexpected server error. Please try again later."))
        if fault == "slow":
            time.sleep(spec.slow_ms / 1000)
        response = sim.respond(provider, request)
        tampered = sim.tampered(provider, request, response)
        if tampered is not None:
            return self._send_tampered(tampered)
        if fault == "truncate":
            return self._send_truncated(response)
        if fault == "invalid":
            body = response.encode()
            return self._send_raw(200, body[: max(1, len(body) // 2)])
        return self._send(response)

    def _send_tampered(self, tampered: Tampered) -> int:
        if tampered.truncate:
            return self._send_truncated(tampered.response)
        if tampered.raw is None:
            return self._send(tampered.response)
        return self._send_raw(tampered.response.status, tampered.raw)

    def _send(self, response: SimResponse, extra: dict[str, str] | None = None) -> int:
        return self._send_raw(response.status, response.encode(), {**response.headers, **(extra or {})})

    def _send_raw(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> int:
        self._log_served(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**getattr(self, "_rate_headers", {}), **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        return status

    def _send_truncated(self, response: SimResponse) -> int:
        body = response.encode()
        self._log_served(response.status)
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_WR)
        return response.status

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


def _echo(response: SimResponse, request: SimRequest, style: str) -> SimResponse:
    """A careless provider: the credentials it was sent, quoted back in the body and each record.

    ``style``: ``value`` quotes them in strings, ``escaped`` too but sends ``/`` as ``\\/``, and
    ``member`` makes them a member name inside each record.
    """
    credentials = " ".join(v for k, v in request.headers.items() if k in ("authorization", "token"))
    payload = response.payload
    if isinstance(payload, dict) and isinstance(payload.get("message"), str) and style != "member":
        payload["message"] += f" (request credentials: {credentials})"
    if isinstance(payload, dict) and style != "member":
        payload["echo"] = credentials
    for record in _records(payload):
        record["echo"] = {credentials: "sent with"} if style == "member" else f"sent with {credentials}"
    response.escape_slashes = style == "escaped"
    return response


def _records(payload: Any) -> list[dict[str, Any]]:
    """The records of any provider's body: a list, or the list under data, data.messages or messageArr."""
    found: Any = payload
    if isinstance(payload, dict):
        data = payload.get("data", payload.get("messageArr"))
        found = data.get("messages") if isinstance(data, dict) else data
    return [record for record in found if isinstance(record, dict)] if isinstance(found, list) else []


def _fault_body(status: int, message: str) -> SimResponse:
    return SimResponse(status, {"status": "error", "message": message, "data": None})
