import re
from pathlib import Path
from typing import Any

import pytest

from streamal.config import Settings, load_settings
from streamal.errors import ConfigError


def test_env_and_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMAL_BUDGET", "0.1")
    monkeypatch.setenv("STREAMAL_MODEL", "arf")
    s = load_settings({"model": "linear"})
    config = s.learner_config()
    assert config.budget == 0.1 and config.model == "linear"


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"budget": "0"}, "STREAMAL_BUDGET"),
        ({"budget": "lots"}, "STREAMAL_BUDGET"),
        ({"model": "svm"}, "STREAMAL_MODEL"),
        ({"strategy": "psychic"}, "STREAMAL_STRATEGY"),
        ({"http_port": "70000"}, "STREAMAL_HTTP_PORT"),
        ({"labels_topic": "streamal.events"}, "topic names must differ"),
    ],
)
def test_bad_setting_names_itself(given: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(given)


def test_review_tokens_from_a_list_or_a_file(tmp_path: Path) -> None:
    from streamal.config import load_settings

    book = load_settings({"review_tokens": "analyst-1:aaaaaaaa1,analyst-2:bbbbbbbb2"}).tokens
    assert (book.who("aaaaaaaa1"), book.who("bbbbbbbb2"), book.who("aaaaaaaa2")) == ("analyst-1", "analyst-2", None)
    path = tmp_path / "tokens"
    path.write_text("# annotator:token\nanalyst-1:cccccccc3\n\nanalyst-2:dddddddd4\n")
    book = load_settings({"review_tokens": f"@{path}"}).tokens
    assert (book.who("cccccccc3"), book.who("dddddddd4"), book.names()) == ("analyst-1", "analyst-2",
                                                                           ["analyst-1", "analyst-2"])
    for bad, message in [("analyst-1", "annotator:token"), ("a:b", "shorter than 8"),
                         ("a:same-token-1,b:same-token-1", "share one token"),
                         (f"@{tmp_path / 'missing'}", "cannot read the token file")]:
        try:
            load_settings({"review_tokens": bad})
        except Exception as exc:
            assert "STREAMAL_REVIEW_TOKENS" in str(exc) and message in str(exc), str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")


def test_every_learner_setting_comes_from_the_learner_s_own_table() -> None:
    """LearnerConfig's fields are the settings (one table): same defaults, each setting reaches its field."""
    from dataclasses import fields

    from streamal.core.config import LearnerConfig, settings_table

    table = dict(settings_table())
    assert {f.name for f in fields(LearnerConfig)} - {f.name for f in table.values()} == {"accuracy_window",
                                                                                        "categorical"}
    for name, f in table.items():
        assert Settings.model_fields[name].default == f.default, name
        assert Settings.model_fields[name].description == f.metadata["doc"], name
    changed = {"budget": "0.2", "budget_window": "50", "drift_boost": "3", "capacity_per_hour": "60",
               "novelty_share": "0.1", "stopping": "true", "seed": "7"}
    config = load_settings(changed).learner_config()
    assert (config.budget, config.window, config.boost, config.capacity, config.novelty_share, config.stopping,
            config.seed) == (0.2, 50, 3.0, 60.0, 0.1, True, 7)


@pytest.mark.parametrize(("setting", "field", "value", "message"), [
    ("budget", "budget", 0.0, "must be in (0, 1], got 0"),
    ("budget_window", "window", 5, "must be at least 10, got 5"),
    ("drift_boost", "boost", 0.5, "must be at least 1, got 0.5"),
    ("explore_share", "explore_share", 1.5, "must be in [0, 1], got 1.5"),
])
def test_a_bound_is_checked_in_one_place_for_the_settings_and_the_learner(
        setting: str, field: str, value: float, message: str
) -> None:
    from streamal.core.config import LearnerConfig, replace

    with pytest.raises(ConfigError) as from_settings:
        load_settings({setting: str(value)})
    assert str(from_settings.value).startswith(f"STREAMAL_{setting.upper()}: must")
    with pytest.raises(ValueError, match=re.escape(f"{field}: {message}")):
        changes: dict[str, Any] = {field: value}
        replace(LearnerConfig(), **changes)
