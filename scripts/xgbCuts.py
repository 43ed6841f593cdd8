#!/usr/bin/python3
"""XGBoost 1.7's hist cuts and AUC on rows written by scripts/dumpBenchRows.mjs.

XGBoost 1.7's Python API does not expose its cuts, so they are read back from split conditions
("x < cut" goes left): for each feature alone, trees of depth 8 grown on random gradients split
at nearly every cut (the split conditions of the real models are added, so every cut they use
is present). Writes cuts.json (feature index -> sorted cut values) and prints the AUC of the
reference's gb on the last 20 % of rows.

  /usr/bin/python3 scripts/xgbCuts.py /tmp/rows2022 [rounds]
"""
import json
import sys

import numpy as np
import xgboost as xgb
from sklearn.metrics import roc_auc_score


def split_values(booster, tmp):
    booster.save_model(tmp)
    out = {}
    for t in json.load(open(tmp))["learner"]["gradient_booster"]["model"]["trees"]:
        for left, f, c in zip(t["left_children"], t["split_indices"], t["split_conditions"]):
            if left != -1:
                out.setdefault(f, set()).add(float(np.float32(c)))
    return out


def main():
    d = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    meta = json.load(open(f"{d}/meta.json"))
    n, nf, split = meta["n"], meta["d"], meta["split"]
    X = np.fromfile(f"{d}/X.f32", dtype=np.float32).reshape(n, nf)
    tmp = f"{d}/model.json"
    cuts = {f: set() for f in range(nf)}
    auc = {}
    for lab in meta["labels"]:
        y = np.fromfile(f"{d}/{lab}.f64")
        params = {"objective": "binary:logistic", "tree_method": "hist", "eta": 0.05,
                  "grow_policy": "lossguide", "max_leaves": 31, "max_depth": 0, "nthread": 2,
                  "max_bin": 255, "verbosity": 0}
        gb = xgb.train(params, xgb.DMatrix(X[:split], label=y[:split]), num_boost_round=300)
        auc[lab] = round(float(roc_auc_score(y[split:], gb.predict(xgb.DMatrix(X[split:])))), 4)
        for f, s in split_values(gb, tmp).items():
            cuts[f] |= s
    rng = np.random.default_rng(0)

    def random_gradients(_, dtrain):
        return rng.standard_normal(split).astype(np.float32), np.ones(split, np.float32)

    for f in range(nf):
        dm = xgb.DMatrix(X[:split, f:f + 1])
        params = {"tree_method": "hist", "max_bin": 255, "max_depth": 8, "min_child_weight": 0,
                  "lambda": 0, "eta": 1, "nthread": 2, "verbosity": 0, "base_score": 0}
        for _ in range(rounds):
            gb = xgb.train(params, dm, num_boost_round=5, obj=random_gradients)
            cuts[f] |= split_values(gb, tmp).get(0, set())
    json.dump({str(f): sorted(c) for f, c in cuts.items()}, open(f"{d}/cuts.json", "w"))
    print(json.dumps({"auc": auc, "cuts": sum(len(c) for c in cuts.values())}))


if __name__ == "__main__":
    main()
