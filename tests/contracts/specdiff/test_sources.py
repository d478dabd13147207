"""Where the documents of a diff come from, and the inputs it refuses with one clear line."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from contracts.errors import ContractLoadError
from contracts.specdiff.sources import load_side, read_source

V7 = Path(__file__).parents[2] / "fixtures" / "vendor" / "talon-integration-v7.0.0.yaml"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd, check=True,
                   capture_output=True)  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _git(tmp_path, "init", "-q")
    (tmp_path / "api.yaml").write_text("openapi: 3.0.3\ninfo: {title: old, version: '1'}\npaths: {}\n")
    _git(tmp_path, "add", "api.yaml")
    _git(tmp_path, "commit", "-q", "-m", "one")
    (tmp_path / "api.yaml").write_text("openapi: 3.0.3\ninfo: {title: new, version: '2'}\npaths: {}\n")
    _git(tmp_path, "commit", "-q", "-am", "two")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_revision_and_path_is_read_from_git(repo: Path) -> None:
    assert read_source("HEAD~1:api.yaml").data["info"]["title"] == "old"
    assert read_source("HEAD:api.yaml").data["info"]["title"] == "new"
    contract = load_side("HEAD~1:api.yaml")
    assert contract.source == "HEAD~1:api.yaml" and contract.document.line_of("/info") == 2


def test_a_file_wins_over_git(repo: Path) -> None:
    odd = repo / "HEAD~1:api.yaml"
    odd.write_text("openapi: 3.0.3\ninfo: {title: file, version: '3'}\npaths: {}\n")
    assert read_source("HEAD~1:api.yaml").data["info"]["title"] == "file"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("HEAD~99:api.yaml", "git cannot read it: invalid object name 'HEAD~99'"),
        ("HEAD:nope.yaml", "path 'nope.yaml' does not exist in 'HEAD'"),
        ("missing.yaml", "No such file or directory"),
    ],
)
def test_what_cannot_be_read_is_one_line(repo: Path, spec: str, message: str) -> None:
    with pytest.raises(ContractLoadError, match=message) as caught:
        read_source(spec)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'swagger: "2.0"\ninfo: {title: x, version: "1"}\npaths: {}\n',
            "Swagger 2.0 documents are not supported",
        ),
        ("just: text\n", "has no 'paths'; is it an OpenAPI document"),
        ("hello: [\n", "did not find expected node content"),
        ("- a\n- b\n", "must be a mapping at the top level"),
        (
            "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n      operationId: a\n"
            "      responses:\n        '200':\n          description: ok\n"
            "          content: {application/json: {schema: {$ref: '#/components/schemas/Nope'}}}\n",
            r"a.yaml:10 \(at /paths/~1a/get/responses/200/content/application~1json/schema\): \$ref "
            "'#/components/schemas/Nope' points at nothing",
        ),
        (
            "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n"
            "    A: {$ref: '#/components/schemas/B'}\n    B: {$ref: '#/components/schemas/A'}\n",
            "loops back on itself",
        ),
    ],
)
def test_bad_documents_are_refused_with_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(text)
    with pytest.raises(ContractLoadError, match=message) as caught:
        load_side(str(path))
    assert "\n" not in str(caught.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ContractLoadError, match="not UTF-8"):
        load_side(str(path))


def test_a_recursive_schema_is_not_a_ref_loop() -> None:
    """The vendor's schemas refer to themselves through properties: that is legal and loads."""
    assert len(load_side(str(V7)).operations) == 28


def test_a_revision_that_would_be_a_git_option_is_refused(repo: Path) -> None:
    with pytest.raises(ContractLoadError, match="cannot start with '-'"):
        read_source("--output=pwned:x")
    assert not (repo / "pwned:x").exists()


def test_a_ref_inside_an_example_is_data(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(
        "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n"
        "    A: {type: object, example: {$ref: '#/nowhere'}, default: {$ref: '#/nowhere'}, x-doc: {$ref: '#/x'}}\n"
    )
    assert load_side(str(path)).data["components"]["schemas"]["A"]["example"] == {"$ref": "#/nowhere"}
