"""A target with planted changes: a proxy on a real loopback socket in front of an embedded sandbox,
changing chosen answers in known ways. Each worker of a replay gets one (``Replayer(own_target=...)``),
reset with its sandbox before every story, so that every other answer is exactly the recorded one."""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from contracts.sandbox import Sandbox
from contracts.spec import Contract


@dataclass(frozen=True)
class Plant:
    """What to change in the answer to ``method path`` (its first answer in a story)."""

    name: str
    method: str
    path: str
    change: Callable[[int, dict[str, str], Any], tuple[int, dict[str, str], Any]]
    finding: bool = True  # the change is one a replay must report (noise-only is not)
    kind: str | None = None  # the outcome it must give, when one kind only will do


def _rename_first(body: Any) -> Any:
    first = next(iter(body))
    return {(f"{k}Renamed" if k == first else k): v for k, v in body.items()}


def _retype_first_number(body: Any) -> Any:
    """The first number met (depth first) becomes its text: ``84.7`` -> ``"84.7"``."""

    def walk(node: Any) -> bool:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if type(value) in (int, float):
                node[key] = str(value)
                return True
            if walk(value):
                return True
        return False

    walk(body)
    return body


def _reverse_and_change(body: Any) -> Any:
    effects = body["effects"]
    effect = next(e for e in effects if isinstance(e.get("props", {}).get("value"), (int, float)))
    effect["props"]["value"] = effect["props"]["value"] + 1
    effects.reverse()  # the server's order is not the recording's: paired by key, found in place
    return body


def _created(body: Any) -> Any:
    body["created"] = "2031-01-01T00:00:00.000Z"
    return body


PLANTS: tuple[Plant, ...] = (
    Plant("removed", "PUT", "/v2/customer_sessions/zoe-order", lambda s, h, b: (s, h, {k: v for k, v in b.items() if k != "effects"})),
    Plant("renamed", "PUT", "/v2/customer_profiles/zoe", lambda s, h, b: (s, h, _rename_first(b))),
    Plant("type changed", "PUT", "/v2/customer_sessions/vip-order", lambda s, h, b: (s, h, _retype_first_number(b))),
    Plant("enum changed", "PUT", "/v2/customer_sessions/grinder-order",
          lambda s, h, b: (s, h, {**b, "customerSession": {**b["customerSession"], "state": "cancelled"}})),
    Plant("status", "PUT", "/v2/customer_profiles/max", lambda s, h, b: (202, h, b)),
    Plant("content type", "PUT", "/v2/customer_sessions/card-order", lambda s, h, b: (s, {**h, "Content-Type": "text/plain"}, b)),
    Plant("value in a reordered set", "PUT", "/v2/customer_sessions/friend-order", lambda s, h, b: (s, h, _reverse_and_change(b))),
    Plant("additive", "PUT", "/v2/customer_profiles/kim", lambda s, h, b: (s, h, {**b, "loyaltyTier": "gold"}), kind="additive"),
    Plant("noise only", "PUT", "/v2/customer_profiles/lee", lambda s, h, b: (s, h, _created(b)), finding=False),
)  # fmt: skip


class PlantedTarget:
    """A :class:`~replay.engine.StoryTarget`: a proxy to a sandbox of its own, planting :data:`PLANTS`."""

    def __init__(self, contract: Contract) -> None:
        self.sandbox = Sandbox(contract=contract).start()
        self.planted: set[str] = set()  # what this story has been answered with already
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def handle_one(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers, answer = target.forward(self.command, self.path, dict(self.headers), body)
                head = [f"HTTP/1.1 {status} {self.responses.get(status, ('Status',))[0]}"]
                head += [
                    f"{k}: {v}"
                    for k, v in headers.items()
                    if k.lower() not in ("content-length", "connection", "transfer-encoding")
                ]
                head.append(f"Content-Length: {len(answer)}")
                self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + answer)  # one write

            do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self) -> None:
        self.sandbox.reset()
        self.planted.clear()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.sandbox.stop()

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        host, port = re.match(r"http://([^:/]+):(\d+)", self.sandbox.base_url).groups()  # type: ignore[union-attr]
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            connection.request(
                method, path, body or None, {k: v for k, v in headers.items() if k.lower() != "host"}
            )
            response = connection.getresponse()
            status, answer_headers, answer = response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()
        plant = next((p for p in PLANTS if p.method == method and path.split("?")[0] == p.path), None)
        if plant is None or plant.name in self.planted or not answer:
            return status, answer_headers, answer
        self.planted.add(plant.name)
        status, answer_headers, document = plant.change(status, answer_headers, json.loads(answer))
        return status, answer_headers, json.dumps(document).encode()
