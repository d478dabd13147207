"""A replay spread over Locust workers, run with Locust's own commands (the module is a locustfile):

    locust -f replay/swarm/locustfile.py --master --headless --expect-workers 2 \\
        --host https://staging.example.talon.one --talon-inputs captures/ --talon-report json:replay.json
    locust -f replay/swarm/locustfile.py --worker --master-host MASTER      # on each worker machine

The master reads the inputs (paths only: a story's file is read when it is handed out) and hands
out stories (``dispatch.StoryDispatcher``) to workers that ask for them; each worker replays its
stories with the engine's own pipeline (``play_threaded``: id rewriting, namespaces, write policies,
validation, diff, noise) and sends each story's outcomes back when it ends (``wire``); the master
writes the same reports as ``talon-contracts replay run`` and sets Locust's exit code to the
replay's. Locust's statistics name requests by operation id. Verification mode only, for now: each
story once (issue 19 continues: load mode, the CLI command, measurements).
"""

from __future__ import annotations

import logging
import queue
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import gevent
from gevent.event import Event
from locust import User, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

from contracts.spec import load_contract
from replay.cassettes import input_files
from replay.cli.common import EXIT_ERROR
from replay.cli.replay_options import conclude, open_reports
from replay.engine.options import ReplayOptions
from replay.engine.outcomes import Outcome, ReplaySummary
from replay.engine.sandboxes import sandbox_factory, seed_api_key
from replay.engine.stories import StoryPlayer
from replay.engine.threads import play_threaded
from replay.swarm.dispatch import StoryDispatcher
from replay.swarm.wire import WireError, dumps_outcomes, loads_outcomes

log = logging.getLogger("talon-contracts.swarm")

_WANT, _STORIES, _OUTCOMES = "talon_want", "talon_stories", "talon_outcomes"
_ASK_AGAIN = 0.2  # seconds a worker waits before asking again when a phase has nothing for it yet
EMBEDDED = "embedded sandbox"


def embedded_host(host: str | None) -> bool:
    """``--host embedded`` (or none): every worker's users replay on sandboxes of their own."""
    return not host or host == "embedded"


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    group = parser.add_argument_group("talon-contracts", "replaying recorded Talon.One traffic")
    group.add_argument("--talon-inputs", default="", help="Cassettes or captures to replay, comma-separated")
    group.add_argument(
        "--talon-report", default="", help="Reports to write, comma-separated FORMAT:PATH (json, junit, html)"
    )
    group.add_argument("--talon-api-key", default="", env_var="TALON_API_KEY", help="API key of --host")
    group.add_argument(
        "--talon-fail-on", default="changed,violation,error", help="Outcomes that make the exit code 1"
    )
    group.add_argument("--talon-namespace", default="", help="Prefix for the ids the stories choose")  # fmt: skip


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        try:
            environment.talon_master = _Master(environment)
        except (
            click.BadParameter
        ) as exc:  # a usage error: said once, exit 2 (SystemExit passes Locust's handlers)
            print(f"talon-contracts: {exc.format_message()}", file=sys.stderr)
            raise SystemExit(EXIT_ERROR) from None
    elif isinstance(runner, WorkerRunner):
        environment.talon_worker = _Worker(environment)


class _Master:
    def __init__(self, environment: Any) -> None:
        options = environment.parsed_options
        self.environment = environment
        self.runner = environment.runner
        self.fail_on = options.talon_fail_on
        self.summary = ReplaySummary(EMBEDDED if embedded_host(environment.host) else environment.host)
        files = input_files([p for p in options.talon_inputs.split(",") if p], self.summary.unreadable)
        self.paths = dict(enumerate(files, 1))
        self.summary.stories = len(files)
        self.dispatcher = StoryDispatcher.of(self.paths.items())
        self.opened = open_reports(tuple(r for r in options.talon_report.split(",") if r))
        self.ended = False
        self.asked = False
        self.runner.register_message(_WANT, self.want)
        self.runner.register_message(_OUTCOMES, self.outcomes)
        events.quitting.add_listener(lambda **_: self.end(interrupted=True))
        gevent.spawn(self.watch)

    def want(self, environment: Any, msg: Any) -> None:
        if not self.asked:  # the replay's clock starts with its first story, not with waiting for workers
            self.asked = True
            self.summary.started = time.monotonic()
        given = self.dispatcher.claim(msg.node_id, int(msg.data["n"]))
        stories = [[a.number, a.path.name, a.path.read_bytes()] for a in given]
        self.runner.send_message(
            _STORIES, {"stories": stories, "done": self.dispatcher.done}, client_id=msg.node_id
        )

    def outcomes(self, environment: Any, msg: Any) -> None:
        if self.ended:
            return  # the reports are written: what a worker still had in hand when the run ended
        number = int(msg.data["number"])
        try:
            batch = loads_outcomes(msg.data["batch"])
        except WireError as exc:  # a malfunction, never a finding about the API: the story is an error
            batch = [Outcome(str(self.paths.get(number, "?")), 0, None, None, "", "", "malfunction",
                             f"worker {msg.node_id} sent its outcomes unreadable: {exc}", story=number)]  # fmt: skip
        if not self.dispatcher.finished(msg.node_id, number):
            return  # a late answer for a story given up or handed to another worker
        for outcome in batch:
            outcome.source = str(self.paths[number])  # the worker's copy was a temporary file
            self.add(outcome)
        self.check()

    def add(self, outcome: Outcome) -> None:
        self.summary.add(outcome)
        for report, _ in self.opened:
            report.add(outcome)

    def watch(self) -> None:
        """Workers that went away give their stories back (Locust marks a worker missing after 3 s
        without a heartbeat)."""
        while not self.ended:
            gevent.sleep(1)
            clients = self.runner.clients
            alive = {c.id for c in clients.ready + clients.spawning + clients.running}
            for worker in self.dispatcher.holders():
                if worker not in alive:
                    held = len(self.dispatcher.out(worker))
                    given_up = self.dispatcher.lost(worker, f"worker {worker} went away")
                    log.warning("worker %s went away holding %d story(ies): %d handed out again, %d given up",
                                worker, held, held - len(given_up), len(given_up))  # fmt: skip
                    for story, reason in given_up:
                        self.add(
                            Outcome(
                                str(story.path), 0, None, None, "", "", "error", reason, story=story.number
                            )
                        )
            self.check()

    def check(self) -> None:
        if self.dispatcher.done and not self.ended:
            self.end(interrupted=False)
            self.runner.quit()

    def end(self, *, interrupted: bool) -> None:
        if self.ended:
            return
        self.ended = True
        self.summary.interrupted = interrupted and not self.dispatcher.done
        self.summary.finished = self.summary.finished or time.monotonic()
        self.environment.process_exit_code = conclude(self.summary, self.opened, self.fail_on, 10)


class _Worker:
    def __init__(self, environment: Any) -> None:
        self.environment = environment
        self.runner = environment.runner
        self.stories: queue.SimpleQueue[tuple[int, Path]] = queue.SimpleQueue()
        self.done = False
        self.answered = Event()
        self.player: StoryPlayer | None = None
        self.outcomes: dict[int, list[Outcome]] = {}
        self.folder = Path(tempfile.mkdtemp(prefix="talon-swarm-"))
        self.runner.register_message(_STORIES, self.arrived)

    def ready(self) -> StoryPlayer:
        """The player, made once the master's options have come with the first spawn."""
        if self.player is None:
            options = self.environment.parsed_options
            contract = load_contract()
            embedded = embedded_host(self.environment.host)  # each user its own sandbox, reset per story
            self.player = StoryPlayer(contract, ReplayOptions(
                target=EMBEDDED if embedded else self.environment.host,
                api_key=seed_api_key() if embedded else options.talon_api_key, concurrency=1,
                namespace=options.talon_namespace,
            ), sink=self.sink, own_target=sandbox_factory(contract) if embedded else None)  # fmt: skip
        return self.player

    def arrived(self, environment: Any, msg: Any) -> None:
        for number, name, data in msg.data["stories"]:
            log.debug("story %d (%s) handed to this worker", number, name)
            path = self.folder / f"{number}-{name}"
            path.write_bytes(data)
            self.stories.put((number, path))
        self.done = bool(msg.data["done"]) and not msg.data["stories"]
        self.answered.set()

    def next_story(self) -> tuple[int, Path]:
        while True:
            try:
                return self.stories.get_nowait()
            except queue.Empty:
                if self.done:
                    raise
            self.answered.clear()
            self.runner.send_message(_WANT, {"n": 1})
            if not self.answered.wait(30):
                raise queue.Empty  # the master is gone: Locust's heartbeat ends this worker
            if self.stories.empty() and not self.done:
                gevent.sleep(_ASK_AGAIN)

    def sink(self, outcome: Outcome) -> None:
        self.outcomes.setdefault(outcome.story, []).append(outcome)
        if outcome.kind != "skipped":
            events.request.fire(
                request_type=outcome.method, name=outcome.operation_id or "(no operation)",
                response_time=outcome.elapsed * 1000, response_length=0, context={},
                exception=AssertionError(f"{outcome.kind}: {outcome.reason or ''}") if outcome.finding else None,
            )  # fmt: skip

    def ended(self, number: int, path: Path) -> None:
        batch = self.outcomes.pop(number, [])
        self.runner.send_message(_OUTCOMES, {"number": number, "batch": dumps_outcomes(batch)})
        path.unlink(missing_ok=True)


class _Stories:
    """One user's stories (``threads.Stories``): asking for the next one says the last one ended."""

    def __init__(self, worker: _Worker) -> None:
        self.worker = worker
        self.current: tuple[int, Path] | None = None

    def get_nowait(self) -> tuple[int, Path]:
        if self.current is not None:
            self.worker.ended(*self.current)
            self.current = None
        self.current = self.worker.next_story()
        return self.current


class StoryUser(User):
    """A story slot: replays the master's stories one after the other until there are none."""

    wait_time = constant(0)

    @task
    def replay(self) -> None:
        worker: _Worker = self.environment.talon_worker
        if worker.done:
            gevent.sleep(1)
            return
        play_threaded(worker.ready(), _Stories(worker))
