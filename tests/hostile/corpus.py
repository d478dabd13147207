"""The standing hostile-input corpus: malformed inputs of every format the tool reads.

Each :class:`Case` writes its input into a directory (generated here, never committed as a
binary) and names the kind of input it is; ``test_corpus`` runs it through every command that
reads that kind (:data:`COMMANDS`) and asserts what a user must always get: no traceback, exit 2
(or 1 for findings) with a clear message naming the input, within 10 s and 500 MB.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOOD_CASSETTE = ROOT / "cassettes" / "checkout-coupon-referral.yaml"
VENDOR_V6 = ROOT / "tests" / "fixtures" / "vendor" / "talon-integration-v6.0.0.yaml"
VENDOR_V7 = ROOT / "tests" / "fixtures" / "vendor" / "talon-integration-v7.0.0.yaml"
HOST = "https://yourbaseurl.talon.one"
_RANDOM = random.Random(16)  # the same "random" inputs on every run

#: The commands that read each kind of input; ``{input}`` is the case's file, ``{out}`` a fresh path.
COMMANDS: dict[str, list[list[str]]] = {
    "cassette": [
        ["verify", "{input}"],
        ["coverage", "{input}"],
        ["convert", "{input}", "{out}.jsonl"],
        ["replay", "run", "--quiet", "{input}"],
    ],
    "contract": [
        ["validate", "--contract", "{input}"],
        ["verify", "--contract", "{input}", str(GOOD_CASSETTE)],
        ["diff", str(VENDOR_V7), "{input}", "--quiet"],
        ["upgrade-check", "--to", "{input}", "--quiet"],
    ],
    "overlay": [
        ["validate", "--overlay", "{input}"],
        ["diff", "--overlay", "both", "--overlay-file", "{input}", str(VENDOR_V6), str(VENDOR_V7), "--quiet"],
    ],
    "noise": [["replay", "run", "--quiet", "--noise", "{input}", str(GOOD_CASSETTE)]],
    "seed": [["sandbox", "--seed", "{input}", "--port", "0", "--quiet"]],
    "ignore": [
        ["diff", "--ignore-file", "{input}", str(VENDOR_V6), str(VENDOR_V7), "--quiet"],
        ["upgrade-check", "--to", str(VENDOR_V6), "--ignore-file", "{input}", "--quiet"],
    ],
}


#: What a readable input (odd, but every part of it can be read) may exit with: it is judged as
#: traffic like any other, clean (0) or with findings (1), or refused part by part (2).
READABLE = (0, 1, 2)


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    kind: str
    make: Callable[[Path], Path]  # writes the input under the directory given, returns its path
    codes: tuple[int, ...] = (1, 2)  # what the commands may exit with (2 unreadable, 1 findings)


def _text(name: str, content: str | bytes) -> Callable[[Path], Path]:
    def make(directory: Path) -> Path:
        path = directory / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return path

    return make


def _laughs(key_prefix: str = "") -> str:
    """A "billion laughs" YAML: nine levels of nine aliases (9^9 values), a few hundred bytes."""
    lines = [f'{key_prefix}l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        aliases = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"{key_prefix}l{level}: &l{level} [{aliases}]")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- cassettes


def _record(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "request": {"method": "GET", "uri": f"{HOST}/v2/customer_sessions/s1",
                    "headers": {"Authorization": ["ApiKey-v1 REDACTED"]}, "body": ""},
        "response": {"status": {"code": 200, "message": "OK"},
                     "headers": {"Content-Type": ["application/json"]}, "body": {"string": "{}"}},
    }  # fmt: skip
    for dotted, value in changes.items():
        target = record
        *parents, last = dotted.split("__")
        for parent in parents:
            target = target[parent]  # type: ignore[assignment]
        target[last] = value
    return record


def _jsonl(*records: object) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def _vcr_json(*records: object) -> str:
    return json.dumps({"interactions": list(records), "version": 1})


_BAD_POST = {"mimeType": "", "text": "***", "_encoding": "base64"}  # a request body in base64 that is not


def _har(entry_changes: dict[str, object] | None = None, **log: object) -> str:
    entry: dict[str, object] = {
        "startedDateTime": "2026-12-02T10:00:00Z", "time": 12,
        "request": {"method": "GET", "url": f"{HOST}/v2/customer_sessions/s1", "httpVersion": "HTTP/1.1",
                    "headers": [{"name": "Authorization", "value": "ApiKey-v1 x"}]},
        "response": {"status": 200, "headers": [{"name": "Content-Type", "value": "application/json"}],
                     "content": {"size": 2, "mimeType": "application/json", "text": "{}"}},
    }  # fmt: skip
    entry.update(entry_changes or {})
    return json.dumps({"log": {"version": "1.2", "entries": [entry], **log}})


def _gzip_record(payload: bytes, coding: str = "gzip") -> dict[str, object]:
    packed = gzip.compress(payload, 9) if coding == "gzip" else zlib.compress(payload, 9)
    return _record(response__headers={"Content-Type": ["application/json"], "Content-Encoding": [coding]},
                   response__body={"base64_string": base64.b64encode(packed).decode()})  # fmt: skip


def _vcr_yaml_with(record_yaml: str) -> str:
    return "interactions:\n" + record_yaml + "version: 1\n"


_GOOD_REQUEST_YAML = f"""- request:
    method: GET
    uri: {HOST}/v2/customer_sessions/s1
    headers: {{Authorization: [ApiKey-v1 REDACTED]}}
    body: ''
"""


def _symlink_loop(directory: Path) -> Path:
    first, second = directory / "loop-a.yaml", directory / "loop-b.yaml"
    first.symlink_to(second)
    second.symlink_to(first)
    return first


def _dangling(directory: Path) -> Path:
    path = directory / "dangling.yaml"
    path.symlink_to(directory / "nowhere.yaml")
    return path


def _directory_of_garbage(directory: Path) -> Path:
    path = directory / "garbage-dir"
    path.mkdir()
    (path / "a.yaml").write_bytes(_RANDOM.randbytes(2000))
    (path / "b.jsonl").write_text("{not json\n")
    return path


def _long_line(directory: Path) -> Path:
    """One 60 MB line (a JSON Lines record whose body is one string): read in time linear in its size."""
    path = directory / "long-line.jsonl"
    body = json.dumps({"x": "z" * (60 * 1024 * 1024)})
    path.write_text(json.dumps(_record(response__body={"string": body})) + "\n")
    return path


CASSETTES: list[Case] = [
    Case("empty file", "cassette", _text("empty.yaml", "")),
    Case("whitespace only", "cassette", _text("blank.yaml", "  \n\n\t\n")),
    Case("random bytes", "cassette", _text("random.yaml", _RANDOM.randbytes(4096))),
    Case("NUL bytes", "cassette", _text("nul.yaml", b"interactions:\x00\x00\n- \x00")),
    Case("invalid UTF-8", "cassette", _text("latin.yaml", "interactions: [caf\xe9]\n".encode("latin-1"))),
    Case(
        "UTF-16 text", "cassette", _text("utf16.yaml", "interactions: []\n".encode("utf-16")), codes=READABLE
    ),
    Case("a directory of garbage", "cassette", _directory_of_garbage),
    Case("a symlink loop", "cassette", _symlink_loop),
    Case("a dangling symlink", "cassette", _dangling),
    Case("a missing file", "cassette", lambda d: d / "does-not-exist.yaml"),
    Case("top level is a list", "cassette", _text("list.yaml", "- 1\n- 2\n")),
    Case("top level is a scalar", "cassette", _text("scalar.yaml", "hello\n")),
    Case("interactions is a mapping", "cassette", _text("map.yaml", "interactions: {a: 1}\n")),
    Case("interaction is a string", "cassette", _text("str.yaml", "interactions: [hello]\n")),
    Case("no request", "cassette", _text("noreq.yaml", "interactions:\n- response: {status: {code: 200}}\n")),
    Case("method is a number", "cassette", _text("method.json", _vcr_json(_record(request__method=7)))),
    Case("uri missing", "cassette", _text("nouri.json", _vcr_json(_record(request__uri=None)))),
    Case("uri http://[::1", "cassette", _text("ipv6.json", _vcr_json(_record(request__uri="http://[::1")))),
    Case(
        "uri with spaces and CRLF",
        "cassette",
        _text("crlf-uri.json", _vcr_json(_record(request__uri=f"{HOST}/v2/a b\r\nX-Evil: 1"))),
    ),
    Case(
        "uri 1 MB long",
        "cassette",
        _text(
            "long-uri.jsonl", _jsonl(_record(request__uri=f"{HOST}/v2/customer_sessions/{'z' * 1_000_000}"))
        ),
        codes=READABLE,
    ),
    Case(
        "headers as a string",
        "cassette",
        _text("hstr.json", _vcr_json(_record(request__headers="Accept: */*"))),
    ),
    Case(
        "header name with CRLF",
        "cassette",
        _text(
            "hcrlf.json",
            _vcr_json(
                _record(
                    request__headers={
                        "X-A: 1\r\nContent-Length: 0\r\n\r\nDELETE /v1/customer_data/victim HTTP/1.1\r\nX-B": [
                            "1"
                        ]
                    }
                )
            ),
        ),
    ),
    Case(
        "header value with NUL",
        "cassette",
        _text("hnul.json", _vcr_json(_record(request__headers={"X-A": ["a\x00b"]}))),
        codes=READABLE,
    ),
    Case(
        "header value a list of mappings",
        "cassette",
        _text("hmap.json", _vcr_json(_record(request__headers={"X-A": [{"a": 1}]}))),
    ),
    Case(
        "status a word",
        "cassette",
        _text("status.json", _vcr_json(_record(response__status={"code": "abc"}))),
    ),
    Case(
        "status 99999",
        "cassette",
        _text("status9.json", _vcr_json(_record(response__status={"code": 99999}))),
    ),
    Case("status -1", "cassette", _text("statusm.json", _vcr_json(_record(response__status={"code": -1})))),
    Case(
        "body a number",
        "cassette",
        _text("bodynum.json", _vcr_json(_record(response__body=5))),
        codes=READABLE,
    ),
    Case(
        "body string a list",
        "cassette",
        _text("bodylist.json", _vcr_json(_record(response__body={"string": [1]}))),
    ),
    Case(
        "base64 body invalid",
        "cassette",
        _text("b64.json", _vcr_json(_record(response__body={"base64_string": "***"}))),
    ),
    Case(
        "gzip body corrupt",
        "cassette",
        _text(
            "gzbad.jsonl",
            _jsonl(
                _record(
                    response__headers={"Content-Encoding": ["gzip"], "Content-Type": ["application/json"]},
                    response__body={"base64_string": base64.b64encode(b"\x1f\x8bnot gzip").decode()},
                )
            ),
        ),
        codes=READABLE,
    ),
    Case(
        "gzip bomb (1,000x)",
        "cassette",
        _text("gzbomb.jsonl", _jsonl(_gzip_record(b"[" + b"{}," * 21_000_000 + b"{}]"))),
        codes=READABLE,
    ),
    Case(
        "deflate bomb",
        "cassette",
        _text("dfbomb.jsonl", _jsonl(_gzip_record(b'{"a":"' + b"a" * 60_000_000 + b'"}', "deflate"))),
        codes=READABLE,
    ),
    Case(
        "gzip under the ratio, 5 million tiny objects",
        "cassette",
        _text(
            "gztiny.jsonl",
            _jsonl(
                _gzip_record(
                    b"[" + b",".join(b'{"k":%d}' % (i * 7919 % 100_003) for i in range(5_000_000)) + b"]"
                )
            ),
        ),
        codes=READABLE,
    ),
    Case(
        "content-encoding unknown",
        "cassette",
        _text(
            "br.json",
            _vcr_json(
                _record(response__headers={"Content-Encoding": ["br"], "Content-Type": ["application/json"]})
            ),
        ),
        codes=READABLE,
    ),
    Case(
        "elapsed NaN and recorded_at garbage",
        "cassette",
        _text(
            "elapsed.json",
            '{"interactions": [' + json.dumps(_record(recorded_at="yesterday"))[:-1] + ', "elapsed": NaN}]}',
        ),
        codes=READABLE,
    ),
    Case(
        "billion laughs in a header value",
        "cassette",
        _text(
            "laughs.yaml",
            _vcr_yaml_with(
                _GOOD_REQUEST_YAML.replace(
                    "headers: {Authorization: [ApiKey-v1 REDACTED]}",
                    "headers:\n" + _laughs("      X-").replace("X-l", "X-L") + "      X-A: *l9",
                )
            ),
        ),
    ),
    Case(
        "YAML nested 10,000 deep",
        "cassette",
        _text("deep.yaml", "interactions:\n- " + "[" * 10_000 + "]" * 10_000 + "\n"),
    ),
    Case(
        "python object tag",
        "cassette",
        _text("python.yaml", "interactions:\n- !!python/object/apply:os.system ['true']\n"),
    ),
    Case("unknown YAML alias", "cassette", _text("alias.yaml", "interactions:\n- *nothing\n")),
    Case("recursive merge", "cassette", _text("merge.yaml", "interactions:\n- &a {<<: *a}\n")),
    Case("unterminated quote", "cassette", _text("quote.yaml", "interactions:\n- request: {method: 'GET\n")),
    Case("tab indentation", "cassette", _text("tabs.yaml", "interactions:\n\t- request: {}\n")),
    Case(
        "5,000-digit integer in YAML",
        "cassette",
        _text(
            "bigint.yaml", "interactions:\n- request: {method: GET, uri: x}\n  elapsed: " + "9" * 5000 + "\n"
        ),
        codes=READABLE,
    ),
    Case("JSON Lines truncated", "cassette", _text("trunc.jsonl", _jsonl(_record())[:-40])),
    Case("JSON Lines of nulls", "cassette", _text("nulls.jsonl", b"null\nnull\n")),
    Case(
        "JSON Lines nested 5,000 deep", "cassette", _text("deep.jsonl", b"[" * 5000 + b"]" * 5000 + b"\n[]\n")
    ),
    Case(
        "JSON Lines 5,000-digit integer",
        "cassette",
        _text("bigint.jsonl", b'{"request": ' + b"9" * 5000 + b"}\n{}\n"),
    ),
    Case(
        "JSON Lines lone surrogate",
        "cassette",
        _text("surrogate.jsonl", json.dumps(_record(request__body='{"a":"\\ud800"}')).encode() + b"\n"),
        codes=READABLE,
    ),
    Case("JSON Lines one 60 MB line", "cassette", _long_line, codes=READABLE),
    Case("JSON document cut short", "cassette", _text("cut.json", _vcr_json(_record())[:-10])),
    Case("HAR without log.entries", "cassette", _text("noentries.har", '{"log": {"version": "1.2"}}')),
    Case("HAR entries a mapping", "cassette", _text("entries.har", '{"log": {"entries": {"a": 1}}}')),
    Case("HAR entry without request", "cassette", _text("noreq.har", _har({"request": None}))),
    Case(
        "HAR headers not a list",
        "cassette",
        _text(
            "hdrs.har",
            _har(
                {"request": {"method": "GET", "url": f"{HOST}/v2/customer_sessions/s1", "headers": "Accept"}}
            ),
        ),
    ),
    Case(
        "HAR header without a name",
        "cassette",
        _text(
            "hname.har",
            _har(
                {
                    "request": {
                        "method": "GET",
                        "url": f"{HOST}/v2/customer_sessions/s1",
                        "headers": [{"value": "x"}],
                    }
                }
            ),
        ),
    ),
    Case(
        "HAR url http://[::1",
        "cassette",
        _text("url.har", _har({"request": {"method": "GET", "url": "http://[::1", "headers": []}})),
    ),
    Case(
        "HAR bad base64 content",
        "cassette",
        _text(
            "b64.har",
            _har(
                {"response": {"status": 200, "headers": [], "content": {"encoding": "base64", "text": "***"}}}
            ),
        ),
        codes=READABLE,
    ),
    Case(
        "HAR bad base64 postData",
        "cassette",
        _text(
            "post64.har",
            _har(
                {
                    "request": {
                        "method": "POST",
                        "url": f"{HOST}/v2/events",
                        "headers": [],
                        "postData": _BAD_POST,
                    }
                }
            ),
        ),
        codes=READABLE,
    ),
    Case(
        "HAR _notRecorded not a list",
        "cassette",
        _text("unrec.har", _har({"_notRecorded": {"time": True}, "time": -5})),
        codes=READABLE,
    ),
    Case(
        "HAR time NaN",
        "cassette",
        _text("time.har", _har().replace('"time": 12', '"time": NaN')),
        codes=READABLE,
    ),
    Case(
        "HAR postData a list",
        "cassette",
        _text(
            "post.har",
            _har(
                {"request": {"method": "POST", "url": f"{HOST}/v2/events", "headers": [], "postData": ["x"]}}
            ),
        ),
        codes=READABLE,
    ),
    Case(
        "HAR header name with CRLF",
        "cassette",
        _text(
            "crlf.har",
            _har(
                {
                    "request": {
                        "method": "GET",
                        "url": f"{HOST}/v2/customer_sessions/s1",
                        "headers": [{"name": "X-A\r\nX-B", "value": "1"}],
                    }
                }
            ),
        ),
    ),
    Case(
        "schemathesis report with a bad status",
        "cassette",
        _text(
            "st.yaml",
            (
                "command: st run\nhttp_interactions:\n- id: '1'\n  status: FAILURE\n  request: {method: GET, uri: "
                f"'{HOST}/v2/customer_sessions/s1', headers: {{}}}}\n  response: {{status: {{code: x}}}}\n"
            ),
        ),
    ),
]


# --------------------------------------------------------------------------- contracts, overlays


def _sparse(name: str, size: int) -> Callable[[Path], Path]:
    def make(directory: Path) -> Path:
        path = directory / name
        with path.open("wb") as stream:
            stream.truncate(size)  # sparse: no disk used
        return path

    return make


def _fifo(name: str) -> Callable[[Path], Path]:
    def make(directory: Path) -> Path:
        path = directory / name
        os.mkfifo(path)
        return path

    return make


def _with_ref(ref: str, extra: Callable[[Path], object] | None = None) -> Callable[[Path], Path]:
    """A contract whose one schema is an external $ref to ``ref`` (made by ``extra`` if given)."""

    def make(directory: Path) -> Path:
        if extra is not None:
            extra(directory)
        path = directory / f"ref-{abs(hash(ref)) % 10_000}.yaml"
        path.write_text(
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /v2/customer_sessions/{customerSessionId}:\n"
            "    get:\n      operationId: getCustomerSession\n      parameters:\n"
            "      - {name: customerSessionId, in: path, required: true, schema: {type: string}}\n"
            "      responses:\n        '200':\n          description: ok\n          content:\n"
            f"            application/json:\n              schema: {{$ref: '{ref}'}}\n"
        )
        return path

    return make


def _ref_bomb(directory: Path) -> None:
    """Files that each reference the next one ten times: 10^6 copies of the last one, inlined."""
    for level in range(6):
        refs = ", ".join(f"p{i}: {{$ref: 'bomb{level + 1}.yaml'}}" for i in range(10))
        (directory / f"bomb{level}.yaml").write_text(f"type: object\nproperties: {{{refs}}}\n")
    (directory / "bomb6.yaml").write_text("type: string\n")


def _make_fifo_ref(directory: Path) -> None:
    os.mkfifo(directory / "pipe.yaml")


CONTRACTS: list[Case] = [
    Case("empty contract", "contract", _text("empty-contract.yaml", "")),
    Case("contract is a list", "contract", _text("list-contract.yaml", "- a\n")),
    Case(
        "contract without paths",
        "contract",
        _text("nopaths.yaml", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"),
    ),
    Case("swagger 2.0", "contract", _text("swagger.yaml", "swagger: '2.0'\npaths: {}\n")),
    Case(
        "contract billion laughs",
        "contract",
        _text("laughs-contract.yaml", _laughs() + "openapi: 3.0.3\npaths: {}\n"),
    ),
    Case(
        "contract JSON nested 5,000 deep",
        "contract",
        _text("deep-contract.json", '{"a": ' + "[" * 5000 + "]" * 5000 + "}"),
    ),
    Case(
        "contract YAML nested 2,000 deep",
        "contract",
        _text("deep-contract.yaml", "a: " + "[" * 2000 + "]" * 2000 + "\n"),
    ),
    Case(
        "contract 5,000-digit integer",
        "contract",
        _text("bigint-contract.json", '{"openapi": "3.0.3", "x": ' + "7" * 5000 + "}"),
    ),
    Case("contract random bytes", "contract", _text("random-contract.yaml", _RANDOM.randbytes(3000))),
    Case("contract /dev/zero", "contract", lambda d: Path("/dev/zero")),
    Case("contract a FIFO with no writer", "contract", _fifo("pipe-contract.yaml")),
    Case("contract a 65 MB file", "contract", _sparse("huge-contract.yaml", 65 * 1024 * 1024)),
    Case("contract a directory", "contract", lambda d: d),
    Case("$ref to /dev/zero", "contract", _with_ref("/dev/zero"), codes=(0, 1, 2)),
    Case("$ref to a FIFO", "contract", _with_ref("pipe.yaml#/x", _make_fifo_ref), codes=(0, 1, 2)),
    Case(
        "$ref to a 65 MB file",
        "contract",
        _with_ref("huge.yaml", lambda d: _sparse("huge.yaml", 65 << 20)(d)),
        codes=(0, 1, 2),
    ),
    Case("$ref bomb through six files", "contract", _with_ref("bomb0.yaml", _ref_bomb), codes=(0, 1, 2)),
    Case("$ref to itself", "contract", _with_ref("#/paths"), codes=(0, 1, 2)),
    Case("$ref remote", "contract", _with_ref("https://example.invalid/x.yaml"), codes=(0, 1, 2)),
    Case(
        "paths a list",
        "contract",
        _text("paths-list.yaml", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: [a]\n"),
        codes=READABLE,
    ),
    Case(
        "schema type a number and a bad pattern",
        "contract",
        _text(
            "badschema.yaml",
            (
                "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /v1/x:\n    get:\n      operationId: getX\n"
                "      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n"
                "              schema: {type: 5, pattern: '([a-'}\n"
            ),
        ),
        codes=(0, 1, 2),
    ),
]

OVERLAYS: list[Case] = [
    Case("overlay empty", "overlay", _text("empty-overlay.yaml", "")),
    Case("overlay a list", "overlay", _text("list-overlay.yaml", "- 1\n")),
    Case(
        "overlay without actions",
        "overlay",
        _text("noactions.yaml", "overlay: 1.0.0\ninfo: {title: t, version: '1'}\n"),
    ),
    Case(
        "overlay target not JSONPath",
        "overlay",
        _text(
            "badtarget.yaml",
            (
                "overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions:\n- {target: '$[?(', update: {a: 1}}\n"
            ),
        ),
    ),
    Case(
        "overlay update a string",
        "overlay",
        _text(
            "badupdate.yaml",
            ("overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions:\n- {target: '$.info', update: 5}\n"),
        ),
        codes=READABLE,
    ),
    Case(
        "overlay billion laughs",
        "overlay",
        _text("laughs-overlay.yaml", _laughs() + "overlay: 1.0.0\nactions: []\n"),
    ),
    Case("overlay /dev/zero", "overlay", lambda d: Path("/dev/zero")),
]

NOISE: list[Case] = [
    Case("noise rules empty", "noise", _text("empty-noise.yaml", "")),
    Case("noise rules a list", "noise", _text("list-noise.yaml", "- path: $.a\n")),
    Case("noise rules version 2", "noise", _text("v2-noise.yaml", "version: 2\nrules: []\n")),
    Case(
        "noise rule path invalid",
        "noise",
        _text("path-noise.yaml", "version: 1\nrules:\n- {path: '$[?(', reason: r}\n"),
    ),
    Case(
        "noise rule without reason",
        "noise",
        _text("reason-noise.yaml", "version: 1\nrules:\n- {path: $.a}\n"),
    ),
    Case(
        "noise rule values unknown",
        "noise",
        _text("values-noise.yaml", "version: 1\nrules:\n- {path: $.a, reason: r, values: colour}\n"),
    ),
    Case(
        "noise rules billion laughs",
        "noise",
        _text("laughs-noise.yaml", _laughs() + "version: 1\nrules: []\n"),
    ),
    Case(
        "noise rules nested 5,000 deep",
        "noise",
        _text("deep-noise.yaml", "version: 1\nrules: " + "[" * 5000 + "]" * 5000 + "\n"),
    ),
    Case("noise rules random bytes", "noise", _text("random-noise.yaml", _RANDOM.randbytes(2000))),
    Case("noise rules /dev/zero", "noise", lambda d: Path("/dev/zero")),
]

SEEDS: list[Case] = [
    Case("seed empty", "seed", _text("empty-seed.yaml", "")),
    Case("seed a list", "seed", _text("list-seed.yaml", "- 1\n")),
    Case("seed unknown key", "seed", _text("key-seed.yaml", "applicaton: {id: 1}\n")),
    Case("seed wrong types", "seed", _text("types-seed.yaml", "application: {id: one, apiKey: [1]}\n")),
    Case("seed billion laughs", "seed", _text("laughs-seed.yaml", _laughs() + "application: {id: 1}\n")),
    Case("seed 5,000-digit id", "seed", _text("bigint-seed.yaml", "application: {id: " + "9" * 5000 + "}\n")),
    Case("seed random bytes", "seed", _text("random-seed.yaml", _RANDOM.randbytes(2000))),
    Case("seed a FIFO", "seed", _fifo("pipe-seed.yaml")),
]

IGNORES: list[Case] = [
    Case("ignore file a scalar", "ignore", _text("scalar-ignore.yaml", "hello\n")),
    Case(
        "ignore entry unknown rule",
        "ignore",
        _text("rule-ignore.yaml", "- {rule: no-such-rule, reason: r}\n"),
    ),
    Case(
        "ignore entry without reason",
        "ignore",
        _text("reason-ignore.yaml", "- {rule: response-enum-value-added}\n"),
    ),
    Case(
        "ignore until not a date",
        "ignore",
        _text("until-ignore.yaml", "- {rule: response-enum-value-added, reason: r, until: soon}\n"),
    ),
    Case("ignore billion laughs", "ignore", _text("laughs-ignore.yaml", _laughs() + "ignore: []\n")),
    Case("ignore random bytes", "ignore", _text("random-ignore.yaml", _RANDOM.randbytes(2000))),
]

CASES: list[Case] = CASSETTES + CONTRACTS + OVERLAYS + NOISE + SEEDS + IGNORES
