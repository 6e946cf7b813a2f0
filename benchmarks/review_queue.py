"""What the review queue costs with many items waiting: the next item, the pool's re-ranking, a page of the list.

    .venv/bin/python benchmarks/review_queue.py [--items 100000] [--rounds 20]

The review store fills with ``--items`` open items (nobody answering, the
case where they pile up to ``STREAMAL_MAX_PENDING``), then times, each as the
median over ``--rounds``:

* ``GET /api/review/next``'s work (:meth:`ReviewStore.next_for`), for a new
  analyst each round, the item released again;
* one re-ranking of the pool (what :class:`~streamal.service.pool.ReviewPool`
  does about once a second on the service's loop): the top 50 unanswered
  questions found and each given a new utility;
* a page of the list (:meth:`ReviewStore.open_items`), which also counts what
  matches, with and without an analyst's filter;
* what ``GET /api/me`` adds (the store's figures and the analyst's last answer
  that may still be undone): the review page asks for both every two seconds.

The store's lock is held for each of these, and the service's loop takes
the same lock to add items: what is printed is also how long the loop may
wait behind an analyst's click.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from streamal.core.pending import PendingItem
from streamal.review.store import ReviewStore

REASONS = ("uncertainty", "drift", "random", "explore", "novelty")


def filled(n: int, seed: int = 1) -> ReviewStore:
    rng = random.Random(seed)
    store = ReviewStore(clock=lambda: 100.0, max_items=n)
    for i in range(n):
        store.add_item(PendingItem(f"e{i}", {"x": float(i)}, None, "ok", {"ok": 0.6, "bad": 0.4}, rng.random(),
                                   rng.choice(REASONS), 0, float(i)))
    return store


def median_ms(rounds: int, step: Callable[[int], object]) -> float:
    times = []
    for r in range(rounds):
        started = time.perf_counter()
        step(r)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    started = time.perf_counter()
    store = filled(args.items)
    print(f"# review queue: {args.items:,} open items (filled in {time.perf_counter() - started:.1f} s)")
    rng = random.Random(2)

    def next_item(r: int) -> None:
        view = store.next_for(f"analyst-{r}")
        if view is not None:
            store.release(view.item.event_id, f"analyst-{r}")

    def rerank(r: int) -> None:
        for view in store.top_unanswered(frozenset({"uncertainty", "drift"}), 50):
            store.set_utility(view.item.event_id, rng.random())

    print("| step | median ms |")
    print("|---|---:|")
    print(f"| next item for an analyst | {median_ms(args.rounds, next_item):.2f} |")
    print(f"| the pool's re-ranking (top 50) | {median_ms(args.rounds, rerank):.2f} |")
    print(f"| a page of the list (50) and its count | {median_ms(args.rounds, lambda r: store.open_items()):.2f} |")
    print(f"| the same, for one analyst, available only | "
          f"{median_ms(args.rounds, lambda r: store.open_items(annotator='a1', available=True)):.2f} |")
    print(f"| the figures and the last undoable answer (`/api/me`) | "
          f"{median_ms(args.rounds, lambda r: (store.stats(), store.last_undoable('a1'))):.2f} |")


if __name__ == "__main__":
    main()
