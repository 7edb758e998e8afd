"""How often do the policy study's intervals contain the truth? A resimulation check.

On the default synthetic cohort (after `dvc repro`), the held-out lines are kept (their
states, candidates, outcome models and estimated propensity), and the treatment and
outcomes are drawn again R times from the simulator's true choice and outcome
probabilities (`ground_truth.parquet`). Each replicate is evaluated exactly as the
`policy` stage does; the script prints, per policy and outcome, the share of replicates
whose marginal 95 % DR interval and simultaneous band contain the true value, and the
share of replicates whose simultaneous bands contain every true value at once (the
family-wise coverage the study's summary relies on).

The propensity and outcome models are not refitted per replicate (they were fitted on
the other lines and patients), so this checks the estimators and their bootstrap
intervals, not the nuisance models' own variability.

Usage: python bench/bench_policy_coverage.py [--replicates R] [--bootstrap B]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "policy_coverage.json"


def _replicate(problem, rng):
    """The problem with the given regimen and the outcomes drawn again from the truth."""
    from precision_onco.policy.evaluate import PolicyProblem

    cand, lines = problem.candidates, problem.lines
    line = cand["line"].to_numpy()
    cum = cand.groupby("line")["p_choice"].cumsum().to_numpy()
    u = rng.random(len(lines))
    first = pd.DataFrame({"line": line, "hit": cum >= u[line] - 1e-12, "row": np.arange(len(cand))})
    chosen = first[first["hit"]].groupby("line")["row"].first()
    last = pd.Series(np.arange(len(cand))).groupby(line).last()  # rounding: the last one
    rows = chosen.reindex(np.arange(len(lines))).fillna(last).to_numpy(dtype=int)
    new = lines.copy()
    new["given_row"] = rows
    new["given"] = cand["regimen_id"].to_numpy()[rows]
    for ep in problem.endpoints:
        y = (rng.random(len(lines)) < cand[f"truth_{ep}"].to_numpy()[rows]).astype(float)
        y[np.isnan(lines[f"y_{ep}"].to_numpy(dtype=float))] = np.nan  # same missing labels
        new[f"y_{ep}"] = y
    return PolicyProblem(cand, new, problem.endpoints, problem.has_truth)


def main() -> None:
    from precision_onco.config import load_params, outputs
    from precision_onco.models.fit import load_models
    from precision_onco.policy.evaluate import evaluate_policies
    from precision_onco.policy.study import estimator_settings, prepare_study
    from precision_onco.recommend.service import load_presets

    args = sys.argv
    n_rep = int(args[args.index("--replicates") + 1]) if "--replicates" in args else 100
    n_boot = int(args[args.index("--bootstrap") + 1]) if "--bootstrap" in args else 500
    cfg = load_params(ROOT / "params.yaml")
    files = outputs(cfg, root=ROOT)
    truth_file = files.ground_truth
    if not truth_file.is_file() or not files.predictions.is_file():
        sys.exit("needs the synthetic cohort's outputs: run `dvc repro` first")
    models = load_models(files.models)
    tables = {t: pd.read_parquet(getattr(files, t)) for t in ("features", "patients", "lines")}
    t0 = time.perf_counter()
    inputs = prepare_study(
        cfg,
        tables["features"],
        tables["patients"],
        tables["lines"],
        pd.read_parquet(files.predictions),
        models,
        load_presets(ROOT / "conf" / "recommend", cfg.recommend),
        truth=pd.read_parquet(truth_file),
    )
    kw = {**estimator_settings(cfg), "n_boot": n_boot}
    rng = np.random.default_rng(2026)
    hits: dict[str, list[tuple[bool, bool]]] = {}
    family: list[bool] = []
    for r in range(n_rep):
        kw["seed"] = r
        res = evaluate_policies(
            _replicate(inputs.problem, rng), inputs.policies, inputs.outcomes, **kw
        )
        every = True
        for name, p in res["policies"].items():
            for outcome in inputs.outcomes:
                b = p[outcome]
                hits.setdefault(f"{name}.{outcome}", []).append(
                    (b["dr_covers"], b["dr_sim_covers"])
                )
                every &= b["dr_sim_covers"]
        family.append(every)
    secs = time.perf_counter() - t0
    table = {
        k: {
            "marginal": round(float(np.mean([m for m, _ in v])), 3),
            "simultaneous": round(float(np.mean([s for _, s in v])), 3),
        }
        for k, v in hits.items()
    }
    result = {
        "replicates": n_rep,
        "bootstrap": n_boot,
        "lines": len(inputs.problem.lines),
        "level": cfg.policy.level,
        "coverage": table,
        "marginal_mean": round(float(np.mean([v["marginal"] for v in table.values()])), 3),
        "family_wise_simultaneous": round(float(np.mean(family)), 3),
        "seconds": round(secs, 1),
    }
    print(
        f"{n_rep} replicates of {result['lines']} held-out lines, {n_boot} bootstrap "
        f"resamples each ({secs:.0f} s)"
    )
    print(f"{'policy.outcome':40s} {'marginal 95%':>13s} {'simultaneous':>13s}")
    for k, v in table.items():
        print(f"{k:40s} {v['marginal']:13.3f} {v['simultaneous']:13.3f}")
    print(
        f"mean marginal coverage {result['marginal_mean']:.3f}; every true value inside the "
        f"simultaneous bands in {result['family_wise_simultaneous']:.1%} of replicates"
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
