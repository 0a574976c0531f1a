"""`sopu schema export` and `sopu schema validate`, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

from jsonschema import Draft202012Validator, FormatChecker

from mobile_schema import DOC_TYPES
from mobile_schema.examples import example


def sopu(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "server", *args], capture_output=True, text=True, cwd=cwd
    )


def test_export_writes_schemas_that_accept_the_exported_examples(tmp_path):
    result = sopu("schema", "export", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    for sample in (out / "examples").glob("*.json"):
        doc_type = sample.stem
        schema = json.loads((out / f"{doc_type}.schema.json").read_text("utf-8"))
        validator = Draft202012Validator(schema, format_checker=FormatChecker())
        assert validator.is_valid(json.loads(sample.read_text("utf-8"))), doc_type
    assert (out / "envelope.schema.json").exists()
    assert len(list((out / "examples").glob("*.json"))) == len(DOC_TYPES)


def test_validate_reports_each_problem_and_fails(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps([example("note"), example("visit")]), "utf-8")
    bad_note = example("note") | {"state": "locked", "hetu": "010203A123B"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bad_note), "utf-8")

    ok = sopu("schema", "validate", str(good))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "2 valid, 0 invalid" in ok.stderr

    failed = sopu("schema", "validate", str(good), str(bad))
    assert failed.returncode == 1
    lines = failed.stdout.splitlines()
    assert any("/state: invalid_choice" in line for line in lines)
    assert any("/hetu: unknown_field" in line for line in lines)
    assert all(line.startswith(f"{bad}[0] {bad_note['_id']}") for line in lines)
    assert "2 valid, 1 invalid" in failed.stderr


def test_validate_explains_a_file_that_is_not_json(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"type": "note",', "utf-8")
    result = sopu("schema", "validate", str(broken))
    assert result.returncode == 1
    assert "not valid JSON" in result.stderr


def test_help_lists_the_commands():
    result = sopu("--help")
    assert result.returncode == 0
    assert "schema" in result.stdout
