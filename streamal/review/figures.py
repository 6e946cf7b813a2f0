"""Figures over review entries: what is open, who answered what, how fast, how well analysts agree."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from streamal.core.agreement import cohen_kappa, fleiss_kappa
from streamal.review.entries import ReviewEntry

__all__ = ["agreement_kappa", "summarize"]


def agreement_kappa(entries: list[ReviewEntry]) -> float | None:
    """Fleiss' kappa over the agreed items answered more than once (``None`` while there are none)."""
    return fleiss_kappa([[a.label for a in e.live_answers()] for e in entries
                         if e.agreed is not None and len(e.live_answers()) >= 2])


def summarize(entries: list[ReviewEntry]) -> dict[str, Any]:
    """Open, answered, by reason, by annotator, median answer time, agreement.

    One pass over every entry for the counts; the answers' figures from the entries that have answers (the
    few closed ones, not the open ones piling up: the review page asks for these every two seconds).
    """
    open_by_reason: Counter[str] = Counter()
    dropped = withdrawn = 0
    with_answers = []
    for e in entries:
        if e.open:
            open_by_reason[e.item.reason] += 1
        if e.withdrawn is not None:
            withdrawn += 1
        elif e.dropped:
            dropped += 1
        if e.answers:
            with_answers.append(e)
    answered = [e for e in with_answers if e.agreed is not None]  # agreed from answers: every one has some
    by_annotator: Counter[str] = Counter(a.annotator for e in with_answers for a in e.live_answers())
    times = [a.at - e.item.queried_at for e in with_answers for a in e.live_answers()
             if e.item.queried_at is not None]
    agree: dict[str, list[bool]] = {}
    for e in answered:
        for a in e.live_answers():
            agree.setdefault(a.annotator, []).append(a.label == e.agreed)
    pairs = _annotator_pairs(answered)
    return {
        "open": sum(open_by_reason.values()),
        "answered": len(answered),
        "dropped": dropped,
        "withdrawn": withdrawn,
        "open_by_reason": dict(open_by_reason),
        "by_annotator": dict(by_annotator),
        "median_answer_seconds": statistics.median(times) if times else None,
        "agreement": {k: sum(v) / len(v) for k, v in agree.items()},
        "fleiss_kappa": agreement_kappa(answered),
        "cohen_kappa": {f"{a}|{b}": _pair_kappa(pairs[(a, b)]) for a, b in sorted(pairs)},
    }


def _pair_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two analysts; where both only ever gave one and the same label, full agreement."""
    if not pairs:
        return None
    kappa = cohen_kappa(Counter(pairs))
    return 1.0 if kappa is None else round(kappa, 6)


def _annotator_pairs(entries: list[ReviewEntry]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    pairs: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for e in entries:
        answers = sorted(e.live_answers(), key=lambda a: a.annotator)
        for i, a in enumerate(answers):
            for b in answers[i + 1:]:
                pairs.setdefault((a.annotator, b.annotator), []).append((a.label, b.label))
    return pairs
