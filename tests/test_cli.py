"""The command line explains itself: help for everything, usage errors exit 2, runtime ones 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from streamal import __version__
from streamal.cli import build_parser, main
from streamal.core.names import MODEL_NAMES, STRATEGY_NAMES


def test_every_flag_of_every_command_has_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert isinstance(sub.choices, dict)
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.dest in ("help",):
                continue
            assert action.help and action.help.strip(), f"{name} {action.option_strings} has no help"


def test_the_help_lists_every_strategy_and_model(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    for name in (*STRATEGY_NAMES, *MODEL_NAMES):
        assert f"\n  {name} " in text, name


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"streamal {__version__}"


@pytest.mark.parametrize("argv", [
    ["demo", "--events", "0"],
    ["demo", "--model", "nope"],
    ["demo", "--budget", "2"],
    ["evaluate", "--data", "sea-abrupt", "--seeds", "0"],
    ["evaluate", "--data", "sea-abrupt", "--rate", "-1"],
    ["replay", "--data", "sea-abrupt", "--events", "-5"],
])
def test_bad_sizes_are_usage_errors(argv: list[Any], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def test_a_duration_without_a_rate_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--data", "sea-abrupt", "--delay", "30s", "--quiet", "--no-plots"]) == 2
    assert "--delay: a duration ('30s') needs --rate" in capsys.readouterr().err


def test_evaluate_ends_with_a_verdict_per_run_and_compares_models(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--data", "sea-abrupt", "--limit", "1500", "--model", "linear,hat", "--budget", "0.1",
                 "--quiet", "--no-plots", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("model linear") == 1 and out.count("model hat") == 1
    assert out.count("margin @ 10%: ") == 2 and "fewer labels than passive" in out and "against random" in out
    assert (tmp_path / "linear" / "results.json").exists() and (tmp_path / "hat" / "results.json").exists()


def test_json_logs_for_log_pipelines_including_the_last_word(tmp_path: Path) -> None:
    env = {"STREAMAL_LOG_FORMAT": "json", "STREAMAL_KAFKA_BOOTSTRAP": "127.0.0.1:1",
           "STREAMAL_KAFKA_CONNECT_TIMEOUT": "1", "STREAMAL_STATE_DIR": str(tmp_path), "STREAMAL_HTTP_PORT": "0",
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "streamal", "run"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 1
    lines = [json.loads(line) for line in out.stderr.strip().splitlines()]
    assert any(line["message"].startswith("connecting to 127.0.0.1:1") and line["level"] == "INFO" for line in lines)
    assert any("review API has no tokens" in line["message"] and line["level"] == "WARNING" for line in lines)
    assert lines[-1]["level"] == "CRITICAL" and "cannot reach Kafka" in lines[-1]["message"]
    assert lines[-1]["exit_code"] == 1


def test_evaluate_without_matplotlib_writes_the_results_and_says_the_plots_were_skipped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # an install without the eval extra: import fails
    assert main(["evaluate", "--data", "sea-abrupt", "--limit", "800", "--budget", "0.1", "--quiet",
                 "--out", str(tmp_path)]) == 0
    assert (tmp_path / "results.json").exists() and not list(tmp_path.glob("*.png"))
    assert "plots skipped: they need matplotlib; pip install 'streamal[eval]'" in capsys.readouterr().err
