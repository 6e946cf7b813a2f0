"""The review page in a real headless Chromium, against the service and a real broker.

An analyst opens the page with a token, sees a queued item, answers it with a
keyboard shortcut; the label appears on the labels topic with the analyst's
name and is learned by the service.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.integration.conftest import read_topic, send

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "page-token-1234"


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "chromium is missing: `make test` installs it (apt-get install chromium)"
    return path


def test_an_analyst_answers_on_the_page_with_a_shortcut(make_service, producer, broker, tmp_path):
    svc = make_service(budget="0.5", seed_size="2", review_tokens=f"analyst-1:{TOKEN}", review_undo_seconds="1",
                       model="linear").start()
    rng = random.Random(3)
    known = [{"id": f"k{i}", "features": {"bytes": b, "proto": "tcp"}, "label": "malicious" if b > 500 else "benign"}
             for i, b in enumerate(rng.randint(0, 1000) for _ in range(20))]
    send(producer, svc.topics["events"], known, key=lambda e: e["id"].encode())
    svc.wait_metric('streamal_labels_total{outcome="learned"}', 20)
    fresh = [{"id": f"u{i}", "features": {"bytes": rng.randint(0, 1000), "proto": "udp"}, "meta": {"sensor": "ids-7"}}
             for i in range(20)]
    send(producer, svc.topics["events"], fresh, key=lambda e: e["id"].encode())
    svc.wait_metric("streamal_review_backlog", 1)  # an item waits for the analyst
    learned_before = svc.metric('streamal_labels_total{outcome="learned"}')

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{svc.url}/?token={TOKEN}")
            page.wait_for_selector("#item:not([hidden])", timeout=20_000)
            assert page.locator("#who").inner_text() == "analyst-1"
            assert not page.locator("#login").is_visible()  # signed in by the token: no sign-in box
            event_id = page.locator("#event-id").inner_text()
            assert event_id.startswith("u")
            assert page.locator("#bars .bar").count() == 2  # the model's probabilities, one bar per class
            assert page.locator("#features td").first.inner_text() in {"bytes", "proto"}
            assert "1" in page.locator("#legend").inner_text() and "skip" in page.locator("#legend").inner_text()
            buttons = page.locator("#answers button")
            assert buttons.count() == 2
            second = buttons.nth(1).get_attribute("data-label")
            page.screenshot(path=str(tmp_path / "review-page.png"))
            if os.environ.get("STREAMAL_UPDATE_SCREENSHOT"):
                page.screenshot(path=str(ROOT / "docs" / "review-page.png"))

            page.keyboard.press("2")
            page.wait_for_function(f"document.getElementById('flash').textContent.includes('Answered {event_id}')",
                                   timeout=10_000)
            page.wait_for_function(f"document.getElementById('event-id').textContent !== '{event_id}'",
                                   timeout=10_000)  # the next item loads by itself
            assert int(page.locator("#done").inner_text()) == 1
        finally:
            browser.close()

    labels = read_topic(broker.bootstrap, svc.topics["labels"])
    mine = [m for m in labels if m["event_id"] == event_id and m.get("source") == "review"]
    assert len(mine) == 1
    assert mine[0]["label"] == second and mine[0]["annotator"] == "analyst-1"
    assert mine[0]["model_version_seen"] >= 20 and "prediction_seen" in mine[0]
    svc.wait_metric('streamal_labels_total{outcome="learned"}', learned_before + 1, timeout=20)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and svc.metric('streamal_review_answers_total{annotator="analyst-1"}') < 1:
        time.sleep(0.2)
    assert svc.metric('streamal_review_answers_total{annotator="analyst-1"}') == 1
    assert svc.stop() == 0


def post(url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    import orjson

    req = urllib.request.Request(url, data=orjson.dumps(body or {}), method="POST",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, orjson.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, orjson.loads(e.read())


def test_two_answers_wanted_the_agreed_label_is_learned_and_survives_a_restart(make_service, producer, broker):
    tokens = "analyst-1:first-token-1,analyst-2:second-token-2,analyst-3:third-token-3"
    settings = dict(budget="1.0", seed_size="5", review_tokens=tokens, review_answers="2",
                    review_undo_seconds="0.5", model="linear")
    svc = make_service(**settings).start()
    send(producer, svc.topics["events"], [{"id": f"q{i}", "features": {"x": i}} for i in range(3)],
         key=lambda e: e["id"].encode())
    svc.wait_metric("streamal_review_backlog", 3)  # all three asked (seed or audit)
    svc.wait_metric('streamal_review_items_total{outcome="added"}', 3)  # the items are back in the store
    assert post(f"{svc.url}/api/review/q0/label", "first-token-1", {"label": "bad"})[0] == 200
    # a later item that both analysts answer: once it is learned, q0's single answer is past its undo window too
    assert post(f"{svc.url}/api/review/q2/label", "first-token-1", {"label": "bad"})[0] == 200
    assert post(f"{svc.url}/api/review/q2/label", "second-token-2", {"label": "bad"})[0] == 200
    svc.wait_metric('streamal_labels_total{outcome="learned"}', 1, timeout=15)
    assert svc.metric('streamal_labels_total{outcome="learned"}') == 1  # q0, one answer of two: not learned
    status, body = post(f"{svc.url}/api/review/q0/label", "first-token-1", {"label": "bad"})
    assert status == 409  # the same analyst cannot answer twice
    assert post(f"{svc.url}/api/review/q0/label", "second-token-2", {"label": "bad"})[0] == 200
    svc.wait_metric('streamal_labels_total{outcome="learned"}', 2, timeout=15)
    assert post(f"{svc.url}/api/review/q1/label", "first-token-1", {"label": "good"})[0] == 200
    assert svc.stop() == 0

    again = make_service(**settings).start()  # the store comes back with the checkpoint
    import urllib.request

    import orjson

    req = urllib.request.Request(f"{again.url}/api/review/q1", headers={"Authorization": "Bearer third-token-3"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert orjson.loads(r.read())["answers"] == 1
    assert post(f"{again.url}/api/review/q1/label", "third-token-3", {"label": "good"})[0] == 200
    again.wait_metric('streamal_labels_total{outcome="learned"}', 1, timeout=15)
    stats_req = urllib.request.Request(f"{again.url}/api/review/stats",
                                       headers={"Authorization": "Bearer third-token-3"})
    with urllib.request.urlopen(stats_req, timeout=10) as r:
        stats = orjson.loads(r.read())
    assert stats["answered"] == 3 and stats["fleiss_kappa"] is not None
    assert again.stop() == 0
