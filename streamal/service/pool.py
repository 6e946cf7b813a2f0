"""The living review pool: open questions re-ranked as the model learns, and withdrawn once it knows.

Analysts pull from the pool (``GET /api/review/next`` and the review page);
what they get is decided when they pull, by the questions' worth *now*. The
model goes on learning while an item waits, from other labels, so a question
that was worth asking an hour ago may have been answered since by the model
itself. Every ``every`` seconds, on the loop's thread (the learner is not
shared with the HTTP threads), :meth:`ReviewPool.tick` looks again at the top
``top`` open questions of the queue (lazily: not every item on every label):

* it sets each one's utility under the current model, which orders the queue;
* a question this replica asked whose utility has fallen under half the
  admission bar (the utility an event needs now to be asked about;
  :func:`streamal.core.pool.assess`), or that has waited longer than
  ``expire`` seconds (``STREAMAL_REVIEW_EXPIRE_SECONDS``, 0: never), is
  **withdrawn**: a ``withdrawn`` message on the review
  topic (so every replica and every external tool drops it), the item closed
  in the review store, the label no longer waited for, and its query refunded
  to the budget, so the analysts' time goes to a question that still matters.

Only the strategy's own questions (``uncertainty``, ``drift``) are withdrawn:
the random audit must stay a uniform sample (its accuracy estimate is
unbiased only so), and the cold-start seed and exploration are not chosen by
their utility in the first place. Answered, half-answered and claimed items
are never withdrawn. Which questions a replica asked is kept in memory only:
after a restart, the questions asked before it stay in the queue (re-ranked,
not withdrawn) until they are answered.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from streamal.core.learner import Learner
from streamal.core.pool import WITHDRAWABLE, assess
from streamal.review.store import ReviewStore
from streamal.wire.review import withdrawn_message

__all__ = ["ReviewPool"]

logger = logging.getLogger(__name__)


class ReviewPool:
    """Re-ranks the top of the review queue and withdraws what the model has answered for itself.

    ``publish(event_id, message)`` sends a message to the review topic.
    """

    def __init__(self, learner: Learner, review: ReviewStore, publish: Callable[[str, dict[str, Any]], None], *,
                 every: float = 1.0, top: int = 50, max_own: int = 100_000, expire: float = 0.0,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time) -> None:
        self.learner = learner
        self.review = review
        self.publish = publish
        self.every = every
        self.top = top
        self.max_own = max_own
        self.clock = clock
        self.expire = expire
        self.wall_clock = wall_clock
        self.withdrawn = 0
        self._own: OrderedDict[str, None] = OrderedDict()
        self._last = clock()

    def asked(self, event_id: str) -> None:
        """This replica asked ``event_id``: it may withdraw it (and only it refunds the query)."""
        self._own[event_id] = None
        while len(self._own) > self.max_own:
            self._own.popitem(last=False)

    def tick(self) -> int:
        """Re-rank and withdraw, at most every ``every`` seconds; how many questions were withdrawn."""
        now = self.clock()
        if now - self._last < self.every:
            return 0
        self._last = now
        return self.rerank()

    def rerank(self) -> int:
        """Re-rank the top of the queue now; how many questions were withdrawn."""
        gone = 0
        now = self.wall_clock()
        for entry in self.review.top_unanswered(WITHDRAWABLE, self.top):
            event_id = entry.item.event_id
            worth, why = assess(self.learner, entry.item.features, entry.item.reason, entry.item.key)
            self.review.set_utility(event_id, worth)
            asked = entry.item.queried_at
            if why is None and self.expire > 0 and asked is not None and now - asked > self.expire:
                why = f"expired: asked {now - asked:.0f}s ago, unanswered"

            if event_id in self._own and why is not None:
                self.publish(event_id, withdrawn_message(event_id, why))
                if self.review.apply_withdraw(event_id, why):
                    self.learner.withdraw(event_id)
                    gone += 1
                self._own.pop(event_id, None)
        self.withdrawn += gone
        if gone:
            logger.debug("withdrew %d review items the model answered for itself", gone)
        return gone
