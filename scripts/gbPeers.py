#!/usr/bin/python3
"""gb's peers on the bench's rows: XGBoost 1.7 (the reference's gb) and LightGBM (the original
project's gb), each trained as the bench trains gb: 300 rounds, 31 leaves, learning rate 0.05,
255 bins, two threads, first 80 % of rows, AUC on the last 20 %. Rows come from
scripts/dumpBenchRows.mjs; the timed part is the data set construction and the training, as
the reference times it. Variants run alternately, `reps` times each; medians are printed.

  node scripts/dumpBenchRows.mjs --start 2023-01 --out /tmp/rows2023
  PYTHONPATH=/path/to/lightgbm /usr/bin/python3 scripts/gbPeers.py /tmp/rows2023 [reps]

LightGBM is not a Debian package: install its wheel (and narwhals) with
`pip install --no-deps --target DIR lightgbm narwhals` and put DIR on PYTHONPATH.
"""
import json
import sys
import time

import lightgbm as lgb
import numpy as np
import xgboost as xgb
from sklearn.metrics import roc_auc_score


def main():
    d = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    meta = json.load(open(f"{d}/meta.json"))
    X = np.fromfile(f"{d}/X.f32", dtype=np.float32).reshape(meta["n"], meta["d"]).astype(np.float64)
    s = meta["split"]

    def run_xgb(y, _seed):
        p = {"objective": "binary:logistic", "tree_method": "hist", "eta": 0.05,
             "grow_policy": "lossguide", "max_leaves": 31, "max_depth": 0, "nthread": 2,
             "max_bin": 255, "verbosity": 0}
        t = time.perf_counter()
        m = xgb.train(p, xgb.DMatrix(X[:s], label=y[:s]), num_boost_round=300)
        return time.perf_counter() - t, m.predict(xgb.DMatrix(X[s:]))

    def lgb_runner(**extra):
        def run(y, seed):
            # like-for-like with XGBoost's defaults, as the bench sets gb (src/bench/models.ts)
            p = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 31, "max_bin": 255,
                 "num_threads": 2, "lambda_l2": 1.0, "min_sum_hessian_in_leaf": 1.0,
                 "min_data_in_leaf": 1, "boost_from_average": False, "verbosity": -1,
                 "bin_construct_sample_cnt": s, "seed": seed, **extra}
            t = time.perf_counter()
            m = lgb.train(p, lgb.Dataset(X[:s], label=y[:s]), num_boost_round=300)
            return time.perf_counter() - t, m.predict(X[s:])
        return run

    variants = {
        "xgboost": run_xgb,
        "lightgbm": lgb_runner(),
        "lightgbm_col_wise": lgb_runner(force_col_wise=True),
        "lightgbm_quantized": lgb_runner(use_quantized_grad=True),
    }
    print(f"xgboost {xgb.__version__}, lightgbm {lgb.__version__}, {s} training rows", flush=True)
    for lab in meta["labels"]:
        y = np.fromfile(f"{d}/{lab}.f64")
        res = {k: [] for k in variants}
        for r in range(reps):
            for name, run in variants.items():
                el, p = run(y, r)
                res[name].append((el, roc_auc_score(y[s:], p)))
        for name, v in res.items():
            t = sorted(x[0] for x in v)
            aucs = [round(x[1], 4) for x in v]
            print(json.dumps({"label": lab, "impl": name, "median_s": round(t[len(t) // 2], 3),
                              "range_s": [round(t[0], 3), round(t[-1], 3)], "auc": aucs,
                              "auc_mean": round(sum(aucs) / len(aucs), 4)}), flush=True)


if __name__ == "__main__":
    main()
