from __future__ import annotations

from pathlib import Path

import pytest

from contracts.documents import parse_document, read_document
from contracts.errors import ContractLoadError


def test_yaml_scalars_follow_the_yaml_1_2_core_schema() -> None:
    doc = parse_document(
        "yes_: yes\non_: on\noctal: 0755\nhex: 0x1F\nflt: 1E+3\nquoted: '1E+3'\n"
        "when: 2000-01-23 04:56:07+00:00\nnothing: ~\ntruth: true\ninf: .inf\n"
    )
    assert doc.data == {
        "yes_": "yes",
        "on_": "on",
        "octal": 755,
        "hex": 31,
        "flt": 1000.0,
        "quoted": "1E+3",
        "when": "2000-01-23 04:56:07+00:00",  # timestamps stay strings, as on the wire
        "nothing": None,
        "truth": True,
        "inf": float("inf"),
    }
    assert doc.issues == []


def test_bare_equals_scalar_is_read_as_a_string_with_an_issue() -> None:
    doc = parse_document("ops:\n  - =\n  - '<'\n", source="quirky.yaml")
    assert doc.data == {"ops": ["=", "<"]}
    [issue] = doc.issues
    assert issue.source == "quirky.yaml"
    assert issue.pointer == "/ops/0"
    assert issue.line == 2
    assert "'='" in issue.message


def test_duplicate_keys_keep_the_last_value_and_are_reported() -> None:
    doc = parse_document("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert doc.data == {"a": 1, "b": {"c": 2}}
    [issue] = doc.issues
    assert issue.pointer == "/b/c"
    assert issue.line == 4


def test_integer_keys_become_strings_like_json() -> None:
    doc = parse_document("responses:\n  200: {description: OK}\n  true: x\n")
    assert doc.data == {"responses": {"200": {"description": "OK"}, "true": "x"}}


def test_anchors_and_merge_keys() -> None:
    doc = parse_document("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\nsame: *b\n")
    assert doc.data["derived"] == {"x": 1, "y": 3}
    assert doc.data["same"] == {"x": 1, "y": 2}


def test_recursive_alias_does_not_hang() -> None:
    doc = parse_document("a: &a\n  self: *a\n")
    assert doc.data == {"a": {"self": None}}
    assert "recursive" in doc.issues[0].message


def test_unsafe_tags_are_never_constructed() -> None:
    doc = parse_document("x: !!python/object/apply:os.system ['echo pwned']\ny: !custom hello\n")
    assert doc.data["y"] == "hello"
    assert doc.data["x"] == ["echo pwned"]  # plain data, nothing executed
    assert {i.pointer for i in doc.issues} == {"/x", "/y"}


def test_json_is_detected_from_content() -> None:
    doc = parse_document('{"openapi": "3.1.0", "a": 1, "a": 2}', source="doc.txt")
    assert doc.data == {"openapi": "3.1.0", "a": 2}
    assert "duplicate key 'a'" in doc.issues[0].message


def test_yaml_flow_mapping_that_is_not_json_still_parses() -> None:
    doc = parse_document("{a: 1, b: [x, y]}")
    assert doc.data == {"a": 1, "b": ["x", "y"]}
    assert doc.issues == []


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ("a: [1, 2\nb: 3\n", "expected ',' or ']'", 2),
        ("a: b: c\n", "not allowed in this context, column 5", 1),
        ("", "empty", None),
        ("---\na: 1\n---\nb: 2\n", "expected a single document in the stream, but found another", 3),
    ],
)
def test_unreadable_yaml_names_file_and_line(text: str, fragment: str, line: int | None) -> None:
    with pytest.raises(ContractLoadError) as info:
        parse_document(text, source="broken.yaml")
    assert info.value.source == "broken.yaml"
    assert fragment in str(info.value)
    assert info.value.line == line


def test_non_utf8_is_a_load_error() -> None:
    with pytest.raises(ContractLoadError, match="not UTF-8"):
        parse_document(b"a: \xff\xfe\n", source="latin.yaml")


def test_read_document_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ContractLoadError, match=r"missing\.yaml"):
        read_document(tmp_path / "missing.yaml")


def test_lines_are_recorded_for_pointers(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text("a:\n  b:\n    - x\n    - y\n")
    doc = read_document(path)
    assert doc.line_of("/a/b/1") == 4
    assert doc.line_of("/a/b/1/missing/deeper") == 4
    assert doc.base_dir == tmp_path.resolve()
