"""Lab 4's RealNVP (invlab) against zuko's and normflows' RealNVP: equal time, equal parameters.

    INVLAB_OFFLINE=1 python benchmarks/peers.py                        # 4 tasks, seeds 0 1 2, recommended recipe
    INVLAB_OFFLINE=1 python benchmarks/peers.py --recipe both          # + lab 4's recipe of today (before/after)
    INVLAB_OFFLINE=1 python benchmarks/peers.py --tasks moons --recipe lab --only params

Run time (one thread, this shared 2-core machine under heavy load): about 30–40 min for the
4 tasks × 3 seeds of one recipe (7 models × 3 seeds per task, digits and eight Gaussians the
longest); ``--tasks moons`` about 5 min. On a quiet machine about half that.

Needs the benchmark-only packages of benchmarks/requirements.txt (zuko, normflows). Not part
of the test suite; ``INVLAB_BENCH_PEERS=1 make bench`` runs it after the other figures.

Every model is trained by the same loop on the same data (benchmarks/flowbench.py: lab 4's
data and loop — Adam, one cosine decay, lab 4's batch size and learning rate, the validation
NLL every ``eval_every`` steps and the best step restored), each seed fixing the
initialisation and the batches. The peers:

* zuko ``RealNVP(D, transforms=T, hidden_features=(h, h))``: T single half-step affine
  couplings, alternating masks, soft-clamped log-scale a/(1 + |a|/6.9), default init;
* normflows, the README's RealNVP: ``MaskedAffineFlow`` with separate zero-initialised
  ``s`` and ``t`` MLPs of width h on the masked input, alternating masks, ``ActNorm`` after
  each.

invlab's ``AffineCoupling`` does two half-steps per block, so one invlab block is worth two
zuko transforms. Sizes:

* *standard*: zuko with T = invlab's blocks (the issue's ``RealNVP(2, transforms=4)`` on
  moons) and normflows with 2 × blocks couplings (the issue's 8 on moons): each library as
  one would write it;
* *matched*: the size whose parameter count is nearest invlab's (zuko T = 2 × blocks: within
  0.1 %; normflows: the nearest number of couplings).

**Equal parameters**: invlab and the matched peers, all for invlab's number of steps.
**Equal time**: every model gets the time invlab's recipe takes: its steps are invlab's
steps × (invlab's ms per step / its ms per step), the step times measured here, in
interleaved rounds (``flowbench.calibrate``) right before the runs, as CPU time of one
thread (on a shared machine the wall clock swings several-fold with other processes' load;
CPU time much less). Times stay indicative; NLL depends only on the seed.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import flowbench as fb  # noqa: E402
from flow_recipes import base_config  # noqa: E402

HIDDEN = {"digits": 128}


def nf_params(dim, couplings, hidden):
    return fb.normflows_model(dim, couplings, hidden, seed=0).n_params()


def peer_sizes(task_name, recipe):
    t = fb.task(task_name)
    h = recipe.hidden
    target = fb.invlab_model(t.dim, recipe, seed=0).n_params()
    per_nf = nf_params(t.dim, 1, h)
    nf_matched = max(1, round(target / per_nf))
    return {
        "zuko standard": lambda s: fb.zuko_model(t.dim, recipe.blocks, h, recipe.depth, seed=s, logit=t.unit != "nats"),
        "zuko matched": lambda s: fb.zuko_model(t.dim, 2 * recipe.blocks, h, recipe.depth, seed=s, logit=t.unit != "nats"),
        "normflows standard": lambda s: fb.normflows_model(t.dim, 2 * recipe.blocks, h, recipe.depth, seed=s,
                                                           logit=t.unit != "nats"),
        "normflows matched": lambda s: fb.normflows_model(t.dim, nf_matched, h, recipe.depth, seed=s,
                                                          logit=t.unit != "nats"),
    }


def run(builder, t, cfg, seeds, steps=None):
    out = []
    for s in seeds:
        m = builder(s)
        torch.manual_seed(s)
        c = dict(cfg)
        if steps is not None:
            c["steps"] = steps
        out.append(fb.train(m, t, seed=s, **c))
    return out


def compare(task_name, recipe_name, seeds, only):
    t = fb.task(task_name)
    recipe, cfg = base_config(task_name, recipe_name)
    inv = lambda s: fb.invlab_model(t.dim, recipe, seed=s, logit=t.unit != "nats")
    peers = peer_sizes(task_name, recipe)
    unit = "bits/dim" if t.unit != "nats" else "test NLL (nats)"
    floor = "" if t.floor != t.floor else f", floor {t.floor:.3f}"
    print(f"\n### {task_name}, invlab recipe '{recipe_name}': {recipe.label()}; steps {cfg['steps']}, batch "
          f"{cfg['batch']}, lr {cfg['lr']:g}, cosine; {unit}{floor}; seeds {seeds}", flush=True)
    inv_res = run(inv, t, cfg, seeds)
    results = {"invlab": inv_res}
    if "params" in only:
        print(f"equal parameters ({cfg['steps']} steps each)")
        print(fb.HEADER)
        print(fb.summary_line(inv_res[0].label, inv_res), flush=True)
        for name in ("zuko matched", "normflows matched"):
            res = run(peers[name], t, cfg, seeds)
            results[name + " (equal params)"] = res
            print(fb.summary_line(res[0].label, res), flush=True)
    if "time" in only:
        builders = {"invlab": inv, **peers}
        ms = fb.calibrate({k: (lambda b=b: b(0)) for k, b in builders.items()}, t, cfg["batch"])
        budget_s = cfg["steps"] * ms["invlab"] / 1e3
        print(f"equal time: {budget_s:.1f} CPU s of training each (invlab {cfg['steps']} steps × "
              f"{ms['invlab']:.1f} ms); calibrated CPU ms/step: " + ", ".join(f"{k} {v:.1f}" for k, v in ms.items()))
        print(fb.HEADER)
        print(fb.summary_line(inv_res[0].label, inv_res), flush=True)
        for name, b in peers.items():
            steps = max(1, round(cfg["steps"] * ms["invlab"] / ms[name]))
            res = run(b, t, cfg, seeds, steps=steps)
            results[name + " (equal time)"] = res
            print(fb.summary_line(res[0].label, res), flush=True)
        best = min((k for k in results if k.endswith("(equal time)")),
                   key=lambda k: statistics.fmean(r.score for r in results[k]))
        m_inv = statistics.fmean(r.score for r in inv_res)
        m_best = statistics.fmean(r.score for r in results[best])
        print(f"→ equal time: invlab {m_inv:.3f} vs best peer ({best.replace(' (equal time)', '')}) {m_best:.3f}: "
              f"invlab {'AHEAD' if m_inv < m_best else 'BEHIND'} by {abs(m_best - m_inv):.3f}")
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", nargs="+", default=fb.ALL_TASKS, help="moons, 'eight Gaussians', checkerboard, digits")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--recipe", choices=["lab", "recommended", "both"], default="recommended",
                    help="invlab's recipe: lab 4's of today, the recommended one (flow_recipes.RECOMMENDED), or both")
    ap.add_argument("--only", nargs="+", choices=["time", "params"], default=["params", "time"])
    args = ap.parse_args(argv)
    os.environ.setdefault("INVLAB_OFFLINE", "1")
    recipes = ["lab", "recommended"] if args.recipe == "both" else [args.recipe]
    import normflows, zuko  # noqa: F401  (fail early when the benchmark extras are missing)
    print(f"# peers: torch {torch.__version__}, zuko {zuko.__version__}, normflows {normflows.__version__}; "
          "one CPU thread; times are CPU time on this (shared) machine: indicative")
    for r in recipes:
        for name in args.tasks:
            compare(name, r, args.seeds, args.only)


if __name__ == "__main__":
    main()
