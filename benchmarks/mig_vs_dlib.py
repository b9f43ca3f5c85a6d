r"""Our MIG against disentanglement_lib's own code, on the same codes (issue #22's offset).

Issue #22 read MIG 0.05-0.07 higher than `keras_gvae.evaluation.mig_per_factor` for the
same models, all of it in the position gaps. This script computes, for each model given:

- the 10,000 grid points of `examples/budget_curves.py`'s `measure()` (ShapesData,
  RandomState(metric seed)), MIG per factor by ours and by disentanglement_lib's
  `_compute_mig` (and its discretizer / MI / entropy for the per-factor gaps) on the
  *same* codes, and disentanglement_lib's whole `compute_mig` on ShapesData;
- "10,000 real dSprites images" as this machine can produce them: `DSpritesData` on the
  96-image sample draws its 10,000 rows *among the 96 stored images* (with replacement);
- the candidate causes on the grid codes: sampled vs mean representation, float32 vs
  float64, bin count, percentile-clipped bin ranges, sample size, metric seed;
- the renderer against the 96 real images, and the sampler's factor distribution.

disentanglement_lib is optional and never a project dependency. Without it the
disentanglement_lib columns are skipped with a one-line message. To get it without touching
the project's environment (its `gin.tf` needs TF1's `tf.estimator`, so the script stubs it):

    python -m venv --system-site-packages /tmp/dlenv
    pip download disentanglement-lib --no-deps -d /tmp/dl
    /tmp/dlenv/bin/pip install --no-deps /tmp/dl/disentanglement_lib-1.5-py3-none-any.whl gin-config
    /tmp/dlenv/bin/python benchmarks/mig_vs_dlib.py saved_models/guided_shapes/model.keras \
        --data-dir ../shared/data/dsprites_sample --json /tmp/mig_vs_dlib.json
"""

from __future__ import annotations

import argparse
import json
import sys
import types

import numpy as np


def load_dlib():
    """disentanglement_lib's MIG modules with its gin bindings (unsupervised_study_v1's
    mig.gin), or None when it is not installed."""
    try:
        import gin

        if "gin.tf" not in sys.modules:  # gin.tf imports tf.estimator (TF1); MIG needs none of it
            stub = types.ModuleType("gin.tf")
            sys.modules["gin.tf"] = stub
            gin.tf = stub
        from disentanglement_lib.evaluation.metrics import mig as dmig
        from disentanglement_lib.evaluation.metrics import utils as dutils
    except ImportError as error:
        print(f"disentanglement_lib not importable ({error}); its columns are skipped")
        return None
    gin.clear_config()
    gin.parse_config(
        ["discretizer.discretizer_fn = @histogram_discretizer", "discretizer.num_bins = 20"]
    )
    return dmig, dutils


def dlib_gaps(dlib, codes, factors):
    """Per-factor gaps and `_compute_mig`'s mean by disentanglement_lib's own functions."""
    dmig, dutils = dlib
    mus, ys = np.asarray(codes).T, np.asarray(factors).T
    m = dutils.discrete_mutual_info(dutils.make_discretizer(mus), ys)
    h = dutils.discrete_entropy(ys)
    top = np.sort(m, axis=0)[::-1]
    return (top[0] - top[1]) / h, float(dmig._compute_mig(mus, ys)["discrete_mig"])


def clipped_gaps(codes, factors, low, high, num_bins=20):
    """MIG per factor with each code's 20 equal-width bins over its [low, high] percentiles
    (values outside go to the end bins)."""
    from keras_gvae.evaluation.utils import discrete_entropy, discrete_mutual_info

    binned = np.empty(codes.shape, np.int64)
    for i in range(codes.shape[1]):
        lo, hi = np.percentile(codes[:, i], [low, high])
        edges = np.linspace(lo, hi, num_bins + 1)[1:-1]
        binned[:, i] = np.digitize(codes[:, i], edges)
    mi = discrete_mutual_info(binned, factors)
    top = np.sort(mi, axis=0)[::-1]
    return (top[0] - top[1]) / discrete_entropy(factors)


def coarse_factor_gaps(codes, factors, factor_bins):
    """MIG per factor with the codes in 20 bins (as ours) but the factors coarsened:
    ``factor_bins`` equal-width bins over each factor's classes, or "int(values*10)" (the
    dSprites latents_values of scale, orientation and position times 10, truncated)."""
    from keras_gvae.evaluation.utils import discrete_entropy, discrete_mutual_info, discretize

    if factor_bins == "int(values*10)":
        values = [np.linspace(0.5, 1, 6), np.linspace(0, 2 * np.pi, 40)] + [
            np.linspace(0, 1, 32)
        ] * 2
        coarse = np.stack(
            [factors[:, 0]] + [(values[k][factors[:, k + 1]] * 10).astype(int) for k in range(4)], 1
        )
    else:
        coarse = discretize(factors.astype(np.float64), factor_bins)
    mi = discrete_mutual_info(discretize(codes, 20), coarse)
    top = np.sort(mi, axis=0)[::-1]
    return (top[0] - top[1]) / discrete_entropy(coarse)


def row(name, gaps, mean=None):
    gaps = np.asarray(gaps, np.float64)
    mean = float(np.mean(gaps)) if mean is None else mean
    return {"case": name, "mig": mean, "gaps": [float(g) for g in gaps]}


def show(r):
    print(f"{r['case']:<58} {r['mig']:.4f}  " + " ".join(f"{g:.4f}" for g in r["gaps"]), flush=True)


def run_model(path, args, dlib):
    import keras
    import tensorflow as tf

    import keras_gvae  # noqa: F401  (registers the classes model.keras names)
    from keras_gvae.data.dsprites import DSpritesData
    from keras_gvae.data.shapes import ShapesData
    from keras_gvae.evaluation import mig_per_factor

    model = keras.saving.load_model(path, compile=False)
    represent = model.representation_function()
    encode = tf.function(lambda b: model._encode_unchecked(b), reduce_retracing=True)
    gtd = ShapesData()
    rows = []

    def add(name, gaps, mean=None):
        rows.append(row(name, gaps, mean))
        show(rows[-1])

    def both(name, codes, factors):
        add(f"{name}: ours", mig_per_factor(codes, factors))
        if dlib is not None:
            gaps, mean = dlib_gaps(dlib, codes, factors)
            add(f"{name}: dlib", gaps, mean)
            diff = np.max(np.abs(gaps - mig_per_factor(codes, factors)))
            print(f"{'':<58} max |ours - dlib| per factor {diff:.2e}")

    print(f"\n== {path}\n{'case':<58} MIG     shape  scale  orient pos_x  pos_y")
    # 1. The budget curves' protocol, and disentanglement_lib on the same codes.
    factors, images = gtd.sample(args.points, np.random.RandomState(args.seed))
    codes = represent(images)  # float32, as a TF representation hands them to dlib
    both(f"grid {args.points}, seed {args.seed} (measure())", codes, factors)
    if dlib is not None:
        score = dlib[0].compute_mig(
            gtd, represent, np.random.RandomState(args.seed), num_train=args.points, batch_size=16
        )["discrete_mig"]
        add("grid: dlib compute_mig(ShapesData) end to end", [np.nan] * 5, float(score))

    # 2. "10,000 real dSprites images": DSpritesData on the 96-image sample.
    if args.data_dir:
        real = DSpritesData(args.data_dir)
        rf, ri = real.sample(args.points, np.random.RandomState(args.seed))
        distinct = len(np.unique(rf, axis=0))
        print(f"   DSpritesData({args.data_dir}).sample({args.points}): {distinct} distinct rows")
        both(f"real sample96 resampled to {args.points}", represent(ri), rf)
        if dlib is not None:
            score = dlib[0].compute_mig(
                real, represent, np.random.RandomState(args.seed), num_train=args.points
            )["discrete_mig"]
            add("real sample96: dlib compute_mig(DSpritesData) end to end", [np.nan] * 5, score)
        once_f, once_i = real._present, real.sample_observations_from_factors(real._present, None)
        both("the 96 real images once", represent(once_i), once_f)
        both(
            "their 96 renders once",
            represent(gtd.sample_observations_from_factors(once_f, None)),
            once_f,
        )
        # the grid restricted to the 96 images' factor values cannot be sampled (96 rows);
        # instead: grid points with the same number of distinct rows, resampled
        sub = gtd.sample_factors(distinct, np.random.RandomState(args.seed + 7))
        pick = sub[np.random.RandomState(args.seed).randint(distinct, size=args.points)]
        both(
            f"grid: {distinct} random grid rows resampled to {args.points}",
            represent(gtd.sample_observations_from_factors(pick, None)),
            pick,
        )

    # 3. Candidate causes on the grid codes.
    mean, logvar = (np.asarray(t) for t in encode(tf.constant(images)))
    # the same encoder: only the batch sizes differ (3,000 here, 1,024 per call in `represent`),
    # which round differently on some CPUs (2.4e-7 on an AVX2-only one, 0 with AVX-512)
    np.testing.assert_allclose(mean, codes, rtol=0, atol=1e-5)
    noise = np.random.RandomState(args.seed + 100).standard_normal(mean.shape).astype(np.float32)
    add(
        "grid: sampled representation (mean + sd * eps), ours",
        mig_per_factor(mean + np.exp(0.5 * logvar) * noise, factors),
    )
    if dlib is not None:
        add("grid: float64 codes, dlib", *dlib_gaps(dlib, codes.astype(np.float64), factors))
    for bins in (10, 40, 100):
        add(f"grid: {bins} bins, ours", mig_per_factor(codes, factors, num_bins=bins))
    for low, high in ((0.1, 99.9), (0.5, 99.5), (1, 99), (2.5, 97.5)):
        add(f"grid: 20 bins over percentiles {low}-{high}", clipped_gaps(codes, factors, low, high))
    seeds = [mig_per_factor(codes, factors)]
    for seed in range(1, args.extra_seeds + 1):
        f, im = gtd.sample(args.points, np.random.RandomState(seed))
        c = represent(im)
        seeds.append(mig_per_factor(c, f))
        add(f"grid: metric seed {seed}, ours", seeds[-1])
        add(f"grid: metric seed {seed}, factors in 10 bins", coarse_factor_gaps(c, f, 10))
    seeds = np.array(seeds)
    if len(seeds) > 1:
        print(
            f"   metric seeds 0-{args.extra_seeds}: MIG {seeds.mean(1).mean():.4f} "
            f"+- {seeds.mean(1).std(ddof=1):.4f};"
            " per factor mean "
            + " ".join(f"{x:.4f}" for x in seeds.mean(0))
            + "; sd "
            + " ".join(f"{x:.4f}" for x in seeds.std(0, ddof=1))
        )
    jitter = np.random.RandomState(args.seed + 200).uniform(-0.021, 0.021, codes.shape)
    add(
        "grid: codes + U(-0.021, 0.021) (largest real-render gap, 1x)",
        mig_per_factor(codes + jitter, factors),
    )
    add(
        "grid: codes = the factor classes (20-bin ceiling)",
        mig_per_factor(factors.astype(np.float64), factors),
    )
    for bins in (20, 10, "int(values*10)"):
        add(
            f"grid: factors coarsened to {bins} (codes 20 bins)",
            coarse_factor_gaps(codes, factors, bins),
        )
    try:
        add("grid: images x255 as input, ours", mig_per_factor(represent(images * 255), factors))
    except Exception as error:  # noqa: BLE001
        print(f"   images x255: refused ({type(error).__name__}: {str(error)[:80]})")
    for n in (1000, 3000, 30000):
        f, im = gtd.sample(n, np.random.RandomState(args.seed))
        add(f"grid: {n} points, ours", mig_per_factor(represent(im), f))
    spread = np.ptp(codes, axis=0)
    iqr = np.subtract(*np.percentile(codes, [99.5, 0.5], axis=0))
    print(
        "   code range (max-min) / 0.5-99.5 pct range per unit:",
        " ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(spread, iqr, strict=True)),
    )
    return {"model": str(path), "rows": rows}


def check_data(args):
    """The renderer against the 96 real images, and the sampler's factor distribution."""
    from keras_gvae.data.dsprites import find_dsprites_npz, read_dsprites_npz
    from keras_gvae.data.shapes import ShapesData

    out = {}
    gtd = ShapesData()
    factors = gtd.sample_factors(args.points, np.random.RandomState(args.seed))
    counts = [np.bincount(factors[:, k], minlength=n) for k, n in enumerate(gtd.factors_num_values)]
    print("\nsampler:", gtd.factor_names, gtd.factors_num_values, "dtype", factors.dtype)
    for name, c in zip(gtd.factor_names, counts, strict=True):
        expected = args.points / len(c)
        chi2 = float(np.sum((c - expected) ** 2 / expected))
        print(
            f"  {name}: {len(c)} classes, all used: {bool((c > 0).all())}, "
            f"min/max count {c.min()}/{c.max()} (expected {expected:.0f}), "
            f"chi2 {chi2:.1f} on {len(c) - 1} dof"
        )
        out[name] = {"classes": len(c), "min": int(c.min()), "max": int(c.max()), "chi2": chi2}
    if args.data_dir:
        images, classes = read_dsprites_npz(find_dsprites_npz(args.data_dir))
        real = (images > 0).astype(np.float32).reshape(len(images), 64, 64, 1)
        rendered = gtd.sample_observations_from_factors(classes[:, 1:].astype(np.int64), None)
        per_image = np.sum(real != rendered, axis=(1, 2, 3))
        print(
            f"  renderer vs {len(real)} real images: {int(per_image.sum())} pixels differ, "
            f"{int((per_image > 0).sum())} images not identical, worst {int(per_image.max())}"
        )
        out["renderer"] = {
            "images": len(real),
            "pixels": int(per_image.sum()),
            "images_differing": int((per_image > 0).sum()),
        }
        c = classes[:, 1:]
        print(
            "  the 96 images' distinct values per factor:",
            {n: len(np.unique(c[:, k])) for k, n in enumerate(gtd.factor_names)},
        )
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="model.keras files")
    p.add_argument("--data-dir", help="folder with dsprites_sample96.npz")
    p.add_argument("--points", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--extra-seeds", type=int, default=2)
    p.add_argument("--json")
    args = p.parse_args(argv)
    dlib = load_dlib()
    result = {"data": check_data(args), "models": [run_model(m, args, dlib) for m in args.models]}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
