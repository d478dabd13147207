"""contracts/client.pyi: current with the contract and client.py, true to the runtime, and useful to mypy."""

from __future__ import annotations

import ast
import dataclasses
import difflib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from contracts import Contract
from contracts import client as client_module
from contracts.client import IntegrationClient
from contracts.stubgen import COMMAND, STUB, StubSourceError, render_client_stub
from contracts.stubgen.schemas import SchemaTypes
from contracts.stubgen.source import public_api
from contracts.stubgen.text import Imports

ROOT = Path(__file__).resolve().parents[2]
MYPY_TIMEOUT = 120  # seconds; a cold run takes ~5


def _stub_methods() -> dict[str, ast.FunctionDef]:
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "IntegrationClient")
    return {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}


def _stub_parameters(node: ast.FunctionDef, skip: int = 1) -> list[tuple[str, str, bool]]:
    """(name, kind, has a default) as inspect names the kinds, the first ``skip`` (``self``) left out."""
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    first_default = len(positional) - len(args.defaults)
    out = [
        (
            a.arg,
            "POSITIONAL_ONLY" if i < len(args.posonlyargs) else "POSITIONAL_OR_KEYWORD",
            i >= first_default,
        )
        for i, a in enumerate(positional)
    ]
    out += [
        (a.arg, "KEYWORD_ONLY", d is not None) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    ]
    if args.vararg is not None:
        out.insert(len(positional), (args.vararg.arg, "VAR_POSITIONAL", False))
    if args.kwarg is not None:
        out.append((args.kwarg.arg, "VAR_KEYWORD", False))
    return out[skip:]


def _signature(function: object) -> list[tuple[str, str, bool]]:
    parameters = inspect.signature(function).parameters.values()  # type: ignore[arg-type]
    return [(p.name, p.kind.name, p.default is not inspect.Parameter.empty) for p in parameters]


def test_the_committed_stub_is_what_the_generator_renders() -> None:
    rendered = render_client_stub()
    committed = STUB.read_text(encoding="utf-8") if STUB.exists() else ""
    if committed != rendered:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(True), rendered.splitlines(True), "committed", "rendered"
                )
            )[:40]
        )
        pytest.fail(f"contracts/client.pyi is out of date: run `{COMMAND}` and commit it\n{diff}")


def test_every_runtime_operation_method_is_in_the_stub_with_its_parameters(contract: Contract) -> None:
    client = IntegrationClient("http://127.0.0.1:9", "key", contract=contract)  # never connects
    stubbed = _stub_methods()
    for name in client.operations:
        assert name in stubbed, f"{name} is missing from the stub: run `{COMMAND}`"
        assert _stub_parameters(stubbed[name]) == _signature(getattr(client, name)), name
        assert inspect.signature(getattr(client, name)).return_annotation.__name__ == "ApiResponse"
        assert stubbed[name].returns is not None and ast.unparse(stubbed[name].returns) == "ApiResponse"
    own = {n for n, v in vars(IntegrationClient).items() if callable(v) or isinstance(v, property)}
    assert set(stubbed) - own == set(client.operations), "the stub has methods the runtime does not"
    assert "__getattr__" not in stubbed  # it would make every misspelt name an operation


def _mypy(*args: str, cwd: Path) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=MYPY_TIMEOUT,
    )
    return done.returncode, done.stdout + done.stderr


SNIPPET = """\
from typing import TYPE_CHECKING

from contracts.client import ApiError, ApiResponse, IntegrationClient

if TYPE_CHECKING:  # the body types exist for type checkers only
    from contracts.client import _NewCustomerSessionV2

client = IntegrationClient("http://127.0.0.1:9", "key", validate="strict")
answer: ApiResponse = client.update_customer_session_v2(
    "s1", {"customerSession": {"profileId": "p1", "cartItems": [{"sku": "SKU1", "quantity": 2}]}}, dry=True
)
status: int = answer.status
session: _NewCustomerSessionV2 = {"profileId": "p1", "state": "closed"}
client.update_customer_session_v2("s1", {"customerSession": session}, now="2024-01-01T00:00:00Z")
client.get_loyalty_card_points(7, "card-1", status="active", subledger_id=["main"], page_size=50)
client.call("updateCustomerSessionV2", "s1", b"{not json")  # a raw body goes through call()
try:
    client.delete_audience_v2(5)
except ApiError as error:
    print(error.status, error.api_response.data)
client.get_customer_sesion("s1")  # E: attr-defined
client.get_customer_session(1)  # E: arg-type
client.delete_audience_v2("5")  # E: arg-type
client.update_customer_session_v2("s1", {"customerSession": {}}, dyr=True)  # E: call-arg
client.update_customer_session_v2("s1", {"customerSesion": {}})  # E: typeddict-item typeddict-unknown-key
client.update_customer_session_v2("s1", {"customerSession": {"cartItems": [{"sku": "a", "quantity": "2"}]}})  # E: typeddict-item
client.get_loyalty_card_points(7, "card-1", status="gone")  # E: arg-type
client.get_customer_session()  # E: call-arg
"""


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def test_mypy_accepts_correct_calls_and_names_each_mistake(tmp_path: Path, mypy_cache: Path) -> None:
    """Run as a user's project would: another directory, the package found where it is installed."""
    (tmp_path / "shop.py").write_text(SNIPPET)
    _, output = _mypy("--cache-dir", str(mypy_cache), "shop.py", cwd=tmp_path)
    expected = {
        (number, code)
        for number, line in enumerate(SNIPPET.splitlines(), 1)
        for code in line.partition("# E: ")[2].split()
    }
    found = {
        (int(n), code) for n, code in re.findall(r"^shop\.py:(\d+): error: .*\[([\w-]+)\]$", output, re.M)
    }
    assert found == expected, output
    assert 'maybe "get_customer_session"' in output  # mypy's near miss, from the stub's names


def test_client_py_still_type_checks_on_its_own(mypy_cache: Path) -> None:
    """With client.pyi beside it, `mypy` (packages = contracts, replay) reads the stub, never client.py."""
    code, output = _mypy("--cache-dir", str(mypy_cache), "contracts/client.py", cwd=ROOT)
    assert code == 0, output


def test_the_stub_states_the_runtime_module() -> None:
    """What mypy's stubtest checks (it passes with the operation methods allowed), in milliseconds: every
    name the stub declares exists at run time, and every class and function defined in client.py is in
    the stub with the same parameters (a dataclass's fields as its __init__ has them)."""
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    declared = {
        node.name if isinstance(node, ast.ClassDef | ast.FunctionDef) else ast.unparse(node.target): node
        for node in tree.body
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AnnAssign)
    }
    only_typing = {name for name in declared if name.startswith("_")}  # the body types
    assert set(declared) - only_typing <= set(vars(client_module)), "the stub declares what does not exist"
    defined = {
        name: value
        for name, value in vars(client_module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == client_module.__name__
        and (inspect.isclass(value) or inspect.isfunction(value))
    }  # fmt: skip
    assert set(defined) <= set(declared), "client.py defines what the stub does not say"
    for name, value in defined.items():
        node = declared[name]
        if inspect.isfunction(value):
            assert isinstance(node, ast.FunctionDef) and _stub_parameters(node, skip=0) == _signature(value)
            continue
        assert isinstance(node, ast.ClassDef), name
        members = {n.name: n for n in node.body if isinstance(n, ast.FunctionDef)}
        if dataclasses.is_dataclass(value):
            fields = [(n.target.id, n.value is not None) for n in node.body
                      if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)]  # fmt: skip
            assert fields == [(p, d) for p, _, d in _signature(value)], name
        for attribute, member in vars(value).items():
            function = member.fget if isinstance(member, property) else member
            if not inspect.isfunction(function) or function.__code__.co_filename != client_module.__file__:
                continue  # made by dataclass(), or inherited
            if (attribute.startswith("_") and not attribute.endswith("__")) or attribute == "__getattr__":
                continue
            assert attribute in members, f"{name}.{attribute} is missing from the stub"
            assert _stub_parameters(members[attribute], skip=0) == _signature(function), f"{name}.{attribute}"


# -- the generator's rules, on small inputs


def _types(schemas: dict[str, object]) -> tuple[SchemaTypes, Imports]:
    imports = Imports()
    return SchemaTypes({"components": {"schemas": schemas}}, imports), imports


def test_request_types_follow_the_schema() -> None:
    types, _ = _types(
        {
            "Item": {
                "type": "object",
                "required": ["sku", "return"],
                "properties": {
                    "sku": {"type": "string"},
                    "return": {"type": "boolean"},
                    "id": {"type": "integer", "readOnly": True},
                    "when": {"type": "string", "nullable": True, "anyOf": [{"format": "date-time"}, {}]},
                    "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
                    "both": {"allOf": [{"type": "string"}, {"maxLength": 3}]},
                },
            }
        }
    )
    assert types.type_of({"$ref": "#/components/schemas/Item"}, "Body") == "_Item"
    (item,) = types.typed_dicts()
    assert item == [
        "_Item = TypedDict(",
        '    "_Item",',
        "    {",
        '        "sku": Required[str],',
        '        "return": Required[bool],',  # a keyword: the functional form
        '        "when": str | datetime.datetime | None,',  # readOnly "id" is never sent
        '        "tags": Sequence[Literal["a", "b"]],',
        '        "both": Any,',
        "    },",
        "    total=False,",
        ")",
    ]


def test_a_public_name_without_a_written_type_is_an_error() -> None:
    source = "class C:\n    def __init__(self) -> None:\n        self.x = make()\n"
    with pytest.raises(StubSourceError, match=r"C\.x is assigned without a type"):
        public_api(source)
    typed = "class C:\n    def __init__(self) -> None:\n        self.x: int = make()\n        self._y = 1\n"
    assert public_api(typed).blocks == [["class C:", "    x: int", "    def __init__(self) -> None: ..."]]
