"""Query by committee: ask where the members of an online ensemble disagree."""

from __future__ import annotations

import math
from typing import Any

from river import base

from streamal.core.strategies.base import Observation, Strategy

__all__ = ["Committee"]


class Committee(Strategy):
    """Disagreement among the members of an ensemble model (e.g. ``arf``).

    The utility is the mean Kullback-Leibler divergence of each member's
    probabilities from the committee's average (McCallum and Nigam, 1998):
    0 when all members agree, however unsure they are together; high where
    they tell different stories, which is where a label settles most. It
    needs a model whose members can be asked: ``STREAMAL_MODEL=arf``.
    """

    name = "committee"

    def check_model(self, model: Any) -> None:
        if not isinstance(model, base.Ensemble):
            raise ValueError("strategy 'committee' needs an ensemble model; use model 'arf'")

    def utility(self, obs: Observation) -> float:
        if not obs.proba or obs.model is None:
            return 1.0
        x = dict(obs.x)  # model-ready already (the learner's schema prepared it)
        votes = [member.predict_proba_one(x) for member in obs.model]
        classes = list(obs.proba)
        avg = {c: sum(v.get(c, 0.0) for v in votes) / len(votes) for c in classes}
        total = 0.0
        for v in votes:
            s = sum(v.get(c, 0.0) for c in classes) or 1.0
            for c in classes:
                p = v.get(c, 0.0) / s
                if p > 0.0 and avg[c] > 0.0:
                    total += p * math.log(p / avg[c])
        return total / len(votes)
