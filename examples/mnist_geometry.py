r"""Do the deformation units follow geometry? GuidedVAE on real MNIST, probed with known warps.

Trains GuidedVAE on the MNIST training split (the paper's MNIST setting; `--preset` picks
the recipe) and then, on real *test* digits:

- rotates every digit by a known angle drawn uniformly in [-45, 45] degrees and reports,
  per unit, |Spearman rho| between the posterior mean and the angle;
- rescales every digit by a known factor drawn log-uniformly in [0.7, 1.3] and reports
  |rho| with the scale factor;
- draws the main- and sub-decoder traversals of one test digit;
- measures the ceiling a code of the image can reach: the applied angle adds to each digit's
  own slant, so |rho| is also reported for the orientation of the rotated image's pixel
  moments (an exact measurement of how the digit now leans), overall and per digit class,
  next to the angle unit's; and the angle unit's |rho| across angles for one digit at a time
  (the same digit turned through 19 angles), which no natural slant dilutes;
- walks every unit in the main decoder (issue #22) from each of ``--walk-digits`` test
  digits' posterior means, over `model.traverse`'s range and over the unit's spread on
  training digits, and measures the decoded frames: along the angle unit the digit turns
  (median |rho| of the step with the principal-axis angle of the ink), along the scale and
  translation units it grows or moves (its spread, centroid), and along every unit it keeps
  its identity (a pixel 5-NN classifier fitted on training digits names the original's
  class for the frame);
- measures that classifier's own limit under rotation: along the angle unit's walk each
  real test digit is turned by the angle its frame turned (relative to its plain
  reconstruction) and classified again, per step beside the frames; both classifiers read
  real digits turned by -45 .. 45 degrees; and a rotation-robust 5-NN (fitted on the
  training digits plus a copy of each turned by a seeded random angle in [-45, 45]) reports
  the class kept along every walk beside the issue's classifier.

The warps use the library's bilinear `AffineSpatialTransformer` (rotation about the image
centre, zeros outside). Writes ``mnist_geometry.md``, ``mnist_geometry.json``,
``traversal.png`` and, per deformation unit, ``walk_<unit>.png`` (e.g. ``walk_angle.png``:
8 test digits walked in both decoders) into ``--out``.

Usage:
    # 3 seeds, ~10 min, 2 CPU cores:
    python examples/mnist_geometry.py --data-dir ../shared/data/mnist
    # GPU: 5x the budget:
    python examples/mnist_geometry.py --data-dir ../shared/data/mnist --full
    python examples/mnist_geometry.py --model saved_models/guided_mnist \
        --data-dir ../shared/data/mnist
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    Spec,
    add_budget_arguments,
    apply_full,
    budget,
    dump,
    train_model,
    write_outputs,
)

MAX_ANGLE_DEGREES = 45.0
SCALE_RANGE = (0.7, 1.3)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_budget_arguments(p)
    p.add_argument("--data-dir", required=True, help="folder with the MNIST idx files")
    p.add_argument(
        "--model",
        default=None,
        help="a saved model (.keras or run directory) to probe instead of training",
    )
    p.add_argument("--preset", default="guided-mnist")
    p.add_argument(
        "--model-arg",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="a constructor argument on top of the preset, repeatable",
    )
    p.add_argument("--label", default=None, help="name of the model in the table")
    p.add_argument(
        "--learning-rate", type=float, default=None, help="Adam's rate (default: the preset's)"
    )
    p.add_argument("--test-digits", type=int, default=2000)
    p.add_argument(
        "--walk-digits",
        type=int,
        default=500,
        help="test digits whose traversals of the main decoder are measured (0: none)",
    )
    p.add_argument(
        "--knn-train",
        type=int,
        default=60000,
        help="training digits the identity classifier (5-NN) is fitted on",
    )
    p.add_argument(
        "--knn-components",
        type=int,
        default=50,
        help="principal components of the pixels the 5-NN compares (0: raw pixels)",
    )
    p.add_argument("--out", default="runs/examples/mnist_geometry")
    args = p.parse_args(argv)
    apply_full(args)
    return args


def test_digits(data_dir, num, seed=0, split="test"):
    from keras_gvae.data.mnist import load_mnist

    examples = load_mnist(split, data_dir=data_dir, source="local")
    images, labels = examples.images, examples.labels
    index = np.random.default_rng(seed).permutation(len(images))[:num]
    return images[index].astype(np.float32) / 255.0, labels[index]


def warp(images, angle=None, scale=None):
    """Rotates (radians, counter-clockwise as displayed) and/or rescales about the centre."""
    import tensorflow as tf

    from keras_gvae.layers.affine_spatial_transformer import (
        AffineSpatialTransformer,
        affine_theta,
    )

    n = len(images)
    theta = affine_theta(
        angle=None if angle is None else tf.constant(angle, tf.float32),
        scale_x=None if scale is None else tf.constant(scale, tf.float32),
        scale_y=None if scale is None else tf.constant(scale, tf.float32),
        size=images.shape[1:3],
    )
    assert theta.shape[0] == n
    return np.clip(AffineSpatialTransformer()(tf.constant(images), theta).numpy(), 0.0, 1.0)


def spearman(a, b):
    """|Spearman rho| of ``a`` (N,) with every column of ``b`` (N, K)."""

    def ranks(v):
        return np.argsort(np.argsort(v, axis=0), axis=0).astype(np.float64)

    ra, rb = ranks(a[:, None]), ranks(b)
    ra -= ra.mean(0)
    rb -= rb.mean(0)
    denom = np.sqrt((ra**2).sum(0) * (rb**2).sum(0))
    return np.abs((ra * rb).sum(0) / np.where(denom > 0, denom, 1.0))


def probe(model, images, seed=0):
    """Per-unit |rho| with a known rotation (``angle``) and with a known rescaling
    (``scale``) of ``images``; also the draw itself: the ``angles`` (degrees), the
    ``rotated`` images and their ``rotated_codes``."""
    rng = np.random.default_rng(seed)
    n = len(images)
    angles = rng.uniform(-MAX_ANGLE_DEGREES, MAX_ANGLE_DEGREES, n)
    scales = np.exp(rng.uniform(*np.log(SCALE_RANGE), n))
    represent = model.representation_function()
    rotated = warp(images, angle=np.radians(angles))
    codes = represent(rotated)
    rescaled = represent(warp(images, scale=scales))
    return {
        "angle": spearman(angles, codes),
        "scale": spearman(scales, rescaled),
        "angles": angles,
        "rotated": rotated,
        "rotated_codes": codes,
    }


PER_DIGIT_ANGLES = np.linspace(-MAX_ANGLE_DEGREES, MAX_ANGLE_DEGREES, 19)


def ink_moments(images):
    """The pixel moments of each image (N, H, W[, 1]) taken as ink: its mass (the sum of the
    pixels), centroid ``cx`` (column) and ``cy`` (row), and central second moments ``mu20``
    (along x), ``mu02`` (along y) and ``mu11``, each (N,), sums over pixels."""
    ink = images.reshape(images.shape[:3]).astype(np.float64)
    y, x = np.mgrid[: ink.shape[1], : ink.shape[2]].astype(np.float64)
    mass = ink.sum((1, 2))
    cx = (ink * x).sum((1, 2)) / mass
    cy = (ink * y).sum((1, 2)) / mass
    dx, dy = x[None] - cx[:, None, None], y[None] - cy[:, None, None]
    mu20, mu02 = (ink * dx**2).sum((1, 2)), (ink * dy**2).sum((1, 2))
    mu11 = (ink * dx * dy).sum((1, 2))
    return mass, cx, cy, mu20, mu02, mu11


def moment_orientation(images):
    """Degrees from vertical of the principal axis of each image's ink (central second
    moments): positive when the top leans left, the sign of :func:`warp`'s counter-clockwise
    angle, so a turn by ``a`` adds ``a`` to it."""
    _, _, _, mu20, mu02, mu11 = ink_moments(images)
    return np.degrees(0.5 * np.arctan2(2.0 * mu11, mu02 - mu20))


def orientation_ceiling(model, images, labels, unit, probed, per_digit=200):
    """|rho| with the applied angle of the angle unit and of the rotated images' own pixel
    orientation, overall and per class, on :func:`probe`'s draw ``probed``, and the angle
    unit's median |rho| over ``per_digit`` digits each turned through 19 angles."""
    angles = probed["angles"]
    code = probed["rotated_codes"][:, unit]
    pixels = moment_orientation(probed["rotated"])
    represent = model.representation_function()
    natural = moment_orientation(images)

    def both(keep):
        return {
            "n": int(keep.sum()),
            "unit": float(spearman(angles[keep], code[keep, None])[0]),
            "pixels": float(spearman(angles[keep], pixels[keep, None])[0]),
            "natural_slant_std": float(natural[keep].std()),
        }

    result = {"all": both(np.ones(len(images), bool))}
    for digit in range(10):
        result[str(digit)] = both(labels == digit)
    few = images[:per_digit]
    turned = np.stack(
        [
            represent(warp(few, angle=np.full(len(few), np.radians(a))))[:, unit]
            for a in PER_DIGIT_ANGLES
        ],
        axis=1,
    )
    per = np.array([spearman(PER_DIGIT_ANGLES, row[:, None])[0] for row in turned])
    result["per_digit_median"] = float(np.median(per))
    result["per_digit_fraction_above_0.8"] = float(np.mean(per >= 0.8))
    return result


def unit_names(model):
    from keras_gvae.visualization import unit_labels

    labels = unit_labels(model)
    return [labels[i] if i < len(labels) else f"z{i}" for i in range(model.latent_dim)]


# === Traversals of the main decoder (issue #22) ===

# The values a walked unit takes: `model.traverse`'s default, -2.5 .. 2.5 in 9 steps.
WALK_VALUES = np.linspace(-2.5, 2.5, 9)
# The "data" walk instead spans each unit's 2nd..98th percentile of posterior means on
# RANGE_DIGITS training digits, in as many steps.
WALK_PERCENTILES = (2.0, 98.0)
RANGE_DIGITS = 5000
FEATURES = ("angle", "x", "y", "width", "height", "size", "ink")
# The feature a deformation unit should change: "turns", "moves" or "grows".
OWN_FEATURE = {
    "angle": "angle",
    "translate_x": "x",
    "translate_y": "y",
    "scale_x": "width",
    "scale_y": "height",
    "scale": "size",
}
# Issue #22's targets: the digit turns (moves, grows) with median |rho| >= TARGET_RHO over
# digits, and the classifier names the original's class for >= TARGET_IDENTITY of frames.
TARGET_RHO = 0.9
TARGET_IDENTITY = 0.95


def ink_geometry(images):
    """Per image, from its pixel moments (intensity-weighted, pixel units): ``angle``
    (:func:`moment_orientation`, degrees), the centroid ``x`` (column) and ``y`` (row), the
    spread ``width`` and ``height`` (standard deviations of the ink along x and y), ``size``
    (its radius of gyration, sqrt(width^2 + height^2)) and ``ink`` (the sum of the pixels).
    Returns ``{name: (N,) array}`` for the names in FEATURES."""
    mass, cx, cy, mu20, mu02, _ = ink_moments(images)
    return {
        "angle": moment_orientation(images),
        "x": cx,
        "y": cy,
        "width": np.sqrt(mu20 / mass),
        "height": np.sqrt(mu02 / mass),
        "size": np.sqrt((mu20 + mu02) / mass),
        "ink": mass,
    }


def step_rho(values):
    """|Spearman rho| of each row of ``values`` (N, S) with the step index 0 .. S-1.

    Ties share their mean rank; a row that does not change has rho 0 (it does not follow the
    walk)."""
    from scipy.stats import rankdata

    ranks = rankdata(np.asarray(values, np.float64), axis=1)
    steps = np.arange(ranks.shape[1], dtype=np.float64)
    ranks -= ranks.mean(1, keepdims=True)
    steps -= steps.mean()
    denom = np.sqrt((ranks**2).sum(1) * (steps**2).sum())
    rho = (ranks * steps).sum(1) / np.where(denom > 0, denom, 1.0)
    return np.abs(np.where(denom > 0, rho, 0.0))


def walk_geometry(frames):
    """How each digit's decoded frames (N, S, H, W, C) change along the walk: for every
    feature of :func:`ink_geometry`, ``rho`` (N,), the |Spearman rho| of the step with the
    feature, and ``span`` (N,), the feature's range over the walk (max - min). The angle is
    unwrapped along the walk (period 180 degrees), so a turn past horizontal counts."""
    n, s = frames.shape[:2]
    geometry = ink_geometry(frames.reshape(n * s, *frames.shape[2:]))
    result = {}
    for name in FEATURES:
        value = geometry[name].reshape(n, s)
        if name == "angle":
            value = np.unwrap(value, period=180.0, axis=1)
        result[name] = {"rho": step_rho(value), "span": value.max(1) - value.min(1)}
    return result


def identity_kept(frame_classes, classes):
    """(N, S) booleans: whether each digit's frame (``frame_classes`` (N, S)) was given the
    class its original digit was given (``classes`` (N,))."""
    return np.asarray(frame_classes) == np.asarray(classes)[:, None]


def identity_summary(kept, suffix=""):
    """The class kept, from :func:`identity_kept`'s (N, S) booleans: ``identity_frames``
    (the fraction of frames that keep the class, which is also the mean of the per-digit
    fractions: every digit has as many frames), ``identity_every_frame`` (the fraction of
    digits that keep it in every frame) and ``identity_by_step`` (the fraction of digits
    that keep it at each step), each name followed by ``suffix``."""
    kept = np.asarray(kept, bool)
    return {
        f"identity_frames{suffix}": float(kept.mean()),
        f"identity_every_frame{suffix}": float(kept.all(1).mean()),
        f"identity_by_step{suffix}": kept.mean(0).tolist(),
    }


def summarize_walk(geometry, kept=None, robust_kept=None):
    """The numbers of one walk: per feature the median over digits of |rho| and of the span
    (:func:`walk_geometry`) and the fraction of digits whose |rho| reaches TARGET_RHO, and,
    given ``kept`` (:func:`identity_kept`), its :func:`identity_summary`; given
    ``robust_kept`` (the same by the rotation-robust classifier), its summary too, the names
    ending in ``_robust``."""
    result = {
        name: {
            "rho_median": float(np.median(g["rho"])),
            "span_median": float(np.median(g["span"])),
            "rho_share": float(np.mean(g["rho"] >= TARGET_RHO)),
        }
        for name, g in geometry.items()
    }
    if kept is not None:
        result.update(identity_summary(kept))
    if robust_kept is not None:
        result.update(identity_summary(robust_kept, "_robust"))
    return result


def verdict(parameter, summary):
    """Issue #22's target for a deformation unit walked in the main decoder: its own feature
    (OWN_FEATURE) follows the walk with median |rho| >= TARGET_RHO and the class is kept for
    >= TARGET_IDENTITY of frames. None for a content unit (no target)."""
    if parameter not in OWN_FEATURE:
        return None
    rho = summary[OWN_FEATURE[parameter]]["rho_median"]
    identity = summary["identity_frames"]
    return {
        "feature": OWN_FEATURE[parameter],
        "follows": rho >= TARGET_RHO,
        "identity": identity >= TARGET_IDENTITY,
        "met": rho >= TARGET_RHO and identity >= TARGET_IDENTITY,
    }


def pixel_classifier(images, labels, components=50, k=5):
    """A ``k``-NN classifier of flattened pixels in [0, 1], fitted on ``images``; with
    ``components`` > 0 the distances are taken on the training pixels' first principal
    components (less noise, 6x faster on MNIST). Returns a function images -> classes."""
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    steps = [PCA(components, random_state=0)] if components else []
    fitted = make_pipeline(*steps, KNeighborsClassifier(n_neighbors=k))
    fitted.fit(images.reshape(len(images), -1), labels)
    return lambda x: fitted.predict(np.asarray(x).reshape(len(x), -1))


# === The classifier's own limit under rotation (issue #22's identity miss) ===

# The fixed turns at which the classifiers are also read: -45 .. 45 degrees by 15.
CEILING_ANGLES = np.arange(-45.0, 46.0, 15.0)
# The rotation-robust classifier: the training digits plus one copy of each turned by an
# angle drawn uniformly in [-ROBUST_MAX_DEGREES, ROBUST_MAX_DEGREES] with ROBUST_SEED.
ROBUST_MAX_DEGREES = 45.0
ROBUST_SEED = 0
TURN_BATCH = 5000


def turn(images, degrees):
    """``images`` (N, H, W, C) each turned counter-clockwise (as displayed) by its own
    ``degrees`` (N,) about the centre (:func:`warp`, in batches of TURN_BATCH); a turn by
    ``a`` adds ``a`` to :func:`moment_orientation`."""
    images = np.asarray(images, np.float32)
    degrees = np.broadcast_to(np.asarray(degrees, np.float64), (len(images),))
    return np.concatenate(
        [
            warp(images[i : i + TURN_BATCH], angle=np.radians(degrees[i : i + TURN_BATCH]))
            for i in range(0, len(images), TURN_BATCH)
        ]
    )


def angle_change(after, before):
    """``after - before`` of principal-axis angles (degrees), wrapped into [-90, 90): an
    axis has no head, so 170 and -10 degrees are the same axis."""
    return (np.asarray(after) - np.asarray(before) + 90.0) % 180.0 - 90.0


def rotation_augmented(images, labels, max_degrees=ROBUST_MAX_DEGREES, seed=ROBUST_SEED):
    """The training set of the rotation-robust classifier: ``images`` followed by one copy
    of each turned by an angle drawn uniformly in [-max_degrees, max_degrees] (seeded).
    Returns (images, labels, the copies' angles in degrees)."""
    angles = np.random.default_rng(seed).uniform(-max_degrees, max_degrees, len(images))
    return (
        np.concatenate([np.asarray(images, np.float32), turn(images, angles)]),
        np.concatenate([labels, labels]),
        angles,
    )


def turned_kept(classify, images, classes, degrees):
    """(N, S) booleans: whether ``classify`` names ``classes`` (N,), the classes it names
    for the upright ``images`` (N, H, W, C), for each image turned by each of ``degrees``
    (N, S): the class a real digit keeps when it is turned as far as a frame turned."""
    degrees = np.asarray(degrees, np.float64)
    n, s = degrees.shape
    turned = turn(np.repeat(images, s, axis=0), degrees.reshape(-1))
    return identity_kept(classify(turned).reshape(n, s), classes)


def turn_check(images, degrees):
    """How well the principal-axis angle of real ``images`` follows a known turn: the
    median and 90th percentile over images of |measured change - ``degrees``| (wrapped),
    where the measured change is :func:`moment_orientation` after :func:`turn` minus
    before."""
    degrees = np.asarray(degrees, np.float64)
    measured = angle_change(moment_orientation(turn(images, degrees)), moment_orientation(images))
    error = np.abs(angle_change(measured, degrees))
    return {
        "median_abs_error": float(np.median(error)),
        "p90_abs_error": float(np.percentile(error, 90)),
        "mean_signed_error": float(np.mean(angle_change(measured, degrees))),
    }


def classifiers_when_turned(classifiers, images, labels, random_degrees):
    """Each classifier (name -> images -> classes) on real ``images`` with true ``labels``:
    its accuracy upright and with every image turned by its own ``random_degrees``, and at
    each of CEILING_ANGLES its accuracy and the class kept (the class it names for the
    upright digit)."""
    result = {}
    for name, classify in classifiers.items():
        upright = classify(images)
        at = {}
        for a in CEILING_ANGLES:
            named = classify(turn(images, np.full(len(images), a)))
            at[f"{a:g}"] = {
                "accuracy": float(np.mean(named == labels)),
                "kept": float(np.mean(named == upright)),
            }
        result[name] = {
            "accuracy_upright": float(np.mean(upright == labels)),
            "accuracy_random_turn": float(
                np.mean(classify(turn(images, random_degrees)) == labels)
            ),
            "angles": at,
        }
    return result


def renderer(model, decoder, batch_size=1000):
    """A numpy function codes -> images through ``model.decoders()[decoder]``, compiled once
    and called on batches of ``batch_size`` (the last one padded)."""
    import tensorflow as tf

    render = tf.function(model.decoders()[decoder], reduce_retracing=True)

    def run(codes):
        codes = np.asarray(codes, np.float32)
        out = []
        for start in range(0, len(codes), batch_size):
            chunk = codes[start : start + batch_size]
            padded = np.pad(chunk, ((0, batch_size - len(chunk)), (0, 0)))
            out.append(render(tf.constant(padded)).numpy()[: len(chunk)])
        return np.concatenate(out)

    return run


def walk_codes(codes, unit, values):
    """(N, S, latent_dim): each code (N, latent_dim) with ``unit`` set to each of ``values``
    (S,), as :meth:`VAE.traverse` sets it."""
    walked = np.repeat(np.asarray(codes, np.float32)[:, None], len(values), axis=1)
    walked[:, :, unit] = values
    return walked


def traversal_measures(model, images, classify, walks, robust=None):
    """Walks every unit of ``model`` from each of ``images``' posterior means and measures
    the decoded frames (:func:`walk_geometry`, :func:`identity_kept`).

    ``classify`` maps images to classes (the issue's classifier); ``robust``, if given, is
    a second one (the rotation-robust classifier) whose class kept is reported beside it;
    ``walks`` maps a name to the values (latent_dim, S) each unit takes. Returns the
    classifiers' agreement between the images and their reconstructions, and per walk and
    unit the summary (:func:`summarize_walk`) of the main decoder's frames, of the
    sub-decoder's (geometry only, when the model has one) and the target's
    :func:`verdict`; for the angle unit also the ``ceiling`` along the walk
    (:func:`walk_ceiling`)."""
    codes = model.representation_function()(images)
    render = {name: renderer(model, name) for name in model.decoders()}
    classifiers = {"issue": classify, **({"robust": robust} if robust else {})}
    classes = {name: c(images) for name, c in classifiers.items()}
    reconstructions = render["main"](codes)
    shape = images.shape[1:]
    params = list(getattr(model, "parameter_names", ()))
    names = unit_names(model)
    result = {
        "digits": len(images),
        "reconstruction_identity": float(np.mean(classify(reconstructions) == classes["issue"])),
        "walks": {},
    }
    if robust:
        result["reconstruction_identity_robust"] = float(
            np.mean(robust(reconstructions) == classes["robust"])
        )
    for walk, values in walks.items():
        units = {}
        for unit in range(model.latent_dim):
            walked = walk_codes(codes, unit, values[unit])
            flat = walked.reshape(-1, model.latent_dim)
            frames = render["main"](flat).reshape(*walked.shape[:2], *shape)
            kept = {
                name: identity_kept(
                    c(frames.reshape(-1, *shape)).reshape(walked.shape[:2]), classes[name]
                )
                for name, c in classifiers.items()
            }
            main = summarize_walk(walk_geometry(frames), kept["issue"], kept.get("robust"))
            parameter = params[unit] if unit < len(params) else "content"
            units[names[unit]] = {
                "parameter": parameter,
                "values": np.asarray(values[unit]).tolist(),
                "main": main,
                "verdict": verdict(parameter, main),
            }
            if parameter == "angle":
                units[names[unit]]["ceiling"] = walk_ceiling(
                    images, reconstructions, frames, classifiers, classes, kept
                )
            if "sub" in render:
                sub = render["sub"](flat).reshape(frames.shape)
                units[names[unit]]["sub"] = summarize_walk(walk_geometry(sub))
        result["walks"][walk] = units
    return result


def walk_ceiling(images, reconstructions, frames, classifiers, classes, kept):
    """The classifier's own limit along a walk: each real digit of ``images`` (N, H, W, C)
    turned, at every step, by the angle its frame (``frames`` (N, S, H, W, C)) turned
    relative to its plain ``reconstruction`` (principal-axis angles, :func:`angle_change`),
    and each of ``classifiers`` asked whether it still names ``classes[name]``. Returns the
    turn per step (median over digits, the median and 90th percentile of |turn| and the
    fraction of turns beyond ROBUST_MAX_DEGREES), :func:`turn_check` on those
    turns, and per classifier the summaries of the turned real digits (``turned``), of the
    plain reconstructions turned as far (``turned_reconstructions``: what a decoder that
    turned its reconstruction rigidly would keep) and, for comparison, of the frames
    (``frames``, from ``kept``); every class is compared with the classifier's class for
    the original digit."""
    n, s = frames.shape[:2]
    turns = angle_change(
        moment_orientation(frames.reshape(n * s, *frames.shape[2:])).reshape(n, s),
        moment_orientation(reconstructions)[:, None],
    )
    result = {
        "turn_by_step_median": np.median(turns, 0).tolist(),
        "turn_abs_by_step_median": np.median(np.abs(turns), 0).tolist(),
        "turn_abs_by_step_p90": np.percentile(np.abs(turns), 90, axis=0).tolist(),
        "turn_beyond_robust_by_step": np.mean(np.abs(turns) > ROBUST_MAX_DEGREES, 0).tolist(),
        "turn_check": turn_check(np.repeat(images, s, axis=0), turns.reshape(-1)),
    }
    for name, classify in classifiers.items():
        result[name] = {
            "turned": identity_summary(turned_kept(classify, images, classes[name], turns)),
            "turned_reconstructions": identity_summary(
                turned_kept(classify, reconstructions, classes[name], turns)
            ),
            "frames": identity_summary(kept[name]),
        }
    return result


def walk_figure(model, images, unit, values):
    """One row per image: ``unit`` walked over ``values`` from its posterior mean, the main
    decoder left and the sub-decoder right."""
    from keras_gvae.visualization import labelled_panel, side_by_side

    codes = walk_codes(model.representation_function()(images), unit, values)
    flat = codes.reshape(-1, model.latent_dim)
    title = f"{unit_names(model)[unit]} = {values[0]:+.1f} .. {values[-1]:+.1f}"
    panels = [
        labelled_panel(
            renderer(model, name)(flat).reshape(*codes.shape[:2], *images.shape[1:]),
            title=f"{name} decoder, {title}",
            zoom=2,
        )
        for name in model.decoders()
    ]
    return side_by_side(panels)


def walk_ranges(model, train_images):
    """The two walks: "prior", every unit over WALK_VALUES (`model.traverse`'s range), and
    "data", each unit over its WALK_PERCENTILES of posterior means on ``train_images``."""
    steps = len(WALK_VALUES)
    codes = model.representation_function()(train_images)
    low, high = np.percentile(codes, WALK_PERCENTILES, axis=0)
    return {
        "prior": np.tile(WALK_VALUES, (model.latent_dim, 1)),
        "data": np.linspace(low, high, steps, axis=1),
    }


def traversal_lines(measures, knn):
    """The markdown of :func:`traversal_measures`: per walk, the target table and every
    feature of the main decoder and the class kept at each step."""
    pixels = f"the first {knn['components']} principal components of " if knn["components"] else ""
    lines = [
        "### Traversals of the main decoder",
        "",
        f"The first {measures['digits']} test digits: from each one's posterior mean, one unit "
        f"at a time takes {len(WALK_VALUES)} values (the other units stay at the digit's "
        "mean) and both decoders draw the frames. Geometry from each frame's pixel moments; "
        "the cells are medians over digits of |Spearman rho| between the step and the "
        "feature, with the feature's median span over the walk (degrees, pixels), and the "
        f"fraction of digits whose |rho| reaches {TARGET_RHO}. Identity: a {knn['k']}-NN "
        f"classifier of pixels ({pixels}{knn['train_digits']} training digits; "
        f"{100 * knn['test_accuracy']:.1f}% right on these test digits) names the original "
        "digit's class for the frame; it names the same class for a digit and its plain "
        f"reconstruction (no walk) for {100 * measures['reconstruction_identity']:.1f}% of "
        "digits, the ceiling of the identity kept. Targets (issue #22): the angle "
        f"unit turns the digit (|rho| >= {TARGET_RHO}) and every deformation unit moves or "
        f"grows its digit (|rho| >= {TARGET_RHO} with its own feature), keeping the class "
        f"for >= {100 * TARGET_IDENTITY:.0f}% of frames.",
        "",
    ]
    robust = "turned" in knn and "robust" in knn["turned"]
    if robust:
        lines += rotation_lines(measures, knn)
    titles = {
        "prior": f"walk over [{WALK_VALUES[0]}, {WALK_VALUES[-1]}] (`model.traverse`'s range)",
        "data": f"walk over percentiles {WALK_PERCENTILES[0]:g} to {WALK_PERCENTILES[1]:g} of "
        f"each unit's posterior means ({min(RANGE_DIGITS, knn['train_digits'])} training "
        "digits)",
    }
    for walk, units in measures["walks"].items():
        lines += [
            f"#### {titles.get(walk, walk)}",
            "",
            f"| unit | range | feature | main decoder | digits at >= {TARGET_RHO} | sub-decoder "
            "| class kept (frames) | digits keeping it in every frame | target |"
            + (" class kept, rotation-robust k-NN (frames / every frame) |" if robust else ""),
            "|---|---|---|---:|---:|---:|---:|---:|---|" + ("---:|" if robust else ""),
        ]
        for name, u in units.items():
            values = u["values"]
            feature = u["verdict"]["feature"] if u["verdict"] else None

            def cell(summary, feature=feature):
                if summary is None or feature is None:
                    return "-"
                f = summary[feature]
                return f"{f['rho_median']:.2f} ({f['span_median']:.1f})"

            v = u["verdict"]
            share = f"{100 * u['main'][feature]['rho_share']:.0f}%" if feature else "-"
            target = "-"
            if v is not None:
                verb = {"angle": "turns", "x": "moves", "y": "moves"}.get(feature, "grows")
                missed = [f"{verb} < {TARGET_RHO}"] if not v["follows"] else []
                missed += [f"class < {100 * TARGET_IDENTITY:.0f}%"] if not v["identity"] else []
                target = "met" if v["met"] else "missed: " + ", ".join(missed)
            lines.append(
                f"| {name} | {values[0]:+.2f} .. {values[-1]:+.2f} | {feature or '-'} "
                f"| {cell(u['main'])} | {share} | {cell(u.get('sub'))} "
                f"| {100 * u['main']['identity_frames']:.1f}% "
                f"| {100 * u['main']['identity_every_frame']:.1f}% | {target} |"
                + (
                    f" {100 * u['main']['identity_frames_robust']:.1f}% / "
                    f"{100 * u['main']['identity_every_frame_robust']:.1f}% |"
                    if robust
                    else ""
                )
            )
        lines += [
            "",
            "Every feature of the main decoder's frames, median |rho| (median span):",
            "",
            "| unit | " + " | ".join(FEATURES) + " |",
            "|---|" + "---:|" * len(FEATURES),
        ]
        lines += [
            f"| {name} | "
            + " | ".join(
                f"{u['main'][f]['rho_median']:.2f} ({u['main'][f]['span_median']:.1f})"
                for f in FEATURES
            )
            + " |"
            for name, u in units.items()
        ]
        lines += _by_step_lines(
            "The class kept at each step of the walk (fraction of digits):",
            units,
            "identity_by_step",
        )
        if robust:
            lines += _by_step_lines(
                "The same by the rotation-robust classifier (its class for the frame against "
                "its class for the original digit):",
                units,
                "identity_by_step_robust",
            )
        for name, u in units.items():
            if "ceiling" in u:
                lines += ["", *walk_ceiling_lines(name, u["ceiling"])]
        lines.append("")
    return lines


def _by_step_lines(title, units, key):
    """A markdown table of ``units``' class kept (``u["main"][key]``) at each walk step."""
    steps = len(next(iter(units.values()))["values"])
    return [
        "",
        title,
        "",
        "| unit | " + " | ".join(str(i) for i in range(steps)) + " |",
        "|---|" + "---:|" * steps,
        *(
            f"| {name} | " + " | ".join(f"{100 * k:.0f}%" for k in u["main"][key]) + " |"
            for name, u in units.items()
        ),
    ]


def rotation_lines(measures, knn):
    """The markdown of the rotation-robust classifier and of both classifiers on real test
    digits turned by known angles (:func:`classifiers_when_turned`)."""
    r, turned = knn["robust"], knn["turned"]
    issue, robust = turned["issue"], turned["robust"]
    lines = [
        "#### The classifiers on turned real digits",
        "",
        "A frame turned by the walk is read by a classifier fitted on upright digits, which "
        "may misname a real digit turned as far. Beside the issue's classifier "
        f'("issue k-NN"), a rotation-robust one ("robust k-NN"): the same {knn["k"]}-NN, '
        f"fitted on the {knn['train_digits']} training digits plus a copy of each turned by "
        f"an angle drawn uniformly in [-{r['max_degrees']:g}, {r['max_degrees']:g}] degrees "
        f"(numpy seed {r['seed']}; {r['train_digits']} digits in all). Both read "
        f"these {measures['digits']} real test digits upright "
        f"(issue {100 * issue['accuracy_upright']:.1f}%, robust "
        f"{100 * robust['accuracy_upright']:.1f}% right), each turned by its own random angle "
        f"in [-{MAX_ANGLE_DEGREES:g}, {MAX_ANGLE_DEGREES:g}] (issue "
        f"{100 * issue['accuracy_random_turn']:.1f}%, robust "
        f"{100 * robust['accuracy_random_turn']:.1f}%) and all turned by one angle "
        '(counter-clockwise positive); "kept" is the classifier\'s class for the upright '
        "digit, which is what the walk's class kept is measured against. The robust "
        "classifier names the same class for a digit and its plain reconstruction for "
        f"{100 * measures.get('reconstruction_identity_robust', float('nan')):.1f}% of "
        "digits.",
        "",
        "| turn (deg) | issue k-NN: kept | issue k-NN: right | robust k-NN: kept "
        "| robust k-NN: right |",
        "|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {a:+g} | {100 * issue['angles'][f'{a:g}']['kept']:.1f}% "
        f"| {100 * issue['angles'][f'{a:g}']['accuracy']:.1f}% "
        f"| {100 * robust['angles'][f'{a:g}']['kept']:.1f}% "
        f"| {100 * robust['angles'][f'{a:g}']['accuracy']:.1f}% |"
        for a in CEILING_ANGLES
    ]
    lines.append("")
    return lines


def walk_ceiling_lines(name, ceiling):
    """The markdown of :func:`walk_ceiling` for the unit ``name``."""
    check = ceiling["turn_check"]
    steps = len(ceiling["turn_by_step_median"])
    classifiers = [c for c in ("issue", "robust") if c in ceiling]
    lines = [
        f"The classifier's ceiling along {name}'s walk: at every step each real test digit is "
        "turned by the angle its frame turned relative to the digit's plain reconstruction "
        "(principal-axis angles, frame minus reconstruction) and the classifier is asked "
        'again. "Frames" is the class kept by the walk\'s frames, "turned digits" by the '
        'real digits turned as far and "turned recon." by the plain reconstructions turned '
        "as far (a decoder that turned its digit rigidly): where frames and turned digits "
        "agree, the classifier, not the decoder, loses the class. Check of the turn: the "
        "real digits' principal axis, measured after "
        f"the turn, moved by the turn within {check['median_abs_error']:.1f} degrees "
        f"(median; 90th percentile {check['p90_abs_error']:.1f}, mean signed "
        f"{check['mean_signed_error']:+.2f}).",
        "",
        "| step | turn (deg, median) | abs. turn (median / 90th pct) "
        f"| beyond {ROBUST_MAX_DEGREES:g} deg | "
        + " | ".join(
            f"{c} k-NN: frames | {c} k-NN: turned digits | {c} k-NN: turned recon."
            for c in classifiers
        )
        + " |",
        "|---:|---:|---:|---:|" + "---:|---:|---:|" * len(classifiers),
    ]
    columns = ("frames", "turned", "turned_reconstructions")
    for i in range(steps):
        lines.append(
            f"| {i} | {ceiling['turn_by_step_median'][i]:+.1f} "
            f"| {ceiling['turn_abs_by_step_median'][i]:.1f} / "
            f"{ceiling['turn_abs_by_step_p90'][i]:.1f} "
            f"| {100 * ceiling['turn_beyond_robust_by_step'][i]:.0f}% | "
            + " | ".join(
                f"{100 * ceiling[c][k]['identity_by_step'][i]:.1f}%"
                for c in classifiers
                for k in columns
            )
            + " |"
        )
    lines.append(
        "| all | | | | "
        + " | ".join(
            f"{100 * ceiling[c][k]['identity_frames']:.1f}%" for c in classifiers for k in columns
        )
        + " |"
    )
    lines.append(
        "| every frame | | | | "
        + " | ".join(
            f"{100 * ceiling[c][k]['identity_every_frame']:.1f}%"
            for c in classifiers
            for k in columns
        )
        + " |"
    )
    return lines


def main(argv=None):
    from keras_gvae.saving import load_model
    from keras_gvae.visualization import save_png, traversal_figure

    args = parse_args(argv)
    out = Path(args.out)
    images, labels = test_digits(args.data_dir, args.test_digits)
    walked = images[: args.walk_digits]
    if len(walked):
        train_images, train_labels = test_digits(args.data_dir, args.knn_train, split="train")
        classify = pixel_classifier(train_images, train_labels, args.knn_components)
        robust_images, robust_labels, _ = rotation_augmented(train_images, train_labels)
        robust = pixel_classifier(robust_images, robust_labels, args.knn_components)
        del robust_images
        knn = {
            "k": 5,
            "components": args.knn_components,
            "train_digits": len(train_images),
            "test_accuracy": float(np.mean(classify(walked) == labels[: len(walked)])),
            "robust": {
                "train_digits": len(robust_labels),
                "max_degrees": ROBUST_MAX_DEGREES,
                "seed": ROBUST_SEED,
            },
        }
    runs = []
    if args.model:
        models = [(args.model, None, load_model(args.model, compile=False), None)]
    else:
        models = []
        for seed in args.seeds:
            kwargs = {k: json.loads(v) for k, _, v in (a.partition("=") for a in args.model_arg)}
            label = args.label or args.preset
            config = Spec(label, "guided", preset=args.preset, model_kwargs=kwargs).config(
                seed,
                dataset="mnist",
                data_dir=args.data_dir,
                **budget(args),
                **({} if args.learning_rate is None else {"learning_rate": args.learning_rate}),
            )
            model, seconds = train_model(config)
            models.append((label, seed, model, seconds))
    lines = [
        "# Geometry of the latent units on real MNIST test digits",
        "",
        f"`python examples/mnist_geometry.py {' '.join(argv or sys.argv[1:])}`",
        "",
        f"{args.test_digits} test digits, each rotated by a known angle in "
        f"[-{MAX_ANGLE_DEGREES:.0f}, {MAX_ANGLE_DEGREES:.0f}] degrees (and, separately, "
        f"rescaled by a known factor in [{SCALE_RANGE[0]}, {SCALE_RANGE[1]}]); |Spearman rho| "
        "of every unit's posterior mean with the applied amount.",
        "",
    ]
    for name, seed, model, seconds in models:
        rho = probe(model, images)
        units = unit_names(model)
        params = list(getattr(model, "parameter_names", ()))
        row = {
            "model": name,
            "seed": seed,
            "train_seconds": seconds,
            "units": units,
            "rho_angle": rho["angle"].tolist(),
            "rho_scale": rho["scale"].tolist(),
        }
        for what in ("angle", "scale"):
            best = int(np.argmax(rho[what]))
            others = np.delete(rho[what], best)
            row[f"best_unit_{what}"] = units[best]
            row[f"best_rho_{what}"] = float(rho[what][best])
            row[f"max_other_rho_{what}"] = float(others.max())
        if "angle" in params:
            row["rotation_unit_rho"] = float(rho["angle"][params.index("angle")])
        angle_unit = params.index("angle") if "angle" in params else int(np.argmax(rho["angle"]))
        ceiling = orientation_ceiling(model, images, labels, angle_unit, rho)
        row["orientation_ceiling"] = ceiling
        runs.append(row)
        print(dump(row), flush=True)
        lines += [
            f"## {name}"
            + (f", seed {seed}" if seed is not None else "")
            + (f" ({seconds:.0f} s of training)" if seconds else ""),
            "",
            "| unit | rho(angle) | rho(scale) |",
            "|---|---:|---:|",
        ]
        lines += [
            f"| {u} | {a:.2f} | {s:.2f} |"
            for u, a, s in zip(units, rho["angle"], rho["scale"], strict=True)
        ]
        lines += [
            "",
            f"Best angle unit {row['best_unit_angle']} ({row['best_rho_angle']:.2f}; "
            f"largest other {row['max_other_rho_angle']:.2f}); best scale unit "
            f"{row['best_unit_scale']} ({row['best_rho_scale']:.2f}).",
            "",
            f"The ceiling: |rho| with the applied angle of the angle unit {units[angle_unit]} and "
            "of the rotated digit's own orientation (pixel moments), which is the applied angle "
            "plus the digit's natural slant:",
            "",
            "| digits | n | natural slant std (deg) | angle unit | pixel orientation |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {key} | {c['n']} | {c['natural_slant_std']:.1f} | {c['unit']:.2f} "
            f"| {c['pixels']:.2f} |"
            for key, c in ceiling.items()
            if isinstance(c, dict)
        ]
        lines += [
            "",
            f"One digit at a time, turned through {len(PER_DIGIT_ANGLES)} angles in "
            f"[-{MAX_ANGLE_DEGREES:.0f}, {MAX_ANGLE_DEGREES:.0f}]: the angle unit's median |rho| "
            f"{ceiling['per_digit_median']:.2f} over {min(200, len(images))} digits "
            f"({100 * ceiling['per_digit_fraction_above_0.8']:.0f}% of them at 0.8 or more).",
            "",
        ]
        if len(walked):
            walks = walk_ranges(model, train_images[:RANGE_DIGITS])
            knn["turned"] = knn.get("turned") or classifiers_when_turned(
                {"issue": classify, "robust": robust},
                walked,
                labels[: len(walked)],
                rho["angles"][: len(walked)],
            )
            measures = traversal_measures(model, walked, classify, walks, robust)
            row["traversal"] = {"classifier": knn, **measures}
            print(dump(row["traversal"]), flush=True)
            lines += traversal_lines(measures, knn)
        if seed in (None, args.seeds[0]):
            panels = traversal_figure(model, x=images[:1])
            save_png(panels, out / "traversal.png")
            for unit, parameter in enumerate(params if len(walked) else ()):
                save_png(
                    walk_figure(model, walked[:8], unit, WALK_VALUES),
                    out / f"walk_{parameter}.png",
                )
    write_outputs(out, "mnist_geometry", "\n".join(lines), {"args": vars(args), "runs": runs})
    print("\n".join(lines))


if __name__ == "__main__":
    main()
