"""Wall time of the full disentanglement protocol (disentanglement_lib's default sizes).

Trains a 10-unit GuidedVAE on the embedded shapes for ``--epochs`` x ``--steps-per-epoch``
steps with ``keras_gvae.training.train`` (or loads ``--model PATH``; the timing does not
depend on how well the model is trained), then, on ``ShapesData()`` with ``seed=0`` and
each metric's default sizes:

1. times the full protocol as ``gvae evaluate`` runs it: one
   ``evaluate_disentanglement(data, representation_fn, metrics="all")`` call with the
   library's defaults (which may encode the whole factor grid once, ``cache_codes``);
2. times every metric of ``keras_gvae.evaluation.METRICS`` alone, one
   ``evaluate_disentanglement(..., metrics=[name])`` call each.

``representation_fn`` is the posterior mean of ``model.encode``, as ``gvae evaluate``
computes it: a ``tf.function`` in calls of up to 1024 images (``--encoder eager``: eager
calls of up to 256).

Where the time goes, measured without touching the library: the ground-truth data counts
and times its rendering, the representation function counts and times its calls,
``importance_matrix_gbt`` (DCI's trees) and ``precompute_codes`` (the code table) are
wrapped by timers, and the sklearn classifiers the metrics import are replaced, in this
process only, by subclasses that time ``fit`` (fits run by joblib in worker processes are
not seen by these, only by the ``importance_matrix_gbt`` timer). The rest is the metrics'
own numpy work. CPU seconds of this process are reported beside wall seconds because the
two cores are shared with other jobs (they exclude joblib workers).

Afterwards (unless ``--no-what-if``) it measures alternatives: encoder calls of several
sizes eager vs in a ``tf.function``, and DCI's per-factor fits with
``GradientBoostingClassifier`` vs ``HistGradientBoostingClassifier``, one at a time.

The issue's target is the full protocol in <= 3 minutes on 2 cores.

Usage:
    python benchmarks/evaluation_protocol.py                  # train 2 x 100 steps, then time
    python benchmarks/evaluation_protocol.py --model runs/x   # a .keras file or run directory

Writes benchmarks/results/evaluation_protocol.md and prints it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

from keras_gvae.io import write_text

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from keras_gvae.data.shapes import ShapesData  # noqa: E402

BUDGET_SECONDS = 180.0
# Module-level sklearn classes the metric modules call, by module.
CLASSIFIERS = {
    "keras_gvae.evaluation.dci": "GradientBoostingClassifier",
    "keras_gvae.evaluation.sap": "LinearSVC",
    "keras_gvae.evaluation.modularity_explicitness": "LogisticRegression",
    "keras_gvae.evaluation.beta_vae": "LogisticRegression",
}


class Counter:
    def __init__(self):
        self.calls, self.items, self.seconds = 0, 0, 0.0

    @contextlib.contextmanager
    def time(self, items: int = 0):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1
            self.items += items


class TimedShapes(ShapesData):
    """``ShapesData`` that counts and times its rendering."""

    def __init__(self):
        self.render = Counter()

    def sample_observations_from_factors(self, factors, random_state):
        with self.render.time(len(factors)):
            return super().sample_observations_from_factors(factors, random_state)


class Representation:
    """Posterior means of ``model.encode``, compiled in calls of up to 1024 images (as
    ``gvae evaluate``) or eager in calls of up to 256; counted and timed."""

    def __init__(self, model, compiled: bool = True, precision=None, batch_size=None):
        import tensorflow as tf

        self.model, self.compiled = model, compiled
        self.batch_size = batch_size or (1024 if compiled else 256)
        self._encode = tf.function(lambda b: model.encode(b)[0], reduce_retracing=True)
        # `gvae evaluate --encode-precision`: the model's own representation function.
        self._represent = None
        if precision is not None:
            self._represent = model.representation_function(
                batch_size=self.batch_size, precision=precision
            )
        self.encode = Counter()

    def __call__(self, x):
        x = np.asarray(x, np.float32)
        with self.encode.time(len(x)):
            if self._represent is not None:
                return np.asarray(self._represent(x))
            if self.compiled:
                return np.concatenate(
                    [
                        self._encode(x[i : i + self.batch_size]).numpy()
                        for i in range(0, len(x), self.batch_size)
                    ]
                )
            return np.concatenate(
                [
                    np.asarray(self.model.encode(x[i : i + self.batch_size])[0])
                    for i in range(0, len(x), self.batch_size)
                ]
            )


def _seconds(value, missing: str = "no") -> str:
    return missing if value is None else f"{value:.1f} s"


def _timed_class(cls, log: list):
    class Timed(cls):
        def fit(self, X, y, *args, **kwargs):
            start = time.perf_counter()
            result = super().fit(X, y, *args, **kwargs)
            log.append((cls.__name__, len(np.unique(y)), len(y), time.perf_counter() - start))
            return result

    Timed.__name__ = Timed.__qualname__ = cls.__name__
    return Timed


def _timed_function(fn, counter: Counter):
    def timed(*args, **kwargs):
        with counter.time():
            return fn(*args, **kwargs)

    return timed


@contextlib.contextmanager
def instrumented(log: list, gbt: Counter, table: Counter):
    """Timers around the classifiers, DCI's trees and the code table (this process only)."""
    with contextlib.ExitStack() as stack:
        for module_name, attr in CLASSIFIERS.items():
            module = importlib.import_module(module_name)
            stack.enter_context(
                mock.patch.object(module, attr, _timed_class(getattr(module, attr), log))
            )
        dci = importlib.import_module("keras_gvae.evaluation.dci")
        stack.enter_context(
            mock.patch.object(
                dci, "importance_matrix_gbt", _timed_function(dci.importance_matrix_gbt, gbt)
            )
        )
        evaluate = importlib.import_module("keras_gvae.evaluation.disentanglement_scores")
        if hasattr(evaluate, "precompute_codes"):
            stack.enter_context(
                mock.patch.object(
                    evaluate, "precompute_codes", _timed_function(evaluate.precompute_codes, table)
                )
            )
        yield


# ---------------------------------------------------------------- model
def get_model(args, tmp: Path):
    from keras_gvae.saving import load_model, resolve_model_path

    if args.model:
        model = load_model(resolve_model_path(args.model), compile=False)
        return model, f"loaded from `{args.model}`"
    from keras_gvae.training import TrainConfig, read_metrics, train

    start = time.perf_counter()
    config = TrainConfig(
        epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, out=str(tmp / "run"), verbose=0
    )
    run = train(config)
    seconds = time.perf_counter() - start
    loss = read_metrics(run)["final_epoch"]["loss"]
    model = load_model(run / "model.keras", compile=False)
    return model, (
        f"GuidedVAE(64x64x1, latent_dim=10) trained by `keras_gvae.training.train(TrainConfig("
        f"epochs={args.epochs}, steps_per_epoch={args.steps_per_epoch}))` on the shapes "
        f"(final loss {loss:.1f}; {seconds:.0f} s including the run directory)"
    )


# ---------------------------------------------------------------- protocol
def call_sizes(names, sizes: dict) -> dict:
    """The size overrides that at least one of ``names`` accepts."""
    from keras_gvae.evaluation import METRICS

    accepted = set().union(*(inspect.signature(METRICS[n]).parameters for n in names))
    return {k: v for k, v in sizes.items() if v is not None and k in accepted}


def timed_call(label, names, data, representation, sizes) -> dict:
    """One ``evaluate_disentanglement`` call over ``names``, timed and broken down."""
    from keras_gvae.evaluation import evaluate_disentanglement

    data.render, representation.encode = Counter(), Counter()
    log, gbt, table = [], Counter(), Counter()
    wall, cpu = time.perf_counter(), time.process_time()
    with instrumented(log, gbt, table):
        values = evaluate_disentanglement(
            data, representation, metrics=names, seed=0, **call_sizes(names, sizes)
        )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    other_fits = sum(e[-1] for e in log if e[0] != "GradientBoostingClassifier")
    row = {
        "name": label,
        "wall": wall,
        "cpu": cpu,
        "values": values,
        "fits": log,
        "encode": representation.encode,
        "render": data.render,
        "gbt": gbt.seconds,
        "table": table.seconds if table.calls else None,
        "other_fits": other_fits,
    }
    row["other"] = wall - row["encode"].seconds - row["render"].seconds - gbt.seconds - other_fits
    print(
        f"{label}: {wall:.1f} s (encode {row['encode'].seconds:.1f} s for "
        f"{row['encode'].items:,} images, render {row['render'].seconds:.1f} s, DCI trees "
        f"{gbt.seconds:.1f} s, other fits {other_fits:.1f} s, code table "
        f"{_seconds(row['table'])})",
        flush=True,
    )
    return row


def run_protocol(
    model, names, sizes, compiled=True, per_metric=True, precision=None, batch_size=None
):
    data = TimedShapes()
    representation = Representation(model, compiled, precision, batch_size)
    warm = data.sample_observations(1024 + 256, np.random.RandomState(99))
    representation(warm), representation(warm[:256])  # trace / warm up both shapes
    full = timed_call("all", names, data, representation, sizes)
    rows = [timed_call(n, [n], data, representation, sizes) for n in names] if per_metric else []
    return full, rows


# ---------------------------------------------------------------- what-ifs
def encoder_call_costs(model, sizes=(16, 64, 256, 1024), runs: int = 7) -> dict:
    """Median ms per call of eager ``model.encode`` and of a ``tf.function`` of it."""
    import tensorflow as tf

    images = ShapesData().sample_observations(max(sizes), np.random.RandomState(1))
    compiled = tf.function(lambda x: model.encode(x)[0], reduce_retracing=True)
    out = {}
    for n in sizes:
        row = {}
        for label, fn in (
            ("eager", lambda x=images[:n]: model.encode(x)[0].numpy()),
            ("tf.function", lambda x=images[:n]: compiled(x).numpy()),
        ):
            fn()
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            row[label] = 1000 * statistics.median(times)
        out[n] = row
    return out


def dci_per_factor(model, num_train: int, num_test: int) -> list[dict]:
    """Per factor, sequentially: GBT (as DCI) and HistGradientBoosting fit time and test
    accuracy, on one fresh DCI-sized sample (seed 0, encoded in one pass)."""
    import tensorflow as tf
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    from keras_gvae.evaluation import generate_batch_factor_code

    compiled = tf.function(lambda x: model.encode(x)[0], reduce_retracing=True)
    data, rs = ShapesData(), np.random.RandomState(0)

    def rep(x):
        return np.asarray(compiled(np.asarray(x, np.float32)))

    codes_train, factors_train = generate_batch_factor_code(data, rep, num_train, rs, 1024)
    codes_test, factors_test = generate_batch_factor_code(data, rep, num_test, rs, 1024)
    rows = []
    for j, factor in enumerate(data.factor_names):
        row = {"factor": factor, "classes": int(len(np.unique(factors_train[:, j])))}
        for label, make in (
            ("gbt", lambda: GradientBoostingClassifier(random_state=0)),
            ("hist", lambda: HistGradientBoostingClassifier(random_state=0)),
        ):
            start = time.perf_counter()
            # One OpenMP thread: with two, HistGradientBoosting's many small parallel
            # regions wait at barriers for a thread that other jobs on the shared cores
            # have descheduled (a 40-class fit on 200 points took 396 s instead of 1.4 s).
            with threadpool_limits(limits=1, user_api="openmp"):
                clf = make().fit(codes_train, factors_train[:, j])
            row[f"{label}_seconds"] = time.perf_counter() - start
            row[f"{label}_accuracy"] = float(np.mean(clf.predict(codes_test) == factors_test[:, j]))
        rows.append(row)
        print(f"dci what-if {factor}: {row}", flush=True)
    return rows


def two_worker_makespan(seconds: list[float]) -> float:
    """Wall time of the jobs on two workers, longest first (joblib with two processes)."""
    loads = [0.0, 0.0]
    for s in sorted(seconds, reverse=True):
        loads[loads.index(min(loads))] += s
    return max(loads)


# ---------------------------------------------------------------- report
def _values(values: dict) -> str:
    return ", ".join(
        f"{k} {v:.0f}" if k.endswith("dims") else f"{k} {v:.3f}" for k, v in values.items()
    )


def _breakdown_row(r: dict, label: str, values: str) -> str:
    return (
        f"| {label} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['encode'].items:,} "
        f"({r['encode'].calls:,}) | {r['encode'].seconds:.1f} | {r['render'].items:,} "
        f"| {r['render'].seconds:.1f} | {r['gbt']:.1f} | {r['other_fits']:.1f} "
        f"| {r['other']:.1f} | {_seconds(r['table'], '-').removesuffix(' s')} | {values} |"
    )


HEADER = [
    "| call | wall s | CPU s | encoded images (calls) | encode s | rendered images | render s "
    "| DCI trees s | other fits s | rest s | code table s | values |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
]


def report(args, description, full, rows, costs, factors, load, seconds) -> str:
    import keras
    import sklearn
    import tensorflow as tf

    verdict = "holds" if full["wall"] <= BUDGET_SECONDS else "FAILS"
    default_sizes = not any(v is not None for k, v in sizes_from(args).items() if k != "estimator")
    encoder = (
        "a `tf.function` in calls of up to 1024 images (as `gvae evaluate`)"
        if not args.eager
        else "eager `model.encode` in calls of up to 256 images"
    )
    if args.encode_precision:
        encoder = (
            f"`model.representation_function(precision={args.encode_precision!r})` in calls "
            f"of up to {args.encode_batch_size or 1024} images"
        )
    if args.dci_estimator:
        encoder += f"; DCI estimator {args.dci_estimator!r}"
    lines = [
        "# Disentanglement protocol: wall time, in full and per metric",
        "",
        "`python benchmarks/evaluation_protocol.py"
        f"{' ' + ' '.join(args.argv) if args.argv else ''}` "
        f"on {time.strftime('%Y-%m-%d %H:%M')}; machine: {os.cpu_count()} cores (shared with "
        f"other jobs; load average {load[0]:.1f} at start, {load[1]:.1f} at end), CPU only "
        f"({platform.processor() or platform.machine()}); Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, scikit-learn "
        f"{sklearn.__version__}. Whole script {seconds:.0f} s.",
        "",
        f"Model: {description}. Data: `ShapesData()` (5 factors: shape 3, scale 6, orientation "
        f"40, pos_x 32, pos_y 32; 737,280 grid points). Representation: posterior mean, "
        f"{encoder}. Sizes: "
        + (
            "each metric's disentanglement_lib default"
            if default_sizes
            else ", ".join(f"{k}={v}" for k, v in sizes_from(args).items() if v is not None)
        )
        + "; seed 0; the library's default `cache_codes`.",
        "",
        "Columns: encode/render = time inside the representation function / the data's "
        "rendering (also inside the code table, when one is built); DCI trees = "
        "`importance_matrix_gbt` (its fits run in joblib workers); other fits = the sklearn "
        "fits of SAP, modularity/explicitness and BetaVAE; rest = everything else (sampling, "
        "table look-ups, the metrics' numpy work); code table s = `precompute_codes` (already "
        "counted in encode and render).",
        "",
        '## Full protocol, one call (`metrics="all"`)',
        "",
        *HEADER,
        _breakdown_row(full, "**all**", _values(full["values"])),
        "",
        f"Target: full protocol <= {BUDGET_SECONDS:.0f} s on 2 cores: **{verdict}** "
        f"({full['wall']:.0f} s, {full['wall'] / BUDGET_SECONDS:.2f}x the budget).",
        "",
    ]
    if rows:
        lines += [
            "## Each metric alone (`metrics=[name]`)",
            "",
            "A metric alone builds its own code table when that is cheaper than encoding its "
            "samples, so the per-metric times do not add up to the full call.",
            "",
            *HEADER,
            *[_breakdown_row(r, r["name"], _values(r["values"])) for r in rows],
            f"| sum | {sum(r['wall'] for r in rows):.1f} | | | | | | | | | | |",
            "",
        ]
    if factors:
        gbt = [f["gbt_seconds"] for f in factors]
        lines += [
            "## DCI trees per factor (one fit at a time, fresh DCI-sized sample)",
            "",
            "| factor | classes | GradientBoosting fit s | test accuracy "
            "| HistGradientBoosting fit s (1 thread) | test accuracy |",
            "|---|---:|---:|---:|---:|---:|",
            *[
                f"| {f['factor']} | {f['classes']} | {f['gbt_seconds']:.1f} "
                f"| {f['gbt_accuracy']:.3f} | {f['hist_seconds']:.1f} | {f['hist_accuracy']:.3f} |"
                for f in factors
            ],
            f"| **sum** | | {sum(gbt):.1f} | {np.mean([f['gbt_accuracy'] for f in factors]):.3f} "
            f"| {sum(f['hist_seconds'] for f in factors):.1f} "
            f"| {np.mean([f['hist_accuracy'] for f in factors]):.3f} |",
            "",
            f"On two workers, longest first, the GradientBoosting fits take "
            f"{two_worker_makespan(gbt):.1f} s (the 40-class orientation alone "
            f"{max(gbt):.1f} s: a K-class factor grows K trees per stage, 100 stages).",
            "",
        ]
    if costs:
        lines += [
            "## Encoder call cost (GuidedVAE 64x64x1 posterior mean, median ms per call)",
            "",
            "| images per call | eager `model.encode` ms | `tf.function` ms | eager images/s "
            "| `tf.function` images/s |",
            "|---:|---:|---:|---:|---:|",
            *[
                f"| {n} | {c['eager']:.1f} | {c['tf.function']:.1f} "
                f"| {n / c['eager'] * 1000:,.0f} | {n / c['tf.function'] * 1000:,.0f} |"
                for n, c in costs.items()
            ],
            "",
        ]
    lines += findings(full, rows, costs, factors)
    return "\n".join(lines)


def findings(full, rows, costs, factors) -> list[str]:
    """Where the time of the full call goes and what would cut it, from this run."""
    parts = {
        "encoding": full["encode"].seconds,
        "rendering": full["render"].seconds,
        "DCI's trees": full["gbt"],
        "other classifier fits": full["other_fits"],
        "the rest": max(full["other"], 0.0),
    }
    out = ["## Findings", ""]
    out.append(
        f"- The full call takes {full['wall']:.0f} s: "
        + ", ".join(
            f"{k} {v:.0f} s ({100 * v / full['wall']:.0f}%)"
            for k, v in sorted(parts.items(), key=lambda kv: -kv[1])
        )
        + "."
    )
    if full["table"] is not None:
        out.append(
            f"- It built the code table ({full['encode'].items:,} images encoded in "
            f"{full['encode'].calls:,} calls, {full['table']:.0f} s with rendering) instead of "
            "encoding each metric's ~2.9 million samples."
        )
    if rows:
        worst = max(rows, key=lambda r: r["wall"])
        out.append(
            f"- Alone, {worst['name']} is the slowest metric ({worst['wall']:.0f} s); "
            + ", ".join(f"{r['name']} {r['wall']:.0f} s" for r in rows if r is not worst)
            + "."
        )
    if factors:
        gbt = [f["gbt_seconds"] for f in factors]
        hist = sum(f["hist_seconds"] for f in factors)
        rest = full["wall"] - full["gbt"]
        out += [
            f"- DCI's trees: {full['gbt']:.0f} s in the full call; one at a time they take "
            f"{sum(gbt):.0f} s, so on two idle cores the parallel fits need at least "
            f"{max(two_worker_makespan(gbt), sum(gbt) / 2):.0f} s (the orientation factor alone "
            f"{max(gbt):.0f} s). Without them the full call took {rest:.0f} s.",
            f"- `HistGradientBoostingClassifier` fits the same five factors in {hist:.0f} s "
            f"single-threaded, test accuracy {np.mean([f['hist_accuracy'] for f in factors]):.3f}"
            f" vs {np.mean([f['gbt_accuracy'] for f in factors]):.3f}; its importances are not "
            "disentanglement_lib's, so it could only be an opt-in (`gvae evaluate` quick mode); "
            f"with it this run's full call would have taken about {rest + hist:.0f} s.",
        ]
    if costs:
        big = max(costs)
        out.append(
            f"- Encoder: a `tf.function` is {costs[big]['eager'] / costs[big]['tf.function']:.1f}x "
            f"faster than eager `model.encode` for {big}-image calls and "
            f"{costs[min(costs)]['eager'] / costs[min(costs)]['tf.function']:.1f}x for "
            f"{min(costs)}-image calls; the grid's 737,280 images take about "
            f"{737280 * costs[big]['tf.function'] / big / 1000:.0f} s at the compiled rate."
        )
    if costs and factors and full["table"] is not None:
        # Two idle cores: the trees at best split evenly over both, the encoder already
        # uses both, and the rest of the full call is kept as measured.
        gbt = [f["gbt_seconds"] for f in factors]
        encode = full["encode"].items * costs[max(costs)]["tf.function"] / max(costs) / 1000
        rest = full["wall"] - full["gbt"] - full["encode"].seconds
        trees = max(two_worker_makespan(gbt), sum(gbt) / 2)
        hist = sum(f["hist_seconds"] for f in factors)
        out += [
            f"- Estimate for two idle cores: encoding {encode:.0f} s + DCI's trees >= "
            f"{trees:.0f} s + the rest {rest:.0f} s = about {encode + trees + rest:.0f} s "
            f"({'within' if encode + trees + rest <= BUDGET_SECONDS else 'over'} the "
            f"{BUDGET_SECONDS:.0f} s budget); with HistGradientBoosting for DCI about "
            f"{encode + hist + rest:.0f} s.",
        ]
    out.append("")
    return out


def sizes_from(args) -> dict:
    return {
        "num_train": args.num_train,
        "num_test": args.num_test,
        "num_eval": args.num_eval,
        "num_variance_estimate": args.num_variance_estimate,
        "estimator": args.dci_estimator,
    }


def main(argv=None) -> str:
    from keras_gvae.cli.arguments import ENCODE_PRECISIONS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        default=None,
        help="a .keras file or run directory (default: train a GuidedVAE briefly)",
    )
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps-per-epoch", type=int, default=100)
    parser.add_argument("--metrics", default="all", help="'all' or comma-separated names")
    for size in ("num-train", "num-test", "num-eval", "num-variance-estimate"):
        parser.add_argument(
            f"--{size}",
            type=int,
            default=None,
            help="override the metrics' default (for quick checks only)",
        )
    parser.add_argument(
        "--eager", action="store_true", help="encode eagerly in calls of 256 (not compiled)"
    )
    parser.add_argument("--no-per-metric", action="store_true", help="only time the full call")
    parser.add_argument(
        "--dci-estimator",
        choices=("exact", "fast"),
        default=None,
        help="DCI's tree ensemble (keras_gvae.evaluation.dci.DCI_ESTIMATORS; default: exact)",
    )
    parser.add_argument(
        "--encode-precision",
        choices=ENCODE_PRECISIONS,
        default=None,
        help="encode through model.representation_function(precision=...) (default: the "
        "model's float32 encoder, compiled)",
    )
    parser.add_argument("--encode-batch-size", type=int, default=None, help="images per call")
    parser.add_argument(
        "--no-what-if",
        action="store_true",
        help="skip the encoder-cost and DCI per-factor measurements",
    )
    parser.add_argument(
        "--output", type=Path, default=REPO / "benchmarks" / "results" / "evaluation_protocol.md"
    )
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)

    from keras_gvae.evaluation import METRICS

    names = (
        list(METRICS)
        if args.metrics == "all"
        else [n.strip() for n in args.metrics.split(",") if n.strip()]
    )
    unknown = sorted(set(names) - set(METRICS))
    if unknown:
        parser.error(f"unknown --metrics {unknown}; choose from {list(METRICS)}")

    start, load_start = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        model, description = get_model(args, Path(tmp))
        print(f"model: {description}", flush=True)
        full, rows = run_protocol(
            model,
            names,
            sizes_from(args),
            not args.eager,
            not args.no_per_metric,
            args.encode_precision,
            args.encode_batch_size,
        )
        costs, factors = {}, []
        if not args.no_what_if:
            costs = encoder_call_costs(model)
            if "dci" in names:
                factors = dci_per_factor(model, args.num_train or 10000, args.num_test or 5000)
    text = report(
        args,
        description,
        full,
        rows,
        costs,
        factors,
        (load_start, os.getloadavg()[0]),
        time.perf_counter() - start,
    )
    write_text(args.output, text)
    print(text)
    return text


if __name__ == "__main__":
    main()
