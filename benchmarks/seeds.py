"""Each lab's headline numbers over several seeds: the seed the lab prints, mean, min, max.

    INVLAB_OFFLINE=1 python benchmarks/seeds.py                       # all labs, seeds 0 1 2
    INVLAB_OFFLINE=1 python benchmarks/seeds.py --labs 04 --seeds 0 1 2 3 4 --json out.json
    INVLAB_OFFLINE=1 python benchmarks/seeds.py --labs 04 --edit "4, 400)" "4, 600)"   # a recipe change, measured first

The labs are not re-coded here: each solution notebook is executed as it is (fresh kernel,
offline, nbclient, like benchmarks/notebooks.py), with its randomness shifted by SEED:

* a first cell ``SEED = k`` is put in front of the notebook, and it wraps the library
  functions whose *default* seed decides a model's initialisation or its batches
  (``invlab.train.fit``, ``invlab.flows.fit``, ``invlab.flows.realnvp``): a call that does
  not pass ``seed=`` gets ``default + SEED``;
* in every code cell that is not graded (its first line is not ``# graded``):
  ``invlab.setup(N)`` → ``invlab.setup(N + SEED)``, ``torch.manual_seed(N)`` →
  ``torch.manual_seed(N + SEED)``, and in the signature of a function the lab defines,
  a default ``seed=N`` → ``seed=N + SEED`` (e.g. lab 1's ``train(..., seed=0)``);
* left fixed on purpose: the data (explicit ``seed=`` arguments at call sites such as
  ``data.two_moons(n, seed=s)`` and ``B.train_test_split(..., seed=0)``, and every
  ``torch.Generator().manual_seed(N)``, which the labs use for data, splits and
  evaluation noise), and the graded cells (they keep checking what they check, now on
  the model of seed k).

SEED = 0 changes nothing, so seed 0 is the run the lab prints.

The numbers are read from the kernel after the last cell: a notebook that defines a dict
``RESULTS = {"name": float, ...}`` (the proposed marker) is read from it; otherwise the
per-lab expressions in ``LABS`` below name the variables (today's labs print these
numbers, and ``LABS`` says which printed line each one is). A graded cell that fails on some
seed is reported too, and so is the kernel's CPU time for the whole notebook (the wall clock of
a shared machine swings with other processes' load; CPU time much less).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
MARK = "SEEDS-BENCH-JSON "


def at_least(t):
    return (f"≥ {t:g}", lambda v: v >= t)


def at_most(t):
    return (f"≤ {t:g}", lambda v: v <= t)


def is_true():
    return ("true", lambda v: v >= 0.5)


# lab: (notebook, [(name, expression in the kernel, format, target or None, where it is printed)])
LABS = {
    "01": ("01_irevnet.ipynb", [
        ("i-RevNet test accuracy", "acc_irevnet", ".1%", at_least(0.75),
         "cell `acc_baseline = accuracy(...)`: 'test accuracy — baseline: …   i-RevNet: …' (graded ≥ 75 %, text 80 ± 5 %)"),
        ("baseline test accuracy", "acc_baseline", ".1%", None, "same line, 'baseline: …'"),
    ]),
    "02": ("02_bijections.ipynb", [
        ("INN held-out exact match, forward", "scores['forward']", ".2%", at_least(0.99),
         "cell `scores = honest_scores(...)`: 'held-out exact match (raw, …): forward …' (graded ≥ 99 %)"),
        ("INN held-out exact match, inverse", "scores['inverse']", ".2%", at_least(0.90),
         "same line, 'inverse …' (graded ≥ 90 %)"),
        ("MLP y → x held-out exact match", "exact_match(x_hat, Xte, lehmer.dim)", ".1%", None,
         "cell `y_hat = mlp_fwd(...)`: 'held-out exact match, MLP y → x: …'"),
    ]),
    "03": ("03_inverse_problems.ipynb", [
        ("INN mean MMD²", "mean_inn", ".4f", at_most(0.2),
         "cell `mmd_inn = ...`: row 'mean' of the MMD² table, column INN (graded ≤ 0.2)"),
        ("ad-hoc mean MMD²", "mean_adhoc", ".4f", None, "same row, column 'ad hoc'"),
        ("ad hoc / INN (MMD² ratio)", "mean_adhoc / mean_inn", ".1f", at_least(2.0),
         "same cell, 'the INN's posterior is …× closer' (graded: INN < 0.5 × ad hoc)"),
        ("INN beats ad hoc at every y", "float(all(mmd_inn[y] < mmd_adhoc[y] for y in YS))", ".0f", is_true(),
         "the per-y rows of that table (hidden test of the graded cell)"),
    ]),
    "04": ("04_flows.ipynb", [
        ("moons test NLL", "{r[0]: r[1] for r in toy_rows}['moons']", ".3f", at_most(1.10),
         "cell `TOYS = {...}`: table row 'moons', column 'test NLL' (target ≤ 1.10, floor 1.007)"),
        ("eight Gaussians test NLL", "{r[0]: r[1] for r in toy_rows}['eight Gaussians']", ".3f", at_most(3.00),
         "same table, row 'eight Gaussians' (target ≤ 3.00, floor 2.832)"),
        ("checkerboard test NLL", "{r[0]: r[1] for r in toy_rows}['checkerboard']", ".3f", at_most(3.70),
         "same table, row 'checkerboard' (target ≤ 3.70, floor 3.466)"),
        ("digits test bits/dim", "test_bpd", ".3f", at_most(2.30),
         "cell `DIGIT_STEPS = ...`: 'test: flow … bits/dim' (target ≤ 2.30)"),
        ("toy training seconds (3 flows)", "sum(r[6] for r in toy_rows)", ".1f", None,
         "the 'train s' column of the toy table, summed (wall clock)"),
        ("toy training CPU seconds (3 flows)", "sum(r[7] for r in toy_rows)", ".1f", None,
         "the '(CPU s)' column of the toy table, summed"),
        ("digits training CPU seconds", "hist['cpu_seconds']", ".1f", None,
         "cell `DIGIT_STEPS = ...`: 'training: … s (… s CPU)'"),
    ]),
    "05": ("05_iresnet.ipynb", [
        ("i-ResNet test accuracy", "[r[1] for r in rows if r[0] == 'i-ResNet (this lab)'][0]", ".1%", None,
         "cell `class IResNetClassifier`: table row 'i-ResNet (this lab)', 'test accuracy'"),
        ("i-RevNet test accuracy (lab 5)", "[r[1] for r in rows if r[0] == 'i-RevNet (lab 1)'][0]", ".1%",
         at_least(0.75),
         "same table, row 'i-RevNet (lab 1)' (lab 1's graded ≥ 75 %)"),
        ("i-ResNet flow moons test NLL", "runs['i-ResNet flow, 400 steps, lr 0.02'][1]['nll']", ".3f", None,
         "cell `X_tr = invlab.data.two_moons(2000, …)`: 'test NLL (nats) …: i-ResNet flow, 400 steps, lr 0.02'"),
        ("RealNVP moons test NLL (lab 5 settings)", "runs['RealNVP, 400 steps, lr 0.02'][1]['nll']", ".3f", None,
         "same table, 'RealNVP, 400 steps, lr 0.02'"),
        ("largest relative inverse error", "worst_err", ".1e", at_most(1e-5),
         "cell `CS = [...]`: 'largest relative inverse error: … (target ≤ 1e-5)'"),
    ]),
    "06": ("06_pseudo_invertible.ipynb", [
        ("pair μ=λ=1: fit MSE", "m1['fit']", ".1e", at_most(1e-3),
         "cell `m1 = measure(f1, g1)`: 'pair, mu = lam = 1  fit MSE …' (graded ≤ 1e-3)"),
        ("pair μ=λ=1: x cycle RMS in range", "m1['x_in']", ".1e", at_most(0.02), "same line, 'x: in' (graded ≤ 0.02)"),
        ("pair μ=λ=1: y cycle RMS in range", "m1['y_in']", ".1e", at_most(0.02), "same line, 'y: in' (graded ≤ 0.02)"),
        ("pair μ=λ=1: x out / x in", "m1['x_out'] / m1['x_in']", ".0f", at_least(3.0),
         "next line, 'cycle error is …× (x side)' (graded > 3)"),
        ("unlabelled Ω: x out-of-range cut", "m1['x_out'] / m_u['x_out']", ".0f", at_least(5.0),
         "cell `x_unlab = ...`: 'out-of-range cycle RMS: x … (…× smaller)' (checked ≥ 5×)"),
        ("unlabelled Ω: y out-of-range cut", "m1['y_out'] / m_u['y_out']", ".0f", at_least(5.0),
         "same line, 'y … (…× smaller)' (checked ≥ 5×)"),
        ("unlabelled Ω: fit MSE", "m_u['fit']", ".1e", at_most(1e-3),
         "cell `x_unlab = ...`: '+ Ω on 200 + 200 unlabelled fit MSE …' (text: still below 1e-3)"),
        ("INN 1-D read-out: fit MSE", "m_inn['fit']", ".1e", None, "cell `def tanh_subnet`: 'INN, 1-D read-out fit MSE …'"),
    ]),
    "07": ("07_reversible.ipynb", [
        ("step time package (F once) / plain", "times['package, F once'] / times['plain']", ".2f", at_most(2.0),
         "cell `nets = {}`: 'package, F once … (… × plain)' (text: one more evaluation of F per block)"),
        ("step time your block_backward / plain", "times['your block_backward'] / times['plain']", ".2f", None,
         "same table, 'your block_backward' (F twice more per block)"),
        ("step time package generic / plain", "times['package, generic'] / times['plain']", ".2f", None,
         "same table, 'package, generic'"),
        ("memory plain / reversible, depth 32", "plain_mib[5] / rev_mib[5]", ".1f", None,
         "cell `depths = [1, 2, 4, 8, 16, 32]`: 'depth 32: plain … MiB   reversible … MiB'"),
        ("float32 round trip, depth 1", "rt32[0]", ".1e", None,
         "cell `blocks32 = ...`: 'depth  1: round trip float32 …'"),
        ("float32 round trip, depth 32", "rt32[5]", ".1e", at_most(1e-4),
         "same table, 'depth 32: round trip float32 …' (text: 1e-6 to 1e-5 over seeds)"),
        ("float32 gradient error, depth 1", "grad32[0]", ".1e", None, "same table, 'depth  1: … gradient float32 …'"),
        ("float32 gradient error, depth 32", "grad32[5]", ".1e", None,
         "same table, 'depth 32: … gradient float32 …' (text: 1e-6 to 1e-3 over seeds, seeds_lab07_5seeds.txt)"),
        ("float64 round trip, max up to depth 32", "max(rt64[:6])", ".0e", at_most(1e-10),
         "same line, 'float64 stays ≤ …' (the float64 test: 1e-10)"),
    ]),
}

SEED_HOOK = '''\
SEED = {seed}   # benchmarks/seeds.py: this run's seed shift (0 = the lab as it is)
import functools as _ft, inspect as _insp
import invlab as _il, invlab.train as _il_train, invlab.flows as _il_flows


def _shift_default_seed(mod, name):
    fn = getattr(mod, name)
    sig = _insp.signature(fn)
    default = sig.parameters["seed"].default

    @_ft.wraps(fn)
    def wrapper(*args, **kwargs):
        if "seed" not in sig.bind_partial(*args, **kwargs).arguments:
            kwargs["seed"] = default + SEED
        return fn(*args, **kwargs)
    setattr(mod, name, wrapper)


if SEED:
    for _mod, _name in [(_il_train, "fit"), (_il_flows, "fit"), (_il_flows, "realnvp")]:
        _shift_default_seed(_mod, _name)
'''

_SETUP = re.compile(r"\binvlab\.setup\((\d+)\)")
_MANUAL = re.compile(r"(?<![\w.)])torch\.manual_seed\((\d+)\)")
_DEF = re.compile(r"^([ \t]*def \w+\()(.*?)(\)\s*(?:->[^:]*)?:)", re.M | re.S)
_DEF_SEED = re.compile(r"\bseed=(\d+)\b")


def is_graded(cell) -> bool:
    return cell.source.lstrip().startswith("# graded")


def inject(nb, seed: int) -> dict:
    """Shift the notebook's seeds by SEED in place (see the module docstring); returns counts."""
    counts = {"invlab.setup": 0, "torch.manual_seed": 0, "def seed=": 0}

    def sub_def(m):
        args, n = _DEF_SEED.subn(lambda a: f"seed={a.group(1)} + SEED", m.group(2))
        counts["def seed="] += n
        return m.group(1) + args + m.group(3)

    for cell in nb.cells:
        if cell.cell_type != "code" or is_graded(cell):
            continue
        lines = []
        for line in cell.source.split("\n"):
            if not line.lstrip().startswith("#"):           # comment lines stay as they are
                line, n = _SETUP.subn(lambda m: f"invlab.setup({m.group(1)} + SEED)", line)
                counts["invlab.setup"] += n
                line, n = _MANUAL.subn(lambda m: f"torch.manual_seed({m.group(1)} + SEED)", line)
                counts["torch.manual_seed"] += n
            lines.append(line)
        cell.source = _DEF.sub(sub_def, "\n".join(lines))
    if counts["invlab.setup"] != 1:
        raise RuntimeError(f"expected one invlab.setup(N) call in the notebook, found {counts['invlab.setup']}")
    nb.cells.insert(0, nbformat.v4.new_code_cell(SEED_HOOK.format(seed=seed)))
    return counts


def reader_cell(metrics) -> str:
    exprs = ",\n    ".join(f"{name!r}: {expr!r}" for name, expr, *_ in metrics)
    return f'''\
import json as _json
_exprs = {{
    {exprs}
}}
_out = {{}}
if isinstance(globals().get("RESULTS"), dict):
    for _k, _v in RESULTS.items():
        try:
            _out[str(_k)] = float(_v)
        except (TypeError, ValueError):
            print("RESULTS[", repr(_k), "] is not a number:", repr(_v))
for _k, _e in _exprs.items():
    if _k not in _out:
        try:
            _out[_k] = float(eval(_e))
        except Exception as _err:
            _out[_k] = None
            print("could not read", _k, "=", _e, ":", type(_err).__name__, _err)
import time as _time
_out["kernel CPU seconds (whole notebook)"] = _time.process_time()   # load-robust cost of the run
print({MARK!r} + _json.dumps(_out))
'''


def apply_edits(nb, edits) -> None:
    """Replace ``old`` by ``new`` in the code cells, for each ``(old, new)``: a recipe change
    measured before it is made in solutions/ (each ``old`` must occur)."""
    for old, new in edits:
        hits = 0
        for cell in nb.cells:
            if cell.cell_type == "code" and old in cell.source:
                hits += cell.source.count(old)
                cell.source = cell.source.replace(old, new)
        if not hits:
            raise RuntimeError(f"--edit: {old!r} occurs in no code cell")


def run_lab(lab: str, seed: int, timeout: int = 600, edits=()) -> dict:
    """Execute one lab with one seed; returns {"values", "seconds", "failed_cells", "hooks"}."""
    path, metrics = LABS[lab]
    nb = nbformat.read(ROOT / "solutions" / path, as_version=4)
    apply_edits(nb, edits)
    hooks = inject(nb, seed)
    nb.cells.append(nbformat.v4.new_code_cell(reader_cell(metrics)))
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    seconds = time.perf_counter() - t0
    failed = []
    for cell in nb.cells[1:-1]:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                failed.append(f"{cell.source.splitlines()[0][:70]} → {o['ename']}: {o['evalue'].splitlines()[0][:160]}"
                              if o.get("evalue") else f"{cell.source.splitlines()[0][:70]} → {o['ename']}")
    last = nb.cells[-1]
    text = "".join(o.get("text", "") for o in last.get("outputs", []) if o.get("output_type") == "stream")
    values = {}
    for line in text.splitlines():
        if line.startswith(MARK):
            values = json.loads(line[len(MARK):])
    errs = [o for o in last.get("outputs", []) if o.get("output_type") == "error"]
    if not values:
        raise RuntimeError(f"lab {lab}, seed {seed}: could not read the numbers: {text} {errs}")
    return {"values": values, "seconds": seconds, "failed_cells": failed, "hooks": hooks}


def fmt(v, spec):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return format(v, spec)


def spread_text(vals, spec, n):
    """'1.09 ± 0.02 over 3 seeds' (± one sample standard deviation)."""
    m = statistics.fmean(vals)
    sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
    if spec.endswith("%"):
        return f"{100 * m:.1f} ± {100 * sd:.1f} % over {n} seeds"
    return f"{format(m, spec)} ± {format(sd, spec)} over {n} seeds"


def summarise(lab: str, runs: dict) -> list:
    """Rows (name, printed, mean, min, max, target, holds_mean, holds_all, spread) for one lab:
    the numbers ``LABS`` names, then any other key of the notebook's ``RESULTS`` dict."""
    _, metrics = LABS[lab]
    seeds = sorted(runs)
    known = {m[0] for m in metrics}
    extra = sorted({k for s in seeds for k in runs[s]["values"] if k not in known})
    metrics = list(metrics) + [(k, None, ".4g", None, "RESULTS") for k in extra]
    rows = []
    for name, _expr, spec, target, _where in metrics:
        vals = [runs[s]["values"].get(name) for s in seeds]
        ok = [v for v in vals if v is not None and not math.isnan(v)]
        printed = runs[0]["values"].get(name) if 0 in runs else None
        if not ok:
            rows.append((name, printed, None, None, None, target and target[0], None, None, "", spec))
            continue
        mean, lo, hi = statistics.fmean(ok), min(ok), max(ok)
        holds_mean = holds_all = None
        if target is not None:
            holds_mean = target[1](mean)
            holds_all = all(target[1](v) for v in ok) and len(ok) == len(vals)
        rows.append((name, printed, mean, lo, hi, target and target[0], holds_mean, holds_all,
                     spread_text(ok, spec, len(ok)), spec))
    return rows


def print_table(lab: str, runs: dict):
    path, _ = LABS[lab]
    seeds = sorted(runs)
    secs = [runs[s]["seconds"] for s in seeds]
    print(f"\n### lab {lab} ({path}), seeds {seeds}; notebook {min(secs):.0f}–{max(secs):.0f} s per run")
    print(f"{'headline (printed = seed 0)':44s} {'printed':>9s} {'mean':>9s} {'min':>9s} {'max':>9s}  {'target':>8s}  "
          f"{'mean ok':7s} {'all ok':6s}  spread")
    for name, printed, mean, lo, hi, target, hm, ha, spread, spec in summarise(lab, runs):
        yn = lambda b: "-" if b is None else ("yes" if b else "NO")
        print(f"{name:44s} {fmt(printed, spec):>9s} {fmt(mean, spec):>9s} {fmt(lo, spec):>9s} "
              f"{fmt(hi, spec):>9s}  {target or '':>8s}  {yn(hm):7s} {yn(ha):6s}  {spread}")
    for s in seeds:
        for f in runs[s]["failed_cells"]:
            print(f"  seed {s}: cell failed: {f}")
    hooks = runs[seeds[0]]["hooks"]
    print("  seed hooks in the notebook: " + ", ".join(f"{k} ×{v}" for k, v in hooks.items())
          + "; library defaults: invlab.train.fit, invlab.flows.fit, invlab.flows.realnvp", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labs", nargs="+", default=sorted(LABS), help="e.g. 04 or 01 04 07")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--json", help="write every run's numbers to this file")
    ap.add_argument("--edit", nargs=2, action="append", default=[], metavar=("OLD", "NEW"),
                    help="replace the text OLD by NEW in the notebook's code cells first (repeatable): "
                         "measure a recipe change over seeds before making it")
    args = ap.parse_args(argv)
    os.environ.setdefault("INVLAB_OFFLINE", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    labs = [lab.zfill(2) for lab in args.labs]
    unknown = [lab for lab in labs if lab not in LABS]
    if unknown:
        ap.error(f"unknown lab(s) {unknown}; known: {sorted(LABS)}")
    print(f"# seeds {args.seeds}; each run is the solution notebook end to end in a fresh kernel "
          "(times are wall-clock on a shared machine: indicative)", flush=True)
    for old, new in args.edit:
        print(f"# edited: {old!r} → {new!r}")
    everything = {}
    for lab in labs:
        runs = {}
        for seed in args.seeds:
            runs[seed] = run_lab(lab, seed, edits=[tuple(e) for e in args.edit])
            print(f"  lab {lab} seed {seed}: {runs[seed]['seconds']:.0f} s", file=sys.stderr, flush=True)
        print_table(lab, runs)
        sys.stdout.flush()
        everything[lab] = {str(s): r for s, r in runs.items()}
    if args.json:
        Path(args.json).write_text(json.dumps(everything, indent=1, ensure_ascii=False))
    return everything


if __name__ == "__main__":
    main()
