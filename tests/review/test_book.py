"""The review store's record keeping: past its bound, closed items go first, then the oldest open one."""

from __future__ import annotations

from typing import Any

from streamal.core.pending import PendingItem
from streamal.review.book import Book, _rank
from streamal.review.entries import ReviewEntry


def entry(event_id: str) -> ReviewEntry:
    return ReviewEntry(PendingItem(event_id, {}, None, "a", {"a": 1.0}, 0.0, "uncertainty", 0, 0.0), 0.0)


def close(book: Book, event_id: str) -> None:
    e = book.entries[event_id]
    e.dropped = True
    book.closing(event_id)


def test_past_the_bound_the_item_closed_longest_ago_goes_then_the_oldest_open_one() -> None:
    book = Book(max_items=4, max_closed=100)
    for i in range(4):
        book.add(entry(f"e{i}"))
    close(book, "e2")
    close(book, "e1")
    book.add(entry("e4"))
    assert list(book.entries) == ["e0", "e1", "e3", "e4"]  # e2 closed first: it goes, the open e0 stays
    book.add(entry("e5"))
    assert list(book.entries) == ["e0", "e3", "e4", "e5"]
    book.add(entry("e6"))  # no closed item left: the oldest open one goes
    assert list(book.entries) == ["e3", "e4", "e5", "e6"]


def test_an_item_open_again_is_not_let_go_as_closed() -> None:
    book = Book(max_items=2, max_closed=100)
    book.add(entry("e0"))
    book.add(entry("e1"))
    close(book, "e1")
    book.entries["e1"].dropped = False  # open again (an answer undone, say)
    book.add(entry("e2"))
    assert list(book.entries) == ["e1", "e2"]  # no closed item: the oldest open one (e0) went


def test_a_full_book_of_open_items_takes_a_new_one_without_walking_them_all(monkeypatch: Any) -> None:
    book = Book(max_items=50_000, max_closed=100)
    for i in range(50_000):
        book.add(entry(f"e{i}"))
    looked = [0]
    plain = ReviewEntry.open

    def counted(self: ReviewEntry) -> bool:
        looked[0] += 1
        return bool(plain.fget(self))  # type: ignore[attr-defined]

    monkeypatch.setattr(ReviewEntry, "open", property(counted))
    for i in range(50_000, 50_100):
        book.add(entry(f"e{i}"))
    # (the store evicted by walking every entry for a closed one: 50,000 looks a new item, 400 events/s)
    assert looked[0] <= 100 and len(book.entries) == 50_000 and next(iter(book.entries)) == "e100"


def test_top_follows_the_queue_order_as_worth_changes_items_close_and_open_again() -> None:
    import random

    rng = random.Random(7)
    book = Book(max_items=400, max_closed=100)
    reasons = ["uncertainty", "drift", "random", "explore", "novelty"]
    n = 0
    for step in range(3000):
        op = rng.random()
        if op < 0.3 or not book.entries:
            e = ReviewEntry(PendingItem(f"e{n}", {}, None, "a", {"a": 1.0}, rng.random(), rng.choice(reasons), 0,
                                        0.0), float(rng.randrange(50)))
            n += 1
            book.add(e)
        else:
            e = book.entries[rng.choice(list(book.entries))]
            if op < 0.7:
                e.utility = rng.choice([0.1, 0.2, 0.5, rng.random()])  # ties: the oldest first, as the queue
            elif op < 0.85 and e.open:
                close(book, e.item.event_id)
            elif not e.open and not e.handed:
                e.dropped = False  # open again (an answer taken back, say)
            book.touch(e)  # what the store does after each change
        if step % 50 == 0:
            queue = [x.item.event_id for x in sorted((x for x in book.entries.values() if x.open), key=_rank)]
            assert [x.item.event_id for x in book.top(lambda x: True, 25)] == queue[:25]
            odd = [x.item.event_id for x in book.top(lambda x: int(x.item.event_id[1:]) % 2 == 1, 10)]
            assert odd == [k for k in queue if int(k[1:]) % 2 == 1][:10]
    assert len(book._heap) <= 2 * len(book.entries) + 64  # superseded places do not pile up


def test_the_kept_order_is_rebuilt_from_a_checkpoint() -> None:
    book = Book(max_items=100, max_closed=100)
    for i, worth in enumerate([0.2, 0.9, 0.5]):
        e = entry(f"e{i}")
        e.utility = worth
        book.add(e)
    again = Book(max_items=100, max_closed=100)
    again.load(book.state())  # the order is not saved: it is made again from the entries
    assert [e.item.event_id for e in again.top(lambda e: True, 3)] == ["e1", "e2", "e0"]


def test_a_worth_set_again_to_what_it_was_takes_no_new_place() -> None:
    book = Book(max_items=100, max_closed=100)
    e = entry("e0")
    e.utility = 0.4
    book.add(e)
    for _ in range(10):  # the pool re-ranks the same top every second; the model often has not moved
        book.touch(e)
    assert len(book._heap) == 1
    e.utility = 0.7
    book.touch(e)
    assert len(book._heap) == 2 and [x.item.event_id for x in book.top(lambda x: True, 5)] == ["e0"]
