"""One interaction, from its recording to its outcome: plan, send, judge.

:meth:`Pipeline.steps` is a generator: it yields each request it needs sent (a :class:`Request`)
and is resumed with the answer (a :class:`Sent`), so the same code serves a blocking story
(:func:`sent_in_turn`, ``replay.engine.threads``) and many stories on one thread
(``replay.engine.multiplexed``). It plans (the operation, the writes policy, the recorded
conflicts not worth sending), makes the recorded request fit each side's target (identifiers
rewritten, the caller's credential, a recorded foreign credential sent as an invalid key) and
judges the answer: validation against the contract, then the diff with what it is compared with
(the recording, or the baseline's answer in compare mode). Nothing here knows about threads,
processes or reports.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from contracts.http import (
    HttpRequest,
    HttpResponse,
    is_json_media,
    media_type,
    normalize_headers,
    parse_json,
    plain_url_parts,
)
from contracts.spec import Contract, Match
from replay.cassettes.model import (
    AUTH_PLACEHOLDER,
    FOREIGN_AUTH_PLACEHOLDER,
    MAX_DECODED_BODY,
    MAX_EXPANSION,
    Interaction,
    plain,
    plain_response,
)
from replay.engine.changes import ExchangeDiff
from replay.engine.diff import diff_responses
from replay.engine.options import ReplayOptions
from replay.engine.outcomes import Outcome
from replay.engine.rewrite import FLOW_OPERATIONS, StoryRewriter
from replay.engine.shared import SharedState
from replay.engine.transport import RateLimiter, Sent, Transport, check_request
from replay.rules.noise import NoiseRule
from replay.talon.policies import CONCURRENCY_CONFLICTS, authorization

__all__ = ["GENERATED", "Pipeline", "Request", "Side", "sent_in_turn"]

#: Request headers not replayed: the connection's own, and credentials (the caller's key is used).
NOT_REPLAYED = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "upgrade",
     "accept-encoding", "content-encoding", "authorization", "cookie", "proxy-authorization",
     "expect"}  # no 100-continue dance: the whole request goes in one write
)  # fmt: skip


class Request(NamedTuple):
    """A request a story needs sent (yielded by the ``*_steps`` generators, answered with a Sent)."""

    transport: Transport
    method: str
    target: str
    headers: dict[str, str]
    body: bytes | None
    meanwhile: Callable[[], None] | None


R = TypeVar("R")


def sent_in_turn(steps: Generator[Request, Sent, R]) -> R:
    """Drive ``steps`` with blocking sends: each request is sent, its answer handed back."""
    try:
        request = next(steps)
        while True:
            transport = request.transport
            sent = transport.send(
                request.method, request.target, request.headers, request.body, request.meanwhile
            )
            request = steps.send(sent)
    except StopIteration as done:
        return cast(R, done.value)


@dataclass(slots=True)
class Side:
    """One target of a replay: its connection, its story's rewriting state, its key."""

    transport: Transport
    rewriter: StoryRewriter
    api_key: str


#: Differences that are only a generated value the target chose differently (``StoryRewriter.explains``).
GENERATED = NoiseRule(
    "$..*", "a value the target generated differently (carried into later requests)", source="replay"
)


def explain_generated(diff: ExchangeDiff, sides: list[Side]) -> ExchangeDiff:
    def explained(before: Any, after: Any, location: tuple[str | int, ...]) -> bool:
        if len(sides) == 1:
            return sides[0].rewriter.explains(before, after, location)
        baseline, candidate = sides[0].rewriter, sides[1].rewriter
        return baseline.explains_pair(candidate, before, after, location)

    body = tuple(
        dataclasses.replace(c, noise=GENERATED)
        if c.noise is None and c.kind == "changed" and explained(c.before, c.after, c.location)
        else c
        for c in diff.body
    )
    return dataclasses.replace(diff, body=body)


class Pipeline:
    """Replays one interaction at a time against the sides given; shared by every worker of a run."""

    def __init__(self, contract: Contract, options: ReplayOptions) -> None:
        self.contract = contract
        self.options = options
        self.validator = contract.validator()
        #: a global request rate; a forked worker process gets its share (replay.engine.processes)
        self.limiter = RateLimiter(options.rate) if options.rate else None
        self.invalid_key = f"invalid-{secrets.token_hex(12)}"
        #: on a target the replay does not own: what explains a difference as shared state
        self.shared: SharedState | None = None

    def skip(self, item: Interaction, match: Match | None, reason: str) -> Outcome:
        return Outcome(item.source, item.index, item.line, match.operation.operation_id if match else None,
                       item.request.method, item.request.url, "skipped", reason)  # fmt: skip

    def plan(self, item: Interaction) -> tuple[Match | None, str, Outcome | None]:
        """(operation, URL to send, or the outcome that says why it is not sent)."""
        options = self.options
        recorded_request = item.request
        match = self.contract.find(recorded_request.method, recorded_request.url)
        if match is None:
            return None, "", self.skip(item, None, "matches no operation of the contract")
        operation = match.operation
        op_id = operation.operation_id
        if options.operations is not None and op_id not in options.operations:
            return match, "", self.skip(item, match, "operation not selected")
        recorded = item.response
        if recorded is not None and recorded.status == 409 and op_id in CONCURRENCY_CONFLICTS:
            reason = "a recorded conflict with a concurrent request cannot be reproduced"
            return match, "", self.skip(item, match, reason)
        url = recorded_request.url
        if recorded_request.method.upper() != "GET":
            if options.writes == "skip":
                return match, "", self.skip(item, match, "changes state (--writes skip)")
            if options.writes == "dry":
                if not any(p.name == "dry" and p.location == "query" for p in operation.parameters):
                    reason = f"changes state and {op_id} has no dry run (--writes allow sends it)"
                    return match, "", self.skip(item, match, reason)
                url = with_query(url, "dry", "true")
        return match, url, None

    def send_steps(
        self,
        item: Interaction,
        match: Match,
        url: str,
        side: Side,
        meanwhile: Callable[[], None] | None = None,
    ) -> Generator[Request, Sent, tuple[HttpRequest, Sent]]:
        """Send the recorded request, made to fit ``side``'s target: ids rewritten, its credential."""
        recorded_request = item.request
        headers, body = plain(recorded_request.headers, recorded_request.body)  # normalised once: see steps
        body_bytes = body.encode() if isinstance(body, str) else body
        rewriter = side.rewriter
        if rewriter.active:  # otherwise nothing is rewritten: the body is not even parsed
            parsed_body: Any = None
            if body_bytes and is_json_media(media_type(headers.get("content-type"))):
                try:
                    parsed_body = parse_json(body_bytes)
                except ValueError:
                    parsed_body = (
                        None  # sent as recorded: a negative exchange may send broken JSON on purpose
                    )
            rewritten = rewriter.request(match, url, parsed_body)
            if rewritten.changed and parsed_body is not None:
                body_bytes = orjson.dumps(rewritten.body)
            url = rewritten.url
        send_headers = {name: value for name, value in headers.items() if name not in NOT_REPLAYED}
        recorded_auth = headers.get("authorization")
        shown_auth = None
        if recorded_auth is not None:
            foreign = recorded_auth.strip() == FOREIGN_AUTH_PLACEHOLDER
            send_headers["authorization"] = authorization(self.invalid_key if foreign else side.api_key)
            shown_auth = FOREIGN_AUTH_PLACEHOLDER if foreign else AUTH_PLACEHOLDER
        target = path_and_query(url)
        check_request(recorded_request.method.upper(), send_headers)  # here: a refusal is this interaction's
        if self.limiter is not None:
            self.limiter.wait()
        sent = yield Request(
            side.transport,
            recorded_request.method.upper(),
            target,
            send_headers,
            body_bytes or None,
            meanwhile,
        )
        shown_headers = send_headers.copy()  # the credential, if any, is the last: replaced in place
        if shown_auth:
            shown_headers["authorization"] = shown_auth
        request = HttpRequest(recorded_request.method.upper(), side.transport.base_url.rstrip("/") + target,
                              shown_headers, body_bytes or None)  # fmt: skip
        return request, sent

    def replay(
        self, item: Interaction, sides: list[Side], meanwhile: Callable[[], None] | None = None
    ) -> Outcome | Callable[[], Outcome]:
        """:meth:`steps`, each request sent as it comes (blocking)."""
        return sent_in_turn(self.steps(item, sides, meanwhile))

    def steps(
        self, item: Interaction, sides: list[Side], meanwhile: Callable[[], None] | None = None
    ) -> Generator[Request, Sent, Outcome | Callable[[], Outcome]]:
        """With one side: live vs recorded. With two: the candidate (second) vs the baseline (first).

        With one side, the answer is judged later (a closure is returned): the story runner judges
        it while the next request is with the server (``meanwhile``). Everything the next request
        depends on (generated values learned from this answer) is done before returning.
        """
        match, url, skipped = self.plan(item)
        if skipped is not None or match is None:
            return skipped or self.skip(item, None, "matches no operation of the contract")
        operation = match.operation
        op_id = operation.operation_id
        # headers normalised once here; every later look at them is then free (NormalizedHeaders)
        item.request.headers = normalize_headers(item.request.headers)
        recorded = item.response
        recorded_plain = None
        if recorded is not None:
            recorded_plain = plain_response(recorded)
        # parsed only when needed: to learn generated values, or (by the diff) when the bodies differ
        recorded_json = json_or_none(recorded_plain) if op_id in FLOW_OPERATIONS else None
        answers: list[tuple[HttpResponse, Any]] = []
        outcome: Outcome | None = None
        for side in sides:
            request, sent = yield from self.send_steps(
                item, match, url, side, meanwhile if side is sides[0] else None
            )
            if outcome is None or side is sides[-1]:  # the candidate's request is the one shown
                # positional: a dataclass built with keywords costs about twice as much
                outcome = Outcome(item.source, item.index, item.line, op_id, request.method, request.url, "same",
                                  None, None, (), request, recorded, None, sent.elapsed, sent.attempts)  # fmt: skip
            outcome.compared = len(sides) > 1
            if sent.response is None:
                outcome.kind, outcome.reason = "error", f"{side.transport.base_url}: {sent.error}"
                outcome.silent = sent.silent
                return outcome
            live = plain_response(sent.response)
            undecoded = undecodable(live)
            if undecoded is not None:
                outcome.kind, outcome.reason = "error", f"{side.transport.base_url}: {undecoded}"
                outcome.live = live
                return outcome
            live_json = json_or_none(live)
            if recorded_json is not None:
                side.rewriter.learn(op_id, recorded_json, live_json)
            answers.append((live, live_json))
        assert outcome is not None
        judged = outcome

        def judge() -> Outcome:
            return self.judge(judged, answers, sides, operation, recorded_plain, recorded_json)

        return judge if len(sides) == 1 else judge()

    def judge(
        self,
        outcome: Outcome,
        answers: list[tuple[HttpResponse, Any]],
        sides: list[Side],
        operation: Any,
        recorded_plain: HttpResponse | None,
        recorded_json: Any,
    ) -> Outcome:
        """Validation and comparison of the answer(s) of one interaction."""
        op_id = operation.operation_id
        live, live_json = answers[-1]
        outcome.live = live
        if live_json is not None:
            violations = self.validator.validate_response(live, operation, parsed=live_json)
        else:
            violations = self.validator.validate_response(live, operation)
        outcome.violations = tuple(violations)
        if len(sides) == 1:
            if recorded_plain is None:
                outcome.reason = "nothing was recorded to compare with"
                outcome.kind = "violation" if violations else "same"
                return outcome
            before, before_json = recorded_plain, recorded_json
        else:
            before, before_json = answers[0]
            before_json = sides[0].rewriter.unmap(before_json) if before_json is not None else None
            outcome.expected = before  # the baseline's answer is what the candidate is compared with
        compared = sides[-1].rewriter.unmap(live_json) if live_json is not None else None
        parsed: dict[str, Any] = {}  # the bodies already parsed, so that the diff need not
        if before_json is not None:
            parsed["recorded_json"] = before_json
        if compared is not None:
            parsed["live_json"] = compared
        diff = diff_responses(before, live, operation_id=op_id, noise=self.options.noise, **parsed)
        if diff.body and diff.real and any(side.rewriter.generated for side in sides):
            diff = explain_generated(diff, sides)
        outcome.diff = diff
        if violations:
            outcome.kind = "violation"
        elif (
            diff.status is None
            and not diff.headers
            and diff.body
            and diff.real
            and all(c.additive for c in diff.real)
        ):
            outcome.kind = "additive"
        elif diff.status is not None or diff.headers or (diff.body and diff.real):
            outcome.kind = "changed"
            if self.shared is not None:
                self.shared.classify(outcome)
        elif not diff.same:
            outcome.kind = "noise"
        return outcome


#: Content codings ``plain`` undoes: one still named on a live answer after it did not decode.
DECODED_CODINGS = frozenset({"gzip", "x-gzip", "deflate"})


def undecodable(live: HttpResponse) -> str | None:
    """Why a live answer's body cannot be judged: it names a coding ``plain`` undoes, and is still
    encoded (corrupt, or past the decoding caps of ``replay.cassettes.model``: a decompression
    bomb). Anything else (``br``, a coding nobody knows) is left to the validator, as recorded ones."""
    coding = normalize_headers(live.headers).get("content-encoding")  # normalised already: one lookup
    if coding is None or not live.body:
        return None
    if not DECODED_CODINGS & {c.strip().lower() for c in coding.split(",")}:
        return None
    return (f"the answer's body does not decode as Content-Encoding {coding[:40]!r}: corrupt, or it inflates "
            f"past {MAX_DECODED_BODY:,} bytes or {MAX_EXPANSION} times its size")  # fmt: skip


def json_or_none(response: HttpResponse | None) -> Any:
    if response is None or not response.body:
        return None
    media = media_type(normalize_headers(response.headers).get("content-type"))
    if media and not is_json_media(media):
        return None
    try:
        return parse_json(response.body)
    except ValueError:
        return None


def path_and_query(url: str) -> str:
    """``/path?query`` of a recorded URL (absolute or not); the fragment dropped."""
    quick = plain_url_parts(url)
    path, query = quick if quick is not None else urlsplit(url)[2:4]
    return (path or "/") + (f"?{query}" if query else "")


def with_query(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    pairs.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(pairs)))
