"""The review page in a real headless Chromium, against the service and a real broker.

An analyst opens the page with a token, sees a queued item, answers it with a
keyboard shortcut; the label appears on the labels topic with the analyst's
name and is learned by the service.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

from kafka import KafkaProducer
from playwright.sync_api import expect, sync_playwright

from streamal.tools.embedded import EmbeddedBroker
from tests.integration.conftest import MakeService, read_topic, send, wait_until

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "page-token-1234"


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "chromium is missing: `make test` installs it (apt-get install chromium)"
    return path


def test_an_analyst_answers_on_the_page_with_a_shortcut(make_service: MakeService, producer: KafkaProducer,
                                                        broker: EmbeddedBroker, tmp_path: Path) -> None:
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
            # (Playwright's expect, not wait_for_function: the page's CSP forbids evaluating strings, and stays on)
            expect(page.locator("#flash")).to_contain_text(f"Answered {event_id}", timeout=10_000)
            expect(page.locator("#event-id")).not_to_have_text(event_id, timeout=10_000)  # the next item loads
            assert int(page.locator("#done").inner_text()) == 1
        finally:
            browser.close()

    labels = read_topic(broker.bootstrap, svc.topics["labels"])
    mine = [m for m in labels if m["event_id"] == event_id and m.get("source") == "review"]
    assert len(mine) == 1
    assert mine[0]["label"] == second and mine[0]["annotator"] == "analyst-1"
    assert mine[0]["model_version_seen"] >= 20 and "prediction_seen" in mine[0]
    svc.wait_metric('streamal_labels_total{outcome="learned"}', learned_before + 1, timeout=20)
    wait_until(lambda: svc.metric('streamal_review_answers_total{annotator="analyst-1"}') >= 1, 10)
    assert svc.metric('streamal_review_answers_total{annotator="analyst-1"}') == 1
    assert svc.stop() == 0


def post(url: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
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


def test_two_answers_wanted_the_agreed_label_is_learned_and_survives_a_restart(
        make_service: MakeService, producer: KafkaProducer, broker: EmbeddedBroker
) -> None:
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
    status, _ = post(f"{svc.url}/api/review/q0/label", "first-token-1", {"label": "bad"})
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


def get(url: str, token: str) -> dict[str, Any]:
    import urllib.request

    import orjson

    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return dict(orjson.loads(r.read()))


def test_two_analysts_at_once_reasons_explanations_comments_guidelines_and_sign_out(
        make_service: MakeService, producer: KafkaProducer, broker: EmbeddedBroker, tmp_path: Path) -> None:
    guide = tmp_path / "guidelines.md"
    guide.write_text("# How we label\n\n**malicious**: a scan or an exploit. <script>alert(1)</script>\n")
    tokens = {"analyst-1": "first-page-token", "analyst-2": "second-page-token"}
    svc = make_service(budget="1.0", seed_size="2", model="linear", review_undo_seconds="1",
                       review_tokens=",".join(f"{k}:{v}" for k, v in tokens.items()),
                       review_guidelines=str(guide)).start()
    rng = random.Random(5)
    known = [{"id": f"k{i}", "features": {"bytes": b, "proto": "tcp"}, "label": "malicious" if b > 500 else "benign"}
             for i, b in enumerate(rng.randint(0, 1000) for _ in range(30))]
    send(producer, svc.topics["events"], known, key=lambda e: e["id"].encode())
    svc.wait_metric('streamal_labels_total{outcome="learned"}', 30)
    fresh = [{"id": f"u{i}", "features": {"bytes": rng.randint(0, 1000), "proto": "udp"}} for i in range(12)]
    send(producer, svc.topics["events"], fresh, key=lambda e: e["id"].encode())
    # at a budget of 1 nearly every one is asked (the audit's share and the strategy's bar may pass one or two);
    # the two analysts below answer eight
    svc.wait_metric("streamal_review_backlog", 10)
    svc.wait_metric('streamal_review_items_total{outcome="added"}', 10)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            pages = {}
            for who, token in tokens.items():  # each analyst in a browser profile of their own
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.goto(f"{svc.url}/?token={token}")
                pages[who] = page
            for page in pages.values():
                page.wait_for_selector("#item:not([hidden])", timeout=20_000)

            def current() -> dict[str, str]:
                return {who: p.locator("#event-id").inner_text() for who, p in pages.items()}

            def holding(shown: dict[str, str]) -> bool:
                return shown["analyst-1"] != shown["analyst-2"] and all(
                    get(f"{svc.url}/api/review/{event_id}", tokens[who])["claimed_by"] == who
                    for who, event_id in shown.items())

            seen_pairs = []
            for turn in range(4):  # answer in turns; never does one page show the item the other holds
                shown = current()
                seen_pairs.append(shown)
                assert shown["analyst-1"] != shown["analyst-2"], shown
                for who, event_id in shown.items():
                    assert get(f"{svc.url}/api/review/{event_id}", tokens[who])["claimed_by"] == who
                # the queue refreshes every 2 s: it shows what analyst-1 holds now, within a few refreshes
                expect(pages["analyst-2"].locator("#queue li.held").first).to_contain_text(
                    "held by analyst-1", timeout=10_000)
                who = ("analyst-1", "analyst-2")[turn % 2]
                page = pages[who]
                before = shown[who]
                if turn == 0:  # a note with the answer
                    page.fill("#comment", "beaconing every 60 s")
                page.locator("#card").click(position={"x": 5, "y": 5})
                page.keyboard.press("1")
                expect(page.locator("#event-id")).not_to_have_text(before, timeout=10_000)
                wait_until(lambda: holding(current()), 10)  # each page has claimed what it now shows

            # why each item was asked, in a phrase; what drove the guess
            page = pages["analyst-1"]
            reason = page.locator("#reason").inner_text().lower()
            phrase = page.locator("#reason-text").inner_text()
            assert reason in {"uncertainty", "random", "explore", "seed", "novelty"} and len(phrase) > 20
            assert page.locator("#why-wrap").is_visible()
            why = page.locator("#why").inner_text()
            assert "Linear model" in why and ("bytes" in why or "proto" in why)

            page.keyboard.press("g")  # the guidelines, rendered, with the raw HTML shown as text
            page.wait_for_selector("#guide-body h1", timeout=10_000)
            assert page.locator("#guide-body h1").inner_text() == "How we label"
            assert page.locator("#guide-body script").count() == 0
            page.keyboard.press("m")  # my answers
            page.wait_for_selector("#mine-list tr td", timeout=10_000)
            assert page.locator("#mine-list tr").count() >= 1

            held = page.locator("#event-id").inner_text()
            page.click("#sign-out")
            page.wait_for_selector("#login:not([hidden])", timeout=10_000)
            assert page.evaluate("localStorage.getItem('streamal.token')") is None
            assert not page.locator("#desk").is_visible()
            assert get(f"{svc.url}/api/review/{held}", tokens["analyst-2"])["claimed_by"] is None  # released
            page.reload()
            page.wait_for_selector("#login:not([hidden])", timeout=10_000)  # still signed out
        finally:
            browser.close()

    labels = read_topic(broker.bootstrap, svc.topics["labels"])
    noted = [m for m in labels if m.get("comment")]
    assert [(m["annotator"], m["comment"]) for m in noted] == [("analyst-1", "beaconing every 60 s")]
    assert svc.stop() == 0
