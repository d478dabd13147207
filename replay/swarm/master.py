"""The master of a distributed replay: the options checked, stories handed out, outcomes taken in,
the reports and the exit code. Runs inside Locust's master process (``locustfile`` makes it).

Everything a worker sends is checked before it is used (``wire`` for the outcomes; counts, kinds,
operation ids and numbers here): a peer on the port can make wrong outcomes at worst.

How a run ends:
- verify mode: when every story is in or given up (``StoryDispatcher.done``);
- load mode: when its time is up. The master keeps Locust's ``--run-time`` for itself: at the end it
  stops the workers through Locust (``runner.stop``), which waits until each has stopped its
  users, and a worker sends its last counts before it says so; then the reports are complete;
- a target given up on by a worker (as a local replay gives up on it): at once, exit 2;
- every worker gone before a verification run is done: exit 2, the stories left named;
- Ctrl-C: the reports of what was done, exit 130 (a load run stopped before its time too).
"""

from __future__ import annotations

import atexit
import logging
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import click
import gevent
from locust import events

from replay.cassettes import input_files
from replay.cassettes.model import ReadProblem
from replay.cli.replay_options import (
    Job,
    conclude,
    job,
    namespace_for,
    open_reports,
    parse_fail_on,
    writes_for,
)
from replay.cli.swarm import STATUS_ENV
from replay.cli.targets import allowed_hosts, check_target, require_key
from replay.engine.options import WRITE_POLICIES, ReplayOptions
from replay.engine.outcomes import Outcome, ReplaySummary
from replay.engine.runner import shared_plan
from replay.engine.sandboxes import seed_api_key
from replay.engine.shared import SharedState
from replay.swarm.dispatch import StoryDispatcher
from replay.swarm.protocol import (
    EMBEDDED,
    GIVE_BACK,
    MODES,
    STORIES,
    WANT,
    checked_count,
    checked_problem,
    embedded_host,
    settings_of,
)
from replay.swarm.protocol import OUTCOMES as OUTCOMES_MESSAGE
from replay.swarm.wire import WireError, loads_outcomes

__all__ = ["Master", "checked_options"]

log = logging.getLogger("talon-contracts.swarm")

_ASKING = 5.0  # seconds: a worker that asked for a story this recently has users (the rate is theirs)
_MAX_WANTED = 64  # stories one question may ask for


def listed(values: list[str]) -> list[str]:
    """A repeatable option's values, each of which may be a comma-separated list."""
    return [part for value in values for part in value.split(",") if part]


def checked_options(options: Any, host: str | None) -> tuple[ReplayOptions, Job]:
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
    if options.talon_writes is not None and options.talon_writes not in WRITE_POLICIES:
        raise click.BadParameter(f"{options.talon_writes!r}: valid are {', '.join(WRITE_POLICIES)}",
                                 param_hint="--talon-writes")  # fmt: skip
    parse_fail_on(options.talon_fail_on)
    embedded = embedded_host(host)
    target = host or EMBEDDED
    if not embedded:
        check_target(target, allowed_hosts(tuple(options.talon_allow_host)))
        require_key("--host", options.talon_api_key or None, "--talon-api-key")
    the_job = job({
        "paths": tuple(Path(p) for p in listed(options.talon_inputs)), "contract_path": None,
        "concurrency": 1, "processes": 1, "rate": options.talon_rate, "speed": options.talon_speed,
        "writes": options.talon_writes, "namespace": options.talon_namespace,
        "no_namespace": options.talon_no_namespace, "noise_files": [Path(p) for p in options.talon_noise],
        "ignored": options.talon_ignore, "no_builtin_noise": options.talon_no_builtin_noise,
        "operations": options.talon_operation, "keep_ids": options.talon_keep_id,
        "fresh_target": options.talon_fresh_target, "allow_host": options.talon_allow_host,
        "timeout": options.talon_timeout, "quiet": True,
    })  # fmt: skip
    replay = ReplayOptions(
        target=EMBEDDED if embedded else target, api_key=seed_api_key() if embedded else options.talon_api_key,
        writes=writes_for(the_job, None if embedded else target), namespace=namespace_for(the_job, embedded),
        noise=the_job.noise, **the_job.options,
    )  # fmt: skip
    return replay, the_job


class Master:
    def __init__(self, environment: Any) -> None:
        options = environment.parsed_options
        self.environment = environment
        self.runner = environment.runner
        self.replay, the_job = checked_options(options, environment.host)
        self.mode, self.sample = options.talon_mode, options.talon_sample
        self.fail_on, self.findings = options.talon_fail_on, options.talon_findings
        self.headless, self.autoquit = bool(options.headless), getattr(options, "autoquit", -1)
        self.operations = {op.operation_id for op in the_job.contract}
        self.summary = ReplaySummary(self.replay.target)
        files = input_files(the_job.paths, self.summary.unreadable)
        self.paths = dict(enumerate(files, 1))
        self.summary.stories = len(files)
        own = self.replay.target == EMBEDDED
        numbered = list(self.paths.items())
        self.shared: SharedState | None = None
        phases = [numbered]
        if not own and not self.replay.fresh_target:  # a target every story shares: as Replayer.run
            self.shared, phases = shared_plan(the_job.contract, numbered, self.replay.keep_ids,
                                              order=self.mode == "verify")  # fmt: skip
        # a story half replayed on a shared target may have acted: resent only to targets of its own
        self.dispatcher = StoryDispatcher(phases, resend=own, loop=self.mode == "load")
        self.sent: dict[str, set[int]] = {}  # load mode: the stories a worker has the file of
        self.asking: dict[str, float] = {}  # worker -> when it last asked for a story
        self.settings = settings_of(self.replay, self.mode, self.sample)
        self.configured: set[str] = set()  # the workers sent the settings
        self.kept: Counter[tuple[str | None, str]] = (
            Counter()
        )  # load mode: findings kept per (operation, kind)
        self.problems: set[tuple[int, str, int | None]] = set()
        # a load run's time is the master's to keep (see the module's docstring), not Locust's
        self.run_time = options.run_time if self.mode == "load" else None
        if self.run_time:
            options.run_time = None
        self.time_up = False
        self.opened = open_reports(tuple(listed(options.talon_report)))
        atexit.register(self.abandon)  # Locust may exit without its quitting event (no workers came)
        self.ended = self.left = False
        self.asked = False
        self.runner.register_message(WANT, self.want)
        self.runner.register_message(OUTCOMES_MESSAGE, self.outcomes)
        self.runner.register_message(GIVE_BACK, self.given_back)
        events.quitting.add_listener(lambda **_: self.end(interrupted=self.cut_short()))
        events.test_start.add_listener(self.started)
        events.test_stop.add_listener(self.stopped)
        gevent.spawn(self.watch)

    def workers(self) -> set[str]:
        clients = self.runner.clients
        return {c.id for c in clients.ready + clients.spawning + clients.running}

    # -- messages

    def want(self, environment: Any, msg: Any) -> None:
        if not self.asked:  # the replay's clock starts with its first story, not with waiting for workers
            self.asked = True
            self.summary.started = time.monotonic()
        try:
            wanted = min(max(int(msg.data["n"]), 1), _MAX_WANTED)  # a peer's number, bounded
        except (KeyError, TypeError, ValueError):
            log.error("worker %s asked for stories in a message that is not a question; ignored", msg.node_id)
            return
        self.asking[msg.node_id] = time.monotonic()
        closed = self.ended or self.time_up
        given = [] if closed else self.dispatcher.claim(msg.node_id, wanted)
        known = self.sent.setdefault(msg.node_id, set())
        stories = []
        for story in given:
            original = self.dispatcher.original(story.number)
            data = None if original in known else story.path.read_bytes()
            if self.dispatcher.loop:
                known.add(original)  # a load run's rounds send a file once to each worker
            stories.append([story.number, original, story.path.name, data])
        answer = {"stories": stories, "done": closed or self.dispatcher.done, "rate": self.replay.rate}
        if self.replay.rate:  # the rate is all workers' together: shared by those with story slots
            now, alive = time.monotonic(), self.workers()
            busy = [w for w, at in self.asking.items() if now - at < _ASKING and w in alive]
            answer["rate"] = self.replay.rate / max(len(busy), 1)
        if msg.node_id not in self.configured:  # the settings once to each worker (~6 KB: the noise rules)
            self.configured.add(msg.node_id)
            answer["settings"] = self.settings
        self.runner.send_message(STORIES, answer, client_id=msg.node_id)

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
            counts = [checked_count(item, self.operations) for item in data.get("counts", ())]
            problems = [checked_problem(item) for item in data.get("problems", ())]
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
            if (self.mode == "verify" and number not in accepted) or number < 1:
                continue
            if outcome.operation_id not in self.operations:
                outcome.operation_id = None  # not one of the contract's: a peer's invention
            outcome.source = str(
                self.paths[self.dispatcher.original(number)]
            )  # the worker's copy was a temporary file
            if self.shared is not None and self.mode == "verify":  # a load run's counts are the workers' word
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
            self.leave()
            return
        self.check()

    def given_back(self, environment: Any, msg: Any) -> None:
        """A worker's story slots stopped by Locust before their stories ended."""
        try:
            numbers = [int(n) for n in msg.data["numbers"]]
        except (KeyError, TypeError, ValueError):
            return
        for story, reason in self.dispatcher.given_back(msg.node_id, numbers, "its story slot was stopped"):
            self.add(Outcome(str(story.path), 0, None, None, "", "", "error", reason, story=story.number))
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

    # -- the run

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
            self.leave()

    def started(self, **_: Any) -> None:
        if self.run_time:  # Locust says it has no run time limit: the master keeps this one
            log.info("load run: %d s, then the workers' last counts and the reports", self.run_time)
            gevent.spawn_later(self.run_time, self.times_up)

    def times_up(self) -> None:
        """A load run's end: no more stories; Locust stops the workers' users and waits for them,
        each worker's last counts come before it says it stopped (``stopped`` then ends the run)."""
        if self.ended:
            return
        log.info("--run-time reached: stopping the workers")
        self.time_up = True
        self.runner.stop()
        self.end(interrupted=False)  # if the stop did not reach ``stopped`` (no workers left)
        self.leave()

    def stopped(self, **_: Any) -> None:
        """Locust stopped the run: its time is up, the web UI's button, or the last worker went
        missing (Locust's heartbeat). A load run ends there; a verification run that is not done
        is interrupted by the button, and cannot go on without workers."""
        if self.ended:
            return
        if self.mode == "load":
            self.end(interrupted=False)
            self.leave()
        elif not self.dispatcher.done:
            if self.workers():
                self.end(interrupted=True)
                return
            left = self.dispatcher.total - self.dispatcher.finished_stories
            self.summary.unreadable.append(f"every worker went away: {left} story(ies) not replayed")
            self.end(interrupted=False)
            self.leave()

    def cut_short(self) -> bool:
        """Whether the run ends before its time (Ctrl-C): a verification run before every story is
        in, a load run before its time is up."""
        return self.mode == "verify" or not self.time_up

    def leave(self) -> None:
        """After the reports: a headless run ends; the web UI stays up with the run's statistics
        (for ``--autoquit`` seconds when it is given). Once."""
        if self.left:
            return
        self.left = True
        if self.headless:
            gevent.spawn(self.runner.quit)
        else:
            gevent.spawn(self.runner.stop)
            if self.autoquit is not None and self.autoquit >= 0:
                gevent.spawn_later(self.autoquit, self.quit_web)

    def quit_web(self) -> None:
        """What Locust's ``--autoquit`` does at its end: the runner, then the web UI, its main greenlet."""
        self.runner.quit()
        if self.environment.web_ui is not None:
            self.environment.web_ui.stop()

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

    def abandon(self) -> None:
        """At exit without an end (Locust gave up waiting for workers): no half-written reports."""
        if not self.ended:
            for report, _ in self.opened:
                report.abandon(RuntimeError("the replay did not start"))
