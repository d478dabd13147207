"""A replay spread over Locust workers, run with Locust's own commands (the module is a locustfile):

    locust -f replay/swarm/locustfile.py --master --headless --expect-workers 2 \\
        --host https://staging.example.talon.one --talon-inputs captures/ --talon-report json:replay.json
    locust -f replay/swarm/locustfile.py --worker --master-host MASTER      # on each worker machine

(``talon-contracts replay swarm`` runs the same with the options of ``replay run``.)

The master reads the inputs (paths only: a story's file is read when it is handed out), decides
the replay's settings once (``replay_options.job``: target, writes, namespace, noise rules ...)
and hands out stories (``dispatch.StoryDispatcher``) with those settings to workers that ask for
them. Each worker replays its stories with the engine's own pipeline (``play_threaded``: id
rewriting, namespaces, write policies, validation, diff, noise) and sends outcomes back (``wire``);
the master writes the same reports as ``replay run`` and sets Locust's exit code to the replay's.
Locust's statistics name requests by operation id; a finding is a Locust failure.

Two modes (``--talon-mode``):
- ``verify``: each story once; a worker sends a story's outcomes when it ends. The outcomes are a
  local replay's: on a shared target the stories go out in the phases a local replay plays them in
  (``SharedState.phases``) and the master, which sees every story, says which differences shared
  state explains (``SharedState.classify``).
- ``load``: the stories round after round until ``--run-time`` is up (each round a namespace of its
  own), at ``--talon-rate`` (all workers together) or ``--talon-speed`` (the recorded pace). Workers
  count outcomes and send the counts and at most ``--talon-sample`` findings per operation and
  outcome every second; the reports hold those samples and the complete counts.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import click
import gevent
from gevent.event import Event
from locust import User, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

from contracts.spec import load_contract
from replay.cassettes import input_files
from replay.cassettes.model import ReadProblem
from replay.cli.common import EXIT_ERROR
from replay.cli.replay_options import conclude, job, namespace_for, open_reports, parse_fail_on, writes_for
from replay.cli.swarm import STATUS_ENV
from replay.cli.targets import allowed_hosts, check_target, require_key
from replay.engine.options import ReplayOptions
from replay.engine.outcomes import FINDINGS, Outcome, ReplaySummary
from replay.engine.runner import ORDERED_UP_TO
from replay.engine.sandboxes import sandbox_factory, seed_api_key
from replay.engine.shared import SharedState
from replay.engine.stories import StoryPlayer
from replay.engine.threads import play_threaded
from replay.engine.transport import RateLimiter
from replay.rules.noise import NoiseRules
from replay.swarm.dispatch import StoryDispatcher
from replay.swarm.wire import WireError, dumps_outcomes, loads_outcomes, noise_of, plain_noise

log = logging.getLogger("talon-contracts.swarm")

_WANT, _STORIES, _OUTCOMES = "talon_want", "talon_stories", "talon_outcomes"
_ASK_AGAIN = 0.2  # seconds a worker waits before asking again when a phase has nothing for it yet
#: seconds without an answer to a worker's question: the master is gone, the worker stops (sooner
#: than Locust's own 60 s without the master's heartbeat)
_MASTER_SILENT = float(os.environ.get("TALON_SWARM_MASTER_SILENCE", "30"))
_FLUSH_EVERY = 1.0  # seconds between a load run's counts from a worker (as Locust's own stats reports)
MODES = ("verify", "load")
EMBEDDED = "embedded sandbox"


def embedded_host(host: str | None) -> bool:
    """``--host embedded`` (or none): every worker's users replay on sandboxes of their own."""
    return not host or host == "embedded"


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    # a group's arguments are not shown in the web UI's form: the API key is not displayed there
    group = parser.add_argument_group("talon-contracts", "replaying recorded Talon.One traffic")
    add = group.add_argument
    add(
        "--talon-inputs",
        action="append",
        default=[],
        help="Cassettes or captures to replay (repeatable, or comma-separated)",
    )
    add(
        "--talon-report",
        action="append",
        default=[],
        help="A report to write, FORMAT:PATH (json, junit, html; repeatable)",
    )
    add("--talon-api-key", default="", env_var="TALON_API_KEY", help="API key of --host")
    add(
        "--talon-mode",
        default="verify",
        help="verify (each story once) or load (round after round for --run-time)",
    )
    add(
        "--talon-rate", default=None, help="At most this many requests per second, all workers together: 50/s"
    )
    add("--talon-speed", default="max", help="max, or a factor of the recorded pace: 1x, 2x ...")
    add("--talon-sample", type=int, default=100, help="Load mode: findings kept per operation and outcome")
    add("--talon-fail-on", default="changed,violation,error", help="Outcomes that make the exit code 1")
    add("--talon-findings", type=int, default=10, help="Findings shown in the summary")
    add("--talon-writes", default=None, help="allow, dry or skip. Default: allow on loopback, dry elsewhere")
    add("--talon-namespace", default=None, help="Prefix for the ids stories create (default: fresh per run)")
    add("--talon-no-namespace", action="store_true", help="Send client-chosen ids as recorded")
    add("--talon-noise", action="append", default=[], help="A noise rules file (repeatable)")
    add(
        "--talon-ignore",
        action="append",
        default=[],
        help="A JSONPath whose differences are noise (repeatable)",
    )
    add("--talon-no-builtin-noise", action="store_true", help="Do not apply the built-in noise rules")
    add("--talon-operation", action="append", default=[], help="Replay only this operation (repeatable)")
    add(
        "--talon-keep-id",
        action="append",
        default=[],
        help="An id that exists on the target before any story",
    )
    add("--talon-fresh-target", action="store_true", help="The target holds each story's recorded state")
    add(
        "--talon-allow-host",
        action="append",
        default=[],
        help="A non-loopback host that may be replayed against",
    )
    add("--talon-timeout", type=float, default=30.0, help="Seconds per request")  # fmt: skip


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        try:
            environment.talon_master = _Master(environment)
        except (
            click.ClickException
        ) as exc:  # a usage error: said once, exit 2 (SystemExit passes Locust's handlers)
            print(f"talon-contracts: {exc.format_message()}", file=sys.stderr)
            raise SystemExit(EXIT_ERROR) from None
    elif isinstance(runner, WorkerRunner):
        environment.talon_worker = _Worker(environment)
    else:
        print("talon-contracts: the replay's locustfile runs as --master with --worker processes "
              "(or --processes N on one machine)", file=sys.stderr)  # fmt: skip
        raise SystemExit(EXIT_ERROR)


def _usage(options: Any, host: str | None) -> tuple[ReplayOptions, Any]:
    """The replay's options, checked as ``replay run`` checks its own (click errors: exit 2)."""
    mode = options.talon_mode
    if mode not in MODES:
        raise click.BadParameter(f"{mode!r}: valid modes are {', '.join(MODES)}", param_hint="--talon-mode")
    if mode == "load" and options.headless and not options.run_time:
        raise click.UsageError(
            "a load run lasts --run-time (e.g. --run-time 5m); verify mode replays each story once"
        )
    if options.talon_sample < 0 or options.talon_findings < 0:
        raise click.BadParameter(
            "expected a count of 0 or more", param_hint="--talon-sample/--talon-findings"
        )
    parse_fail_on(options.talon_fail_on)
    embedded = embedded_host(host)
    target = host or EMBEDDED
    if not embedded:
        check_target(target, allowed_hosts(tuple(options.talon_allow_host)))
        require_key("--host", options.talon_api_key or None, "--talon-api-key")
    the_job = job({
        "paths": tuple(Path(p) for p in _listed(options.talon_inputs)), "contract_path": None,
        "concurrency": 1, "processes": 1, "rate": options.talon_rate, "speed": options.talon_speed,
        "writes": options.talon_writes, "namespace": options.talon_namespace,
        "no_namespace": options.talon_no_namespace, "noise_files": [Path(p) for p in options.talon_noise],
        "ignored": options.talon_ignore, "no_builtin_noise": options.talon_no_builtin_noise,
        "operations": options.talon_operation, "keep_ids": options.talon_keep_id,
        "fresh_target": options.talon_fresh_target, "allow_host": options.talon_allow_host,
        "timeout": options.talon_timeout, "quiet": True,
    })  # fmt: skip
    if options.talon_writes is not None and options.talon_writes not in ("allow", "dry", "skip"):
        raise click.BadParameter(
            f"{options.talon_writes!r}: valid are allow, dry, skip", param_hint="--talon-writes"
        )
    replay = ReplayOptions(
        target=EMBEDDED if embedded else target, api_key=seed_api_key() if embedded else options.talon_api_key,
        writes=writes_for(the_job, None if embedded else host), namespace=namespace_for(the_job, embedded),
        noise=the_job.noise, **the_job.options,
    )  # fmt: skip
    return replay, the_job


def _listed(values: list[str]) -> list[str]:
    """A repeatable option's values, each of which may be a comma-separated list."""
    return [part for value in values for part in value.split(",") if part]


def settings_of(options: ReplayOptions, mode: str, sample: int) -> dict[str, Any]:
    """What a worker replays with, as plain data (the master decides it once for every worker)."""
    return {"target": options.target, "api_key": options.api_key, "writes": options.writes,
            "namespace": options.namespace, "noise": [plain_noise(r) for r in options.noise],
            "operations": None if options.operations is None else sorted(options.operations),
            "keep_ids": sorted(options.keep_ids), "timeout": options.timeout, "speed": options.speed,
            "rate": options.rate, "mode": mode, "sample": sample}  # fmt: skip


def options_of(settings: dict[str, Any]) -> ReplayOptions:
    """The inverse of :func:`settings_of` (on a worker, which trusts its master)."""
    operations = settings["operations"]
    return ReplayOptions(
        target=settings["target"], api_key=settings["api_key"], concurrency=1, writes=settings["writes"],
        namespace=settings["namespace"], noise=NoiseRules(noise_of(r) for r in settings["noise"]),
        operations=None if operations is None else frozenset(operations), keep_ids=frozenset(settings["keep_ids"]),
        timeout=float(settings["timeout"]), speed=settings["speed"], rate=settings["rate"],
    )  # fmt: skip


class _Master:
    def __init__(self, environment: Any) -> None:
        options = environment.parsed_options
        self.environment = environment
        self.runner = environment.runner
        self.replay, the_job = _usage(options, environment.host)
        self.mode, self.sample = options.talon_mode, options.talon_sample
        self.fail_on, self.findings = options.talon_fail_on, options.talon_findings
        self.summary = ReplaySummary(self.replay.target)
        files = input_files(the_job.paths, self.summary.unreadable)
        self.paths = dict(enumerate(files, 1))
        self.summary.stories = len(files)
        own = self.replay.target == EMBEDDED
        numbered = list(self.paths.items())
        self.shared: SharedState | None = None
        phases = [numbered]
        if not own and not self.replay.fresh_target:  # a target every story shares: as Replayer.run
            self.shared = SharedState(the_job.contract, files, self.replay.keep_ids)
            if self.mode == "verify" and len(files) > 1 and sum(_size(p) for p in files) <= ORDERED_UP_TO:
                phases = self.shared.phases(numbered)
        # a story half replayed on a shared target may have acted: resent only to targets of its own
        self.dispatcher = StoryDispatcher(phases, resend=own, loop=self.mode == "load")
        self.sent: dict[str, set[int]] = {}  # load mode: the stories a worker has the file of
        self.kept: Counter[tuple[str | None, str]] = (
            Counter()
        )  # load mode: findings kept per (operation, kind)
        self.problems: set[tuple[int, str, Any]] = set()
        self.run_time = options.run_time
        self.opened = open_reports(tuple(_listed(options.talon_report)))
        self.ended = False
        self.asked = False
        self.runner.register_message(_WANT, self.want)
        self.runner.register_message(_OUTCOMES, self.outcomes)
        events.quitting.add_listener(lambda **_: self.end(interrupted=self.cut_short()))
        events.test_stop.add_listener(self.stopped)
        gevent.spawn(self.watch)

    def workers(self) -> set[str]:
        clients = self.runner.clients
        return {c.id for c in clients.ready + clients.spawning + clients.running}

    def want(self, environment: Any, msg: Any) -> None:
        if not self.asked:  # the replay's clock starts with its first story, not with waiting for workers
            self.asked = True
            self.summary.started = time.monotonic()
        given = [] if self.ended else self.dispatcher.claim(msg.node_id, int(msg.data["n"]))
        known = self.sent.setdefault(msg.node_id, set())
        stories = []
        for story in given:
            original = self.dispatcher.original(story.number)
            data = None if original in known else story.path.read_bytes()
            if self.dispatcher.loop:
                known.add(original)  # a load run's rounds send a file once to each worker
            stories.append([story.number, original, story.path.name, data])
        settings = settings_of(self.replay, self.mode, self.sample)
        if self.replay.rate:  # the rate is all workers' together: each gets its share
            settings["rate"] = self.replay.rate / max(len(self.workers()), 1)
        done = self.ended or self.dispatcher.done
        self.runner.send_message(
            _STORIES, {"stories": stories, "done": done, "settings": settings}, client_id=msg.node_id
        )

    def outcomes(self, environment: Any, msg: Any) -> None:
        if self.ended:
            return  # the reports are written: what a worker still had in hand when the run ended
        data, worker = msg.data, msg.node_id
        try:
            ended = [int(n) for n in data["ended"]]
        except (KeyError, TypeError, ValueError) as exc:
            log.error("worker %s sent a message that is not outcomes (%s); ignored", worker, exc)
            return
        accepted = {n for n in ended if self.dispatcher.finished(worker, n)}  # not a late answer
        try:
            batch = loads_outcomes(data["batch"])
            counts = [
                (op if op is None else str(op), str(kind), int(n)) for op, kind, n in data.get("counts", ())
            ]
            problems = [(int(n), str(m), i, line, bool(f)) for n, m, i, line, f in data.get("problems", ())]
            unreadable = [str(u) for u in data.get("unreadable", ())]
        except (
            WireError,
            KeyError,
            TypeError,
            ValueError,
        ) as exc:  # a malfunction, never a finding about the API
            for number in sorted(accepted):
                self.add(Outcome(str(self.paths.get(self.dispatcher.original(number), "?")), 0, None, None, "", "",
                                 "malfunction", f"worker {worker} sent its outcomes unreadable: {exc}", story=number))  # fmt: skip
            self.check()
            return
        for outcome in batch:
            number = outcome.story
            if self.mode == "verify" and number not in accepted:
                continue
            outcome.source = str(
                self.paths[self.dispatcher.original(number)]
            )  # the worker's copy was a temporary file
            if self.shared is not None:
                self.shared.classify(outcome)
            self.add(outcome)
        for operation, kind, count in counts:
            self.summary.tally(operation, kind, count)
        for number, message, index, line, fatal in problems:  # number: the story's, of its first round
            if (
                number,
                message,
                index,
            ) not in self.problems and number in self.paths:  # said once, every round
                self.problems.add((number, message, index))
                self.summary.problems.append(
                    ReadProblem(str(self.paths[number]), message, index, line, fatal)
                )
        if unreadable:  # a worker gave up on the target: the whole run does (as a local replay does)
            self.summary.unreadable += [u for u in unreadable if u not in self.summary.unreadable]
            self.end(interrupted=False)
            self.runner.quit()
            return
        self.check()

    def add(self, outcome: Outcome) -> None:
        if self.mode == "load":  # a sample of the findings goes to the reports, every outcome is counted
            bucket = (outcome.operation_id, outcome.kind)
            if self.kept[bucket] >= self.sample:
                self.summary.tally(outcome.operation_id, outcome.kind)
                return
            self.kept[bucket] += 1
        self.summary.add(outcome)
        for report, _ in self.opened:
            report.add(outcome)

    def watch(self) -> None:
        """Workers that went away give their stories back (Locust marks a worker missing after 3 s
        without a heartbeat)."""
        while not self.ended:
            gevent.sleep(1)
            alive = self.workers()
            for worker in self.dispatcher.holders():
                if worker not in alive:
                    held = len(self.dispatcher.out(worker))
                    given_up = self.dispatcher.lost(worker, f"worker {worker} went away")
                    self.sent.pop(worker, None)
                    again = 0 if self.dispatcher.loop else held - len(given_up)
                    log.warning("worker %s went away holding %d story(ies): %d handed out again, %d given up",
                                worker, held, again, len(given_up))  # fmt: skip
                    for story, reason in given_up:
                        self.add(Outcome(str(story.path), 0, None, None, "", "", "error", reason, story=story.number))  # fmt: skip
            self.check()

    def check(self) -> None:
        if self.dispatcher.done and not self.ended:
            self.end(interrupted=False)
            if self.environment.parsed_options.headless:
                self.runner.quit()
            else:  # the web UI stays up with the run's statistics; the reports are written
                gevent.spawn(self.runner.stop)

    def cut_short(self) -> bool:
        """Whether the run ends before its time (Ctrl-C): a verification run before every story is
        in, a load run before its ``--run-time`` (Locust starts that clock as the first story goes)."""
        if self.mode == "verify":
            return True
        return bool(self.run_time) and self.summary.seconds < self.run_time - 1.0

    def stopped(self, **_: Any) -> None:
        """The run was stopped (the web UI's button, the last worker gone): a load run ends there,
        once the workers' last counts are in; a verification run that is not done is interrupted."""
        if self.mode == "load":
            gevent.spawn_later(2 * _FLUSH_EVERY, self.end, interrupted=False)
        elif not self.dispatcher.done:
            self.end(interrupted=True)

    def end(self, *, interrupted: bool) -> None:
        if self.ended:
            return
        self.ended = True
        self.summary.interrupted = interrupted and not self.dispatcher.done
        self.summary.finished = self.summary.finished or time.monotonic()
        code = self.environment.process_exit_code = conclude(
            self.summary, self.opened, self.fail_on, self.findings
        )
        status = os.environ.get(STATUS_ENV)
        if status:  # for `replay swarm`: the replay's exit code, told apart from Locust's own
            Path(status).write_text(f"{code}\n")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _Worker:
    def __init__(self, environment: Any) -> None:
        self.environment = environment
        self.runner = environment.runner
        self.stories: queue.SimpleQueue[tuple[int, Path]] = queue.SimpleQueue()
        self.done = False
        self.answered = Event()
        self.settings: dict[str, Any] | None = None
        self.player: StoryPlayer | None = None
        self.folder = Path(tempfile.mkdtemp(prefix="talon-swarm-"))
        self.files: dict[int, Path] = {}  # load mode: the stories' files, kept for the next rounds
        # verify mode: each story's outcomes, sent when it ends; load mode: counts and a sample
        self.outcomes: dict[int, list[Outcome]] = {}
        self.counts: Counter[tuple[str | None, str]] = Counter()
        self.sampled: Counter[tuple[str | None, str]] = Counter()
        self.ended_stories: list[int] = []
        self.problems_seen = 0
        self.runner.register_message(_STORIES, self.arrived)
        # Locust logs at INFO; an embedded sandbox's line per request would drown its output
        logging.getLogger("contracts.sandbox").setLevel(logging.WARNING)
        events.test_stop.add_listener(lambda **_: self.flush())
        events.quitting.add_listener(lambda **_: shutil.rmtree(self.folder, ignore_errors=True))
        gevent.spawn(self.flushing)

    @property
    def load(self) -> bool:
        return self.settings is not None and self.settings["mode"] == "load"

    def ready(self) -> StoryPlayer:
        """The player, made once the master's settings have come with the first stories."""
        if self.player is None:
            assert self.settings is not None, "stories come with their settings"
            contract = load_contract()
            options = options_of(self.settings)
            own = sandbox_factory(contract) if options.target == EMBEDDED else None  # reset per story
            self.player = StoryPlayer(contract, options, sink=self.sink, own_target=own)
        return self.player

    def arrived(self, environment: Any, msg: Any) -> None:
        settings = msg.data["settings"]
        if self.player is not None and settings["rate"] != self.player.options.rate:  # workers came or went
            self.player.options.rate = settings["rate"]
            self.player.pipeline.limiter = RateLimiter(settings["rate"]) if settings["rate"] else None
        self.settings = settings
        for number, original, name, data in msg.data["stories"]:
            log.debug("story %d (%s) handed to this worker", number, name)
            if data is None:
                path = self.files[original]
            else:
                path = self.folder / f"{original}-{name}"
                path.write_bytes(data)
                if self.load:
                    self.files[original] = path
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
            if not self.answered.wait(_MASTER_SILENT):
                log.error("the master did not answer in %.0f s: this worker stops", _MASTER_SILENT)
                self.done = True
                gevent.spawn(self.runner.quit)
                raise queue.Empty
            if self.stories.empty() and not self.done:
                gevent.sleep(_ASK_AGAIN)

    def sink(self, outcome: Outcome) -> None:
        if outcome.kind != "skipped":
            events.request.fire(
                request_type=outcome.method, name=outcome.operation_id or "(no operation)",
                response_time=outcome.elapsed * 1000, response_length=0, context={},
                exception=AssertionError(failure(outcome)) if outcome.finding else None,
            )  # fmt: skip
        if not self.load:
            self.outcomes.setdefault(outcome.story, []).append(outcome)
            return
        bucket = (outcome.operation_id, outcome.kind)
        if outcome.kind in FINDINGS | {"malfunction"} and self.sampled[bucket] < self.settings["sample"]:  # type: ignore[index]
            self.sampled[bucket] += 1
            self.outcomes.setdefault(outcome.story, []).append(outcome)
        else:
            self.counts[bucket] += 1

    def ended(self, number: int, path: Path) -> None:
        """A story is over: in verify mode its outcomes go now; in a load run with the next counts."""
        if self.load:
            self.ended_stories.append(number)
            return
        self.send([number], self.outcomes.pop(number, []))
        path.unlink(missing_ok=True)

    def flushing(self) -> None:
        while True:
            gevent.sleep(_FLUSH_EVERY)
            if self.load:
                self.flush()

    def flush(self) -> None:
        """A load run's counts, sampled findings and ended stories since the last flush."""
        if not self.load or not (self.counts or self.outcomes or self.ended_stories):
            return
        batch = [o for outcomes in self.outcomes.values() for o in outcomes]
        counts = [[op, kind, n] for (op, kind), n in self.counts.items()]
        ended, self.ended_stories = self.ended_stories, []
        self.outcomes, self.counts = {}, Counter()
        self.send(ended, batch, counts)

    def send(self, ended: list[int], batch: list[Outcome], counts: list[list[Any]] | None = None) -> None:
        summary = self.player.summary if self.player is not None else None
        problems: list[list[Any]] = []
        unreadable: list[str] = []
        if summary is not None:
            new = summary.problems[self.problems_seen :]
            self.problems_seen = len(summary.problems)
            problems = [[_story_of(p.source), p.message, p.index, p.line, p.fatal] for p in new]
            unreadable, summary.unreadable = summary.unreadable, []
        self.runner.send_message(_OUTCOMES, {"ended": ended, "batch": dumps_outcomes(batch), "counts": counts or [],
                                             "problems": problems, "unreadable": unreadable})  # fmt: skip


def failure(outcome: Outcome) -> str:
    """A finding as Locust's error table shows it: grouped by this text, so it names where the
    answer differs (a status, the first pointer, the contract's keyword), never the values."""
    if outcome.kind == "violation" and outcome.violations:
        first = outcome.violations[0]
        return f"violation: {first.phase} {first.where or '/'} ({first.keyword})"
    diff = outcome.diff
    if outcome.kind == "changed" and diff is not None:
        if diff.status is not None:
            return f"changed: status {diff.status[0]} -> {diff.status[1]}"
        if diff.headers:
            return f"changed: header {diff.headers[0][0]}"
        if diff.real:
            return f"changed: {diff.real[0].kind} {diff.real[0].pointer or '/'}"
    return f"{outcome.kind}: {outcome.reason or 'no answer'}"


def _story_of(source: str) -> int:
    """The story a worker's copy of a file is (``<number>-<name>``, as ``_Worker.arrived`` names it)."""
    head = Path(source).name.partition("-")[0]
    return int(head) if head.isdigit() else 0


class _Stories:
    """One user's stories (``threads.Stories``): asking for the next one says the last one ended."""

    def __init__(self, worker: _Worker, first: tuple[int, Path]) -> None:
        self.worker = worker
        self.first: tuple[int, Path] | None = first
        self.current: tuple[int, Path] | None = None

    def get_nowait(self) -> tuple[int, Path]:
        if self.current is not None:
            self.worker.ended(*self.current)
            self.current = None
        if self.first is not None:
            self.current, self.first = self.first, None
        else:
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
        try:
            first = worker.next_story()  # the first answer brings the settings the player is made with
        except queue.Empty:
            return
        play_threaded(worker.ready(), _Stories(worker, first))
