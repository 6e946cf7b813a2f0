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


def test_review_tokens_from_a_list_or_a_file(tmp_path):
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
