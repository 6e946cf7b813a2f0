"""The ``linear`` model on events with an address-like feature: one-hot zeros carried or not, side by side.

    .venv/bin/python benchmarks/one_hot.py [--events 20000]

river's ``OneHotEncoder`` by default emits a zero for every category it has
ever seen, so each event copies one entry per address seen so far; with
``drop_zeros=True`` (what ``linear`` uses) it emits only the categories present.
Prints events per second for both (predict every event, learn every 20th), the
ratio, and the largest difference in the probabilities they give.
"""

from __future__ import annotations

import argparse
import numbers
import random
import time
from typing import Any

from river import compose, linear_model, multiclass, optim, preprocessing

from streamal.core.models import make_model


def every_zero() -> compose.Pipeline:
    """``linear`` as it was: river's one-hot default, a zero for every category seen."""
    encode = compose.TransformerUnion(
        compose.SelectType(numbers.Number) | preprocessing.StandardScaler(),
        compose.SelectType(str) | preprocessing.OneHotEncoder(),
    )
    clf = multiclass.OneVsRestClassifier(linear_model.LogisticRegression(optimizer=optim.SGD(0.05)))
    return compose.Pipeline(encode, clf)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    rng = random.Random(1)
    data = []
    for _ in range(args.events):
        ip = f"10.0.{rng.randrange(256)}.{rng.randrange(256)}"
        x: dict[str, Any] = {"bytes": rng.lognormvariate(7, 1), "proto": rng.choice(["tcp", "udp"]), "src_ip": ip,
             "user": f"u{rng.randrange(5000)}"}
        data.append((x, "bad" if (x["bytes"] > 3000) != ip.endswith("7") else "ok"))
    rates, probas = {}, {}
    for drop in (False, True):  # the model as it was, and as streamal builds it now
        model, out = (make_model("linear", seed=1) if drop else every_zero()), []
        started = time.perf_counter()
        for i, (x, y) in enumerate(data):
            out.append(model.predict_proba_one(x))
            if i % 20 == 0:
                model.learn_one(x, y)
        rates[drop] = len(data) / (time.perf_counter() - started)
        probas[drop] = out
    diff = max(abs(a.get(c, 0.0) - b.get(c, 0.0)) for a, b in zip(probas[False], probas[True], strict=True)
               for c in set(a) | set(b))
    print(f"every zero: {rates[False]:,.0f} events/s; only the present: {rates[True]:,.0f} events/s; "
          f"ratio {rates[True] / rates[False]:.1f}; largest probability difference {diff:.1e}")


if __name__ == "__main__":
    main()
