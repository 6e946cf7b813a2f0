"""What the review pool decides about one open question: its worth now, and whether to withdraw it.

Shared by the service's pool (:mod:`streamal.service.pool`) and the simulated
analysts of ``streamal evaluate`` (:mod:`streamal.evaluation.analysts`), so
the evaluation measures the same rule the service runs.

A question is worth what the strategy makes of its event under the model as
it is now (:meth:`~streamal.core.learner.Learner.worth_now`). It is withdrawn
when that has fallen below ``WITHDRAW_BELOW`` times the admission bar (the
utility an event needs now to be asked about at the budget): the model has
answered it for itself. Only the strategy's own questions may be: the audit
must stay a uniform sample, and the seed and exploration were not chosen by
their utility.

>>> REASON_ORDER["drift"] < REASON_ORDER["uncertainty"] < REASON_ORDER["random"]
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streamal.core.learner import Learner

__all__ = ["REASON_ORDER", "WITHDRAWABLE", "WITHDRAW_BELOW", "Verdict", "assess"]

#: The queue's order by reason, before worth: drift and novelty first, the audit last.
REASON_ORDER = {"drift": 0, "novelty": 0, "uncertainty": 1, "seed": 2, "explore": 3, "random": 4}
#: The reasons whose questions may be withdrawn (chosen by their utility).
WITHDRAWABLE = frozenset({"uncertainty", "drift"})
#: A question worth less than this share of the admission bar is withdrawn.
WITHDRAW_BELOW = 0.5

Verdict = tuple[float, str | None]


def assess(learner: Learner, features: Mapping[str, Any], reason: str, key: str | None = None) -> Verdict:
    """``(worth now, why withdraw or None)`` for an open question about ``features`` asked for ``reason``.

    ``key``: whose model asked it, with a model per key (:mod:`streamal.core.keyed`).
    """
    worth = learner.worth_now(features, key=key)
    if reason not in WITHDRAWABLE:
        return worth, None
    bar = learner.admission_bar(key=key) * WITHDRAW_BELOW
    if bar > 0.0 and worth < bar:
        return worth, f"the model is sure of it now: utility {worth:.4g} under the bar {bar:.4g}"
    return worth, None
