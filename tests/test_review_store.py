"""The review store's memory bound: closed items are kept up to a limit, open ones always."""

from __future__ import annotations

from streamal.core.pending import PendingItem
from streamal.review.store import ReviewStore


def test_closed_items_past_max_closed_are_let_go_oldest_first_and_open_ones_stay():
    store = ReviewStore(undo_seconds=0.0, clock=lambda: 100.0, max_closed=3)
    for i in range(6):
        store.add_item(PendingItem(f"e{i}", {"x": i}, None, "ok", {"ok": 1.0}, 0.5, "uncertainty", 0, 90.0))
    for i in range(5):
        store.apply_answer(f"e{i}", "ok", "analyst-1", answer_id=f"a{i}")
        store.due(now=200.0)  # learned: handed to the learner
    assert [k for k in ("e0", "e1", "e2", "e3", "e4", "e5") if store.knows(k)] == ["e2", "e3", "e4", "e5"]
    restored = ReviewStore(max_closed=3)
    restored.restore(store.snapshot())
    assert list(restored._closed) == ["e2", "e3", "e4"]
