"""The models: what ``linear`` feeds its regression, and that it learns what the plain river pipeline learns."""

from __future__ import annotations

import numbers
import random
from typing import Any

from river import compose, linear_model, multiclass, optim, preprocessing

from streamal.core.models import make_model, prepare


def _events(n: int, seed: int = 3) -> list[tuple[dict[str, Any], str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ip = f"10.0.{rng.randrange(64)}.{rng.randrange(256)}"  # thousands of categories, as addresses are
        x: dict[str, Any] = {"bytes": rng.lognormvariate(7, 1), "proto": rng.choice(["tcp", "udp"]), "src_ip": ip}
        out.append((x, "bad" if (x["bytes"] > 3000) != ip.endswith("7") else "ok"))
    return out


def test_linear_encodes_only_the_categories_present_not_a_zero_for_every_one_seen() -> None:
    model = make_model("linear", seed=1)
    for x, y in _events(500):
        model.learn_one(prepare(x), y)
    encoded = model["TransformerUnion"].transform_one({"bytes": 100.0, "proto": "tcp", "src_ip": "10.0.1.1"})
    assert sorted(encoded) == ["bytes", "proto_tcp", "src_ip_10.0.1.1"]  # hundreds of addresses seen, none carried


def test_linear_predicts_what_the_pipeline_with_every_zero_predicts() -> None:
    reference = compose.Pipeline(
        compose.TransformerUnion(compose.SelectType(numbers.Number) | preprocessing.StandardScaler(),
                                 compose.SelectType(str) | preprocessing.OneHotEncoder()),
        multiclass.OneVsRestClassifier(linear_model.LogisticRegression(optimizer=optim.SGD(0.05))),
    )
    model = make_model("linear", seed=1)
    for i, (x, y) in enumerate(_events(2000)):
        ours, theirs = model.predict_proba_one(prepare(x)), reference.predict_proba_one(prepare(x))
        assert ours.keys() == theirs.keys()
        assert all(abs(ours[c] - theirs[c]) < 1e-9 for c in ours)
        if i % 10 == 0:
            model.learn_one(prepare(x), y)
            reference.learn_one(prepare(x), y)
