"""Many stories in flight on one thread, each with its own connection(s): the fast scheduler.

Each story is a generator (:meth:`StoryPlayer.steps`) that yields the request it needs sent and is
resumed with the answer. Requests are written at once, and answers read as their sockets become
readable, whichever story they belong to: the thread never waits while any answer is there.
Threads would wait for each other instead: on the GIL, with a wake-up per answer; against a fast
target this runs about 1.6x the requests per second of ``width`` threads (``make bench-replay``).
A request lost with a closed connection is written again and waited for like the others; retries
after a wait (429, 5xx), rare, are made in place (:meth:`Transport.finish`): a target asking to
slow down holds every story up.
"""

from __future__ import annotations

import queue
import selectors
import socket
import time
from collections.abc import Generator

from replay.engine.pipeline import Request
from replay.engine.stories import StoryPlayer
from replay.engine.threads import Stories
from replay.engine.transport import Pending, Sent, Transport

__all__ = ["Multiplexer", "play_multiplexed"]

Steps = Generator[Request, Sent, None]


def play_multiplexed(player: StoryPlayer, stories: Stories, width: int) -> None:
    """Up to ``width`` stories of ``stories`` in flight on this thread until none are left."""
    Multiplexer(player, stories, width).run()


class Multiplexer:
    def __init__(self, player: StoryPlayer, stories: Stories, width: int) -> None:
        self.player = player
        self.stories = stories
        self.width = width
        self.specs = player.options.sides()
        self.active = 0
        self.idle: list[list[Transport]] = []  # the connections of finished stories, for the next ones
        self.selector = selectors.DefaultSelector()
        self.waiting: dict[int, tuple[Steps, list[Transport], Request, Pending]] = {}
        self.registered: dict[
            int, tuple[socket.socket, Transport]
        ] = {}  # fd -> the socket registered, its owner

    def run(self) -> None:
        waiting = self.waiting
        try:
            while True:
                self.fill()
                if not waiting:
                    return
                deadline = min(p.started + r.transport.timeout for _, _, r, p in waiting.values())
                ready = self.selector.select(timeout=min(0.5, max(deadline - time.perf_counter(), 0.0)))
                now = time.perf_counter()
                for key, _ in ready:
                    found = waiting.pop(key.fd, None)
                    if found is None:  # readable while not waited on: closed (or babbled on) by the server
                        self.forget(key.fd)
                        continue
                    steps, transports, request, pending = found
                    self.advance(steps, transports, self.settle(request.transport, pending), request)
                for fd, (steps, transports, request, pending) in list(waiting.items()):
                    if now - pending.started > request.transport.timeout:  # no answer in time
                        del waiting[fd]
                        answer = self.settle(request.transport, pending, timed_out=True)
                        self.advance(steps, transports, answer, request)
        finally:
            self.close()

    def fill(self) -> None:
        """Start stories until ``width`` are in flight (or none are left)."""
        options = self.player.options
        while self.active < self.width and not self.player.stopping.is_set():
            try:
                number, path = self.stories.get_nowait()
            except queue.Empty:
                return
            transports = self.idle.pop() if self.idle else [
                Transport(url, options.timeout, options.retry, options.verify_tls) for url, _, _ in self.specs
            ]  # fmt: skip
            self.active += 1
            self.advance(
                self.player.steps(path, self.player.sides(number, transports, self.specs), number),
                transports,
                None,
            )

    def advance(
        self,
        steps: Steps,
        transports: list[Transport],
        sent: Sent | Pending | None,
        request: Request | None = None,
    ) -> None:
        """Resume a story until it needs to wait for an answer (or ends)."""
        while True:
            if isinstance(sent, Pending):  # the same request, written again: wait for it
                assert request is not None
                pending = sent
            else:
                try:
                    request = steps.send(sent) if sent is not None else next(steps)
                except StopIteration:
                    self.active -= 1
                    self.idle.append(transports)
                    return
                pending = request.transport.begin(
                    request.method, request.target, request.headers, request.body
                )
            transport = request.transport
            sock = transport.socket
            if pending.failed is not None or sock is None or transport.buffered():
                sent = self.settle(transport, pending)  # nothing to wait for
                continue
            self.wait(sock, (steps, transports, request, pending))
            return

    def wait(self, sock: socket.socket, waiter: tuple[Steps, list[Transport], Request, Pending]) -> None:
        fd = sock.fileno()
        self.waiting[fd] = waiter
        known = self.registered.get(fd)
        if known is None or known[0] is not sock:  # sockets stay registered between requests
            if known is not None:  # the number of a closed connection, reused
                self.selector.unregister(fd)
            self.selector.register(fd, selectors.EVENT_READ)
            self.registered[fd] = (sock, waiter[2].transport)

    def forget(self, fd: int) -> None:
        """A socket the server closed while no request waited on it."""
        sock, owner = self.registered.pop(fd)
        self.selector.unregister(fd)
        if owner.socket is sock:
            owner.close()  # the next request of its next story opens a fresh one

    @staticmethod
    def settle(transport: Transport, pending: Pending, timed_out: bool = False) -> Sent | Pending:
        """The answer (or a request written again, to wait for), or an error for what nothing
        anticipated (one story's, not the run's end)."""
        try:
            return transport.finish(pending, timed_out=timed_out, resend=True)
        except Exception as exc:
            transport.close()
            return Sent(None, f"connection failed: {type(exc).__name__}: {exc}", 0.0, pending.attempt)

    def close(self) -> None:
        self.selector.close()
        for steps, transports, _, _ in self.waiting.values():  # only after a bug: close what is left
            steps.close()
            self.idle.append(transports)
        for transports in self.idle:
            for transport in transports:
                transport.close()
