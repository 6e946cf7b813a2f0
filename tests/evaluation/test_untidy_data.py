"""Data as users have it: types that change, missing words, ragged rows, a BOM, empty targets."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from streamal.cli import main
from streamal.core.config import LearnerConfig
from streamal.core.domain import Event, Label
from streamal.core.learner import Learner
from streamal.core.names import ModelName
from streamal.errors import DataError
from streamal.evaluation.streams import open_stream


@pytest.mark.parametrize("model", ["linear", "hat", "arf"])
def test_a_feature_that_changes_type_never_stops_learning(model: ModelName) -> None:
    learner = Learner(LearnerConfig(model=model, budget=1.0, seed_size=0, audit_share=0.0))
    untidy = [12.0, "NA", "?", None, "null", "13.5", "lots", 14, True, ""]
    for i in range(300):
        x: dict[str, Any] = {"bytes": untidy[i % len(untidy)] if i > 50 else float(i), "proto": 6 if i % 2 else "tcp"}
        learner.score(Event(f"e{i}", x), now=float(i))
        result = learner.learn(Label(f"e{i}", "big" if i % 3 else "small", features=x), now=float(i))
        assert result.outcome == "learned", result.error
    assert learner.model_version == 300
    assert learner.schema.kinds == {"bytes": "number", "proto": "category"}
    assert learner.schema.mismatches > 0  # "lots" in a numeric feature: counted, dropped


def test_declared_categorical_features_are_categories() -> None:
    learner = Learner(LearnerConfig(model="hat", budget=1.0, seed_size=0, categorical=("dst_port",)))
    assert learner.schema.prepare({"dst_port": 443, "bytes": 10}) == {"dst_port": "443", "bytes": 10}


def write(path: Path, text: str, gz: bool = False) -> Path:
    data = text.encode("utf-8")
    if gz:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def test_a_semicolon_csv_with_a_bom_ragged_rows_missing_words_and_empty_targets(tmp_path: Path) -> None:
    rows = ["\ufeffsize;proto;label"] + [f"{i};{'tcp' if i % 2 else 'udp'};{'a' if i % 3 else 'b'}"
                                          for i in range(60)]
    rows[5] = "NA;tcp;a"          # a missing word in a numeric column
    rows[7] = "12;tcp"            # ragged
    rows[9] = "13;udp;"           # empty target
    rows[11] = "14;udp;?"         # empty target, spelt "?"
    path = write(tmp_path / "untidy.csv", "\n".join(rows) + "\n")
    stream = open_stream(str(path))
    pairs = list(stream)
    assert len(pairs) == 57
    assert set(pairs[0][0]) == {"size", "proto"}  # the BOM is not part of the first name
    assert pairs[4][0]["size"] is None
    assert dict(stream.skipped) == {"ragged rows": 1, "empty targets": 2}


def test_evaluate_takes_untidy_files_and_says_what_it_skipped(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    rows = ["x;k;y"] + [f"{i % 17};{'NA' if i % 11 == 0 else i % 5};{'p' if (i % 17) > 8 else 'q'}" for i in range(800)]
    rows[100] = "1;2"
    path = write(tmp_path / "mixed.csv.gz", "\n".join(rows) + "\n", gz=True)
    assert main(["evaluate", "--data", str(path), "--budget", "0.1", "--no-plots", "--quiet", "--drift-at", "400",
                 "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr()
    assert "skipped 1 ragged rows" in out.err
    assert "drifts at 400" in out.out


def test_a_jsonl_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "events.jsonl", '{"features": {"a": 1}, "label": "x"}\n' * 3 + "{oops\n")
    with pytest.raises(DataError, match=r"events.jsonl:4: not valid JSON"):
        list(open_stream(str(path)))


def test_a_single_class_file_is_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "one.csv", "a,y\n" + "".join(f"{i},only\n" for i in range(200)))
    assert main(["evaluate", "--data", str(path), "--no-plots", "--quiet", "--out", str(tmp_path / "o")]) == 0
    assert "single class" in capsys.readouterr().err


def test_an_empty_or_binary_csv_is_named_plainly(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match=r"empty.csv is empty: expected a header line"):
        list(open_stream(str(empty)))
    binary = tmp_path / "capture.csv"
    binary.write_bytes(b"\xaa\xbb\x00\x01" * 100)
    with pytest.raises(DataError, match=r"capture.csv: not UTF-8 text .* is it a CSV file\?"):
        list(open_stream(str(binary)))
