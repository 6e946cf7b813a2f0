"""The review store itself: memory bound, claims, skips, answers read back, retractions, corrections, old state."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from streamal.core.pending import PendingItem
from streamal.review.store import Answer, ReviewConflict, ReviewEntry, ReviewStore, UnknownItem


def test_closed_items_past_max_closed_are_let_go_oldest_first_and_open_ones_stay() -> None:
    store = ReviewStore(undo_seconds=0.0, clock=lambda: 100.0, max_closed=3)
    for i in range(6):
        store.add_item(PendingItem(f"e{i}", {"x": i}, None, "ok", {"ok": 1.0}, 0.5, "uncertainty", 0, 90.0))
    for i in range(5):
        store.apply_answer(f"e{i}", "ok", "analyst-1", answer_id=f"a{i}")
        store.due(now=200.0)  # learned: handed to the learner
    assert [k for k in ("e0", "e1", "e2", "e3", "e4", "e5") if store.knows(k)] == ["e2", "e3", "e4", "e5"]
    restored = ReviewStore(max_closed=3)
    restored.restore(store.snapshot())
    assert list(restored._book.closed) == ["e2", "e3", "e4"]


def _store(**kw: Any) -> tuple[ReviewStore, list[float]]:
    now = [100.0]
    store = ReviewStore(clock=lambda: now[0], **kw)
    for i in range(3):
        store.add_item(PendingItem(f"e{i}", {"x": i}, None, "ok", {"ok": 0.6, "bad": 0.4}, 0.1 * (i + 1),
                                   "uncertainty", 0, 90.0))
    return store, now


def test_a_claim_keeps_others_off_until_it_expires_and_next_skips_what_is_held() -> None:
    store, now = _store(claim_seconds=30.0)
    first, second = store.next_for("a"), store.next_for("b")
    assert first is not None and first.item.event_id == "e2"  # the highest score first, claimed for "a"
    assert second is not None and second.item.event_id == "e1"  # not what "a" holds
    with pytest.raises(ReviewConflict, match="claimed by a"):
        store.reserve("e2", "b")
    now[0] += 31.0
    assert store.entry("e2").claimed_by is None  # expired by itself
    store.reserve("e2", "b")


def test_a_skip_hides_the_item_from_its_analyst_only_and_a_drop_closes_it() -> None:
    store, _ = _store()
    store.skip("e2", "a")
    assert [e.item.event_id for e in store.open_items(annotator="a")[0]] == ["e1", "e0"]
    assert [e.item.event_id for e in store.open_items(annotator="b")[0]] == ["e2", "e1", "e0"]
    store.apply_drop("e2")
    with pytest.raises(ReviewConflict, match="already closed"):
        store.skip("e2", "b")
    with pytest.raises(UnknownItem):
        store.skip("nope", "b")


def test_an_answer_read_back_is_confirmed_once_and_a_retraction_reopens_the_item() -> None:
    store, now = _store(undo_seconds=10.0)
    store.reserve("e0", "a")
    store.record_local("e0", "bad", "a", answer_id="x1", at=100.0)
    assert store.entry("e0").answers[0].tentative and not store.entry("e0").open
    assert store.apply_answer("e0", "bad", "a", answer_id="x1", at=100.0)  # read back from the topic
    assert not store.entry("e0").answers[0].tentative
    assert store.undoable("e0", "a").answer_id == "x1"
    assert store.apply_retraction("e0", "x1") and store.entry("e0").open
    now[0] += 100.0
    assert store.due(now[0]) == []  # nothing agreed any more


def test_a_correction_after_the_label_was_learned_returns_the_label_to_learn() -> None:
    store, _ = _store(undo_seconds=0.0)
    store.apply_answer("e0", "ok", "a", answer_id="x1", at=100.0)
    assert store.due(now=101.0) == [("e0", "ok", 100.0)]
    assert store.correctable("e0", "a").answer_id == "x1"
    fixed = Answer("x2", "a", "bad", 102.0, corrects="x1")
    assert store.apply_correction("e0", "x1", fixed) == "bad"
    assert store.apply_correction("e0", "x1", fixed) is None  # read twice: once
    assert [a.answer_id for a in store.entry("e0").live_answers()] == ["x2"]


def test_checkpoints_written_before_answers_were_frozen_and_claims_moved_out_still_load() -> None:
    store, _ = _store()
    store.apply_answer("e0", "ok", "a", answer_id="x1", at=100.0)
    state = pickle.loads(store.snapshot())
    # the shapes the earlier store pickled: a claim on the entry, an answer's state as (None, {...})
    entry = state["_entries"]["e0"]
    old_entry = {f: getattr(entry, f) for f in ("item", "added_at", "answers", "skipped_by", "dropped", "agreed",
                                                 "closed_at", "handed", "utility", "withdrawn")}
    old_entry.update(claimed_by="a", claim_until=500.0)
    answer = entry.answers[0]
    old_answer = (None, {f: getattr(answer, f) for f in ("answer_id", "annotator", "label", "at", "retracted",
                                                          "tentative", "comment", "corrects")})
    rebuilt_answer = Answer.__new__(Answer)
    rebuilt_answer.__setstate__(old_answer)
    rebuilt = ReviewEntry.__new__(ReviewEntry)
    rebuilt.__setstate__((None, {**old_entry, "answers": [rebuilt_answer]}))
    state["_entries"]["e0"] = rebuilt
    restored = ReviewStore()
    restored.restore(pickle.dumps(state))
    assert restored.entry("e0").agreed == "ok" and restored.entry("e0").answers[0].answer_id == "x1"
    assert restored.entry("e0").claimed_by is None  # claims do not survive a restore


def test_the_list_and_the_next_item_follow_the_queue_through_answers_retractions_and_new_worth() -> None:
    import random

    from streamal.review.book import _rank

    rng = random.Random(3)
    store = ReviewStore(clock=lambda: 100.0, answers_wanted=1)
    reasons = ["uncertainty", "drift", "random", "novelty"]
    answered: list[tuple[str, str]] = []
    for i in range(400):
        store.add_item(PendingItem(f"e{i}", {"x": i}, None, "ok", {"ok": 0.6, "bad": 0.4}, rng.random(),
                                   rng.choice(reasons), 0, 90.0))
    for step in range(1500):
        op, event_id = rng.random(), f"e{rng.randrange(400)}"
        if op < 0.5:
            store.set_utility(event_id, rng.random())  # the pool re-ranked it
        elif op < 0.75 and store.apply_answer(event_id, "ok", "a1", answer_id=f"a{step}"):
            answered.append((event_id, f"a{step}"))
        elif op < 0.9 and answered:
            store.apply_retraction(*answered.pop(rng.randrange(len(answered))))  # open again
        if step % 100 == 0:
            queue = sorted((e for e in store._book.entries.values() if e.open), key=_rank)
            page, total = store.open_items(limit=20, offset=5)
            assert [v.item.event_id for v in page] == [e.item.event_id for e in queue[5:25]]
            assert total == len(queue)
            drift = [e for e in queue if e.item.reason == "drift"]
            page, total = store.open_items(reason="drift", limit=10)
            assert [v.item.event_id for v in page] == [e.item.event_id for e in drift[:10]] and total == len(drift)
            head = store.next_for(f"analyst-{step}")  # a new analyst each time: nothing held or skipped
            assert head is not None and head.item.event_id == queue[0].item.event_id
            store.release(head.item.event_id, f"analyst-{step}")


def test_retracting_a_rebuilds_answers_counts_answers_and_keeps_agreed_items_closed() -> None:
    store = ReviewStore(answers_wanted=2, clock=lambda: 100.0)
    for i in range(2):
        store.add_item(PendingItem(f"e{i}", {"x": i}, None, "ok", {"ok": 0.6, "bad": 0.4}, 0.5, "uncertainty", 0,
                                   90.0))
        store.apply_answer(f"e{i}", "ok", "a", answer_id=f"a{i}", at=95.0)
    store.apply_answer("e0", "bad", "b", answer_id="b0", at=96.0)  # e0 agreed (two answers), e1 waits for one
    gone = store.retract_answers("a", None, frozenset({"b0"}), why="left out of a rebuild")
    assert gone == 3  # answers, not items: a's two and the one named
    assert store.retract_answers("a", None, frozenset({"b0"}), why="again") == 0  # each once
    assert [v.item.event_id for v in store.open_items()[0]] == ["e1"]  # marked, not reopened: e0 stays agreed


def test_the_summary_from_one_pass_equals_the_figures_counted_over_every_entry() -> None:
    import random
    import statistics
    from collections import Counter

    from streamal.review.figures import agreement_kappa, summarize

    rng = random.Random(5)
    store = ReviewStore(answers_wanted=2, clock=lambda: 100.0)
    for i in range(300):
        store.add_item(PendingItem(f"e{i}", {"x": i}, None, "ok", {"ok": 0.6, "bad": 0.4}, rng.random(),
                                   rng.choice(["uncertainty", "drift", "random"]), 0, 90.0))
    for i in range(300):
        op, event_id = rng.random(), f"e{i}"
        if op < 0.5:  # one or two answers, some agreeing
            for k in range(rng.choice([1, 2])):
                store.apply_answer(event_id, rng.choice(["ok", "bad"]), f"a{k}", answer_id=f"{event_id}-{k}",
                                   at=90.0 + rng.random() * 10)
            if rng.random() < 0.2:
                store.apply_retraction(event_id, f"{event_id}-0")
        elif op < 0.6:
            store.apply_drop(event_id)
        elif op < 0.7:
            store.apply_withdraw(event_id, "the model is sure of it now")
    entries = list(store._book.entries.values())
    got = summarize(entries)
    live = [(e, a) for e in entries for a in e.live_answers()]
    assert got["open"] == sum(e.open for e in entries) > 0
    assert got["open_by_reason"] == dict(Counter(e.item.reason for e in entries if e.open))
    assert got["answered"] == sum(e.agreed is not None for e in entries) > 0
    assert got["dropped"] == sum(e.dropped and e.withdrawn is None for e in entries) > 0
    assert got["withdrawn"] == sum(e.withdrawn is not None for e in entries) > 0
    assert got["by_annotator"] == dict(Counter(a.annotator for _, a in live))
    assert got["median_answer_seconds"] == statistics.median(a.at - (e.item.queried_at or 0.0) for e, a in live)
    assert got["fleiss_kappa"] == agreement_kappa(entries)
