import pytest

from streamal.config import load_settings
from streamal.errors import ConfigError


def test_env_and_flags(monkeypatch):
    monkeypatch.setenv("STREAMAL_BUDGET", "0.1")
    monkeypatch.setenv("STREAMAL_MODEL", "arf")
    s = load_settings({"model": "linear"})
    assert s.budget == 0.1 and s.model == "linear"


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
def test_bad_setting_names_itself(given, named):
    with pytest.raises(ConfigError, match=named):
        load_settings(given)
