"""A bandit over strategies: per stream, ask the way the audit sample says pays.

``adaptive`` holds several strategies (its *arms*: ``margin`` and ``random``
by default) and, for each event, lets one of them decide, chosen by Thompson
sampling. Every arm sees every event, so each keeps its own view of the
stream. The reward of an arm is what the labels it chose did to the model,
measured on the one sample nobody chose, the **audit**: the mean
log-likelihood the model gives the last ``holdout`` audit labels, after the
label is learned minus before. A label that moves the model towards the
truth scores above zero; one that teaches nothing scores about zero. The
idea is Active Learning by Learning (Hsu and Lin, AAAI 2015), which rewards
a strategy with the model's importance-weighted accuracy on labels drawn at
random; here each label is rewarded on its own, so the few audit labels are
reused for every reward instead of waiting for new ones.

When uncertainty sampling is biased (after an abrupt change the model is
confidently wrong where margin never looks) random labels move the audit
likelihood more, and the bandit shifts to them; on a stable stream margin's
labels do, and it stays with margin. It costs ``holdout`` predictions per
label learned.

>>> from streamal.core.strategies.base import Observation
>>> s = Adaptive(seed=1)
>>> [type(a).__name__ for a in s.arms]
['Margin', 'RandomSampling']
>>> s.utility(Observation({"a": 0.5, "b": 0.5}, {})) in (0.0, 1.0)  # margin's 1.0, or random's 0.0
True
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Any

from streamal.core.calibration import log_likelihood
from streamal.core.strategies.base import Ask, Observation, Outcome, Strategy
from streamal.core.strategies.baseline import RandomSampling
from streamal.core.strategies.uncertainty import Margin

__all__ = ["Adaptive"]

#: Queried events remembered until their label comes (the oldest forgotten past this).
MAX_WAITING = 10_000


def _key(x: Mapping[str, Any]) -> int:
    """The same number for equal feature dicts, to match a label to the arm that asked for it."""
    items = tuple(sorted(x.items(), key=lambda kv: kv[0]))
    try:
        return hash(items)
    except TypeError:  # a value that cannot be hashed (none should reach a strategy): its text will do
        return hash(repr(items))


class Adaptive(Strategy):
    """Thompson sampling over ``margin`` and ``random``, rewarded on the audit sample's log-likelihood."""

    name = "adaptive"

    def __init__(self, seed: int = 42, holdout: int = 40, half_life: float = 100.0, explore: float = 0.05) -> None:
        super().__init__(seed)
        self.holdout = holdout
        self.half_life = half_life
        self.explore = explore
        self.arms: list[Strategy] = [Margin(seed=seed), RandomSampling(seed=seed + 1)]
        self._decay = 0.5 ** (1.0 / half_life)
        # faded reward statistics per arm: weight, sum, sum of squares
        self._n = [0.0] * len(self.arms)
        self._sum = [0.0] * len(self.arms)
        self._squares = [0.0] * len(self.arms)
        self._arm = 0
        self._asked = False  # the arm itself said yes to the event being decided
        self._model: Any = None
        self._audit: deque[tuple[dict[str, Any], str]] = deque(maxlen=holdout)
        self._fit: float | None = None  # the audit log-likelihood after the last label
        self._waiting: OrderedDict[int, int] = OrderedDict()  # queried event -> the arm that chose it
        self.chosen = [0] * len(self.arms)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_model"] = None  # the learner's own; handed back with the next event
        return state

    # -- the arms' decision -----------------------------------------------------------------------

    def utility(self, obs: Observation) -> float:
        return self.arms[self._arm].utility(obs)

    def ask(self, utility: float, rate: float, base_rate: float) -> Ask:
        answer = self.arms[self._arm].ask(utility, rate, base_rate)
        self._asked = answer != "no"
        return answer

    def observe(self, obs: Observation, utility: float, outcome: Outcome) -> None:
        self._model = obs.model
        for i, arm in enumerate(self.arms):
            if i == self._arm:
                arm.observe(obs, utility, outcome)
            else:
                arm.observe(obs, arm.utility(obs), "passed")
        # credited only to an arm that chose the event: the sampler also queries without asking the strategy
        # (random exploration while labels are late), and such a label is nobody's choice
        if outcome == "queried" and self._asked:
            self.chosen[self._arm] += 1
            self._waiting[_key(obs.x)] = self._arm
            if len(self._waiting) > MAX_WAITING:
                self._waiting.popitem(last=False)
        self._arm = self._pick()
        self._asked = False

    def threshold(self, rate: float) -> float:
        return self.arms[0].threshold(rate)

    def _pick(self) -> int:
        """The arm for the next event: a draw from each arm's reward posterior, the highest wins."""
        if self._rng.random() < self.explore:
            return self._rng.randrange(len(self.arms))
        total = sum(self._n)
        spread = 1.0
        if total > 2.0:
            mean = sum(self._sum) / total
            spread = max(sum(self._squares) / total - mean * mean, 1e-12)
        draws = [self._rng.gauss(s / n if n > 0 else 0.0, math.sqrt(spread / (n + 1.0)))
                 for n, s in zip(self._n, self._sum, strict=True)]
        return max(range(len(draws)), key=draws.__getitem__)

    def weights(self) -> list[float]:
        """Each arm's mean reward so far (faded); 0 before any."""
        return [s / n if n > 0 else 0.0 for n, s in zip(self._n, self._sum, strict=True)]

    # -- the rewards ------------------------------------------------------------------------------

    def _audit_fit(self) -> float | None:
        """Mean log-likelihood the model gives the held-out audit labels (``None`` with none yet)."""
        if not self._audit or self._model is None:
            return None
        return sum(log_likelihood(self._model.predict_proba_one(x), y) for x, y in self._audit) / len(self._audit)

    def learn_one(self, x: Mapping[str, Any], y: str, *, audit: bool = False) -> None:
        for arm in self.arms:
            arm.learn_one(x, y)
        chooser = self._waiting.pop(_key(x), None)
        if audit:  # the holdout grows: the fit is measured again, nobody is rewarded
            self._audit.append((dict(x), y))
            self._fit = self._audit_fit()
            return
        fit = self._audit_fit()
        if chooser is not None and fit is not None and self._fit is not None:
            reward = fit - self._fit
            for i in range(len(self.arms)):
                self._n[i] *= self._decay
                self._sum[i] *= self._decay
                self._squares[i] *= self._decay
            self._n[chooser] += 1.0
            self._sum[chooser] += reward
            self._squares[chooser] += reward * reward
        self._fit = fit

    def __repr__(self) -> str:
        return f"Adaptive(seed={self.seed}, holdout={self.holdout}, half_life={self.half_life:g})"
