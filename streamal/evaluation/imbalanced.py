"""Imbalanced streams with classes that appear mid-stream: a security sensor and a support desk.

Accuracy hides what matters on such streams: most events are benign or
routine, a few are the attack or the incident, and the worst of them is the
kind nobody has labelled yet. These two generated streams put that in front
of the evaluation (macro-F1, per-class recall, discovery delays):

``security`` (network flows): ``benign`` about 93%; ``scan`` and
``bruteforce`` from the start; ``exfiltration`` (huge uploads) from 30% of the
stream; ``c2`` (command and control: small, regular beacons to port 443, easy
to call benign) from 50%; ``miner`` (long connections to a mining port) from
70%.

``tickets`` (support tickets): ``how-to``, ``bug`` and ``billing`` most of the
time; ``outage`` in bursts; ``account-takeover`` (sign-in trouble on an old
account from a new device) from 40%; ``fraud`` (refund requests on new
accounts) from 60%.

>>> s = security(n=2000, seed=1)
>>> events = list(s)
>>> len(events), sorted({y for _, y in events[:500]}) == ["benign", "bruteforce", "scan"]
(2000, True)
>>> any(y == "c2" for _, y in events[:999]), any(y == "c2" for _, y in events[1000:])
(False, True)
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

from streamal.evaluation.streams import Pair, Stream

__all__ = ["IMBALANCED", "security", "tickets"]

#: Share of the events of each rare class once it has appeared.
_SECURITY = {"scan": 0.02, "bruteforce": 0.015, "exfiltration": 0.008, "c2": 0.012, "miner": 0.007}
_SECURITY_FROM = {"scan": 0.0, "bruteforce": 0.0, "exfiltration": 0.3, "c2": 0.5, "miner": 0.7}
_TICKETS = {"outage": 0.0, "account-takeover": 0.012, "fraud": 0.008}
_TICKETS_FROM = {"account-takeover": 0.4, "fraud": 0.6}


def _flow(rng: random.Random, kind: str) -> dict[str, Any]:
    hour = rng.randrange(24)
    if kind == "benign":
        port = rng.choice([80, 443, 443, 443, 53, 22, 8080, 25])
        return {"bytes_out": round(rng.lognormvariate(8, 1.2)), "bytes_in": round(rng.lognormvariate(10, 1.5)),
                "duration": round(rng.expovariate(1 / 20), 2), "port": port, "proto": "udp" if port == 53 else "tcp",
                "failed_logins": int(rng.random() < 0.03), "distinct_ports": 1 + int(rng.random() < 0.1),
                "hour": hour, "interval_sd": round(rng.uniform(0.5, 30), 2)}
    if kind == "scan":
        return {"bytes_out": round(rng.lognormvariate(4, 0.5)), "bytes_in": round(rng.lognormvariate(3, 0.8)),
                "duration": round(rng.expovariate(1 / 0.5), 2), "port": rng.choice([21, 23, 445, 3389, 8443, 1433]),
                "proto": "tcp", "failed_logins": 0, "distinct_ports": rng.randrange(20, 200), "hour": hour,
                "interval_sd": round(rng.uniform(0.01, 0.5), 2)}
    if kind == "bruteforce":
        return {"bytes_out": round(rng.lognormvariate(6, 0.4)), "bytes_in": round(rng.lognormvariate(6, 0.4)),
                "duration": round(rng.expovariate(1 / 60), 2), "port": rng.choice([22, 3389]), "proto": "tcp",
                "failed_logins": rng.randrange(5, 60), "distinct_ports": 1, "hour": hour,
                "interval_sd": round(rng.uniform(0.1, 2), 2)}
    if kind == "exfiltration":
        return {"bytes_out": round(rng.lognormvariate(17, 0.6)), "bytes_in": round(rng.lognormvariate(8, 1)),
                "duration": round(rng.expovariate(1 / 300), 2), "port": rng.choice([443, 22, 8080]), "proto": "tcp",
                "failed_logins": 0, "distinct_ports": 1, "hour": rng.choice([1, 2, 3, 4, 23]),
                "interval_sd": round(rng.uniform(0.5, 30), 2)}
    if kind == "c2":  # beacons: small, regular, to 443 — close to benign web traffic on most features
        return {"bytes_out": round(rng.lognormvariate(7.5, 0.3)), "bytes_in": round(rng.lognormvariate(8, 0.3)),
                "duration": round(rng.uniform(40, 70), 2), "port": 443, "proto": "tcp", "failed_logins": 0,
                "distinct_ports": 1, "hour": hour, "interval_sd": round(rng.uniform(0.0, 0.3), 3)}
    return {"bytes_out": round(rng.lognormvariate(9, 0.5)), "bytes_in": round(rng.lognormvariate(9, 0.5)),  # miner
            "duration": round(rng.uniform(3000, 20000), 1), "port": rng.choice([3333, 4444, 14444]), "proto": "tcp",
            "failed_logins": 0, "distinct_ports": 1, "hour": hour, "interval_sd": round(rng.uniform(5, 60), 2)}


def _security(n: int, seed: int) -> Iterator[Pair]:
    rng = random.Random(seed)
    for i in range(n):
        at = i / n
        kind = "benign"
        u = rng.random()
        for cls, share in _SECURITY.items():
            if at >= _SECURITY_FROM[cls]:
                if u < share:
                    kind = cls
                    break
                u -= share
        yield _flow(rng, kind), kind


_WORDS = ("login", "password", "refund", "invoice", "crash", "error", "slow", "how", "export", "down")
_TOPICS = {
    "how-to": {"how": 2.0, "export": 0.8, "login": 0.2},
    "bug": {"crash": 1.2, "error": 1.5, "slow": 0.6},
    "billing": {"invoice": 1.5, "refund": 0.4},
    "outage": {"down": 2.0, "error": 1.0, "slow": 1.0},
    "account-takeover": {"login": 1.5, "password": 1.5, "error": 0.3},
    "fraud": {"refund": 2.0, "invoice": 0.8},
}


def _ticket(rng: random.Random, kind: str) -> dict[str, Any]:
    weights = _TOPICS[kind]
    words = {f"w_{w}": sum(rng.random() < 0.5 for _ in range(int(8 * weights.get(w, 0.05) + 0.5)))
             for w in _WORDS}
    x: dict[str, Any] = {
        **words,
        "product": rng.choice(["app", "web", "api"]),
        "channel": rng.choice(["email", "chat", "phone"]),
        "tenure_days": round(rng.expovariate(1 / 400)),
        "new_device": rng.random() < 0.1,
        "previous_tickets": int(rng.expovariate(1 / 2)),
        "length": round(rng.lognormvariate(5, 0.6)),
    }
    if kind == "account-takeover":
        x.update(tenure_days=round(rng.uniform(700, 3000)), new_device=True, channel=rng.choice(["email", "chat"]))
    elif kind == "fraud":
        x.update(tenure_days=round(rng.uniform(0, 20)), previous_tickets=0)
    elif kind == "outage":
        x.update(channel=rng.choice(["chat", "phone"]), length=round(rng.lognormvariate(4, 0.4)))
    return x


def _tickets(n: int, seed: int) -> Iterator[Pair]:
    rng = random.Random(seed)
    outage_at = {round(n * f) for f in (0.15, 0.55, 0.85)}
    burst = 0
    for i in range(n):
        at = i / n
        if i in outage_at:
            burst = max(30, n // 200)
        if burst > 0 and rng.random() < 0.5:
            kind = "outage"
        else:
            v, w = rng.random(), rng.random()
            kind = "how-to" if v < 0.5 else "bug" if v < 0.77 else "billing"
            if at >= _TICKETS_FROM["fraud"] and w < _TICKETS["fraud"]:
                kind = "fraud"
            elif at >= _TICKETS_FROM["account-takeover"] and w < _TICKETS["fraud"] + _TICKETS["account-takeover"]:
                kind = "account-takeover"
        burst -= 1
        yield _ticket(rng, kind), kind


def security(n: int = 20_000, seed: int = 42) -> Stream:
    """The security stream (see the module's text); its drifts are where the new classes appear."""
    return Stream("security", lambda: _security(n, seed), n,
                  sorted({math.ceil(n * f) for f in _SECURITY_FROM.values() if f > 0}))


def tickets(n: int = 20_000, seed: int = 42) -> Stream:
    """The support-ticket stream (see the module's text)."""
    return Stream("tickets", lambda: _tickets(n, seed), n, sorted(math.ceil(n * f) for f in _TICKETS_FROM.values()))


IMBALANCED = {"security": security, "tickets": tickets}
