"""Known answers for examples/mnist_geometry.py's traversal measures (issue #22): does the
decoded digit turn, move or grow along a walk, and does it keep its class."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SIZE = 28


@pytest.fixture(scope="module")
def geometry():
    sys.path.insert(0, str(EXAMPLES))  # the script imports examples/common.py
    spec = importlib.util.spec_from_file_location(
        "example_mnist_geometry", EXAMPLES / "mnist_geometry.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bar(degrees=0.0, height=20.0, width=2.0, supersample=4):
    """A bar through the centre, turned counter-clockwise (as displayed) by ``degrees`` from
    vertical, drawn by averaging ``supersample``^2 points per pixel."""
    fine = (np.arange(SIZE * supersample) + 0.5) / supersample - SIZE / 2
    y, x = np.meshgrid(fine, fine, indexing="ij")  # y grows downwards, as rows do
    a = np.radians(degrees)
    along = -x * np.sin(a) - y * np.cos(a)  # towards the bar's top end
    across = x * np.cos(a) - y * np.sin(a)
    ink = (np.abs(along) <= height / 2) & (np.abs(across) <= width / 2)
    return ink.reshape(SIZE, supersample, SIZE, supersample).mean((1, 3))[..., None]


def blob(cx=13.5, cy=13.5, sigma=2.0):
    y, x = np.mgrid[:SIZE, :SIZE].astype(np.float32)
    return np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2))[..., None]


def test_step_rho_is_one_for_a_monotone_walk_and_zero_for_a_still_one(geometry):
    rows = np.array([np.arange(9.0) ** 3, -np.exp(np.arange(9.0)), np.full(9, 2.0)])
    np.testing.assert_allclose(geometry.step_rho(rows), [1.0, 1.0, 0.0])
    v_shape = np.abs(np.arange(9.0) - 4)  # down then up: no monotone trend
    assert geometry.step_rho(v_shape[None])[0] == pytest.approx(0.0)


def test_a_bar_turned_by_known_angles_turns(geometry):
    """A bar turned by 9 known angles: the principal-axis angle follows the step exactly
    (|rho| 1) and spans the turn (80 degrees)."""
    frames = np.stack([bar(a) for a in np.linspace(-40.0, 40.0, 9)])
    np.testing.assert_allclose(geometry.moment_orientation(frames[[0, 4]]), [-40, 0], atol=0.5)
    walk = geometry.walk_geometry(frames[None])
    assert walk["angle"]["rho"][0] == pytest.approx(1.0)
    assert walk["angle"]["span"][0] == pytest.approx(80.0, abs=1.0)


def test_a_turn_past_horizontal_is_unwrapped(geometry):
    """From 50 to 130 degrees the axis crosses horizontal (+-90, where the moment angle
    wraps); unwrapped along the walk it still turns monotonically by 80 degrees."""
    frames = np.stack([bar(a) for a in np.linspace(50.0, 130.0, 9)])
    raw = geometry.moment_orientation(frames)
    assert raw.max() - raw.min() > 150  # wrapped: jumps from ~+90 to ~-90
    walk = geometry.walk_geometry(frames[None])
    assert walk["angle"]["rho"][0] == pytest.approx(1.0)
    assert walk["angle"]["span"][0] == pytest.approx(80.0, abs=1.0)


def test_a_translated_blob_moves_along_x_only(geometry):
    frames = np.stack([blob(cx=cx) for cx in np.linspace(9.0, 18.0, 9)])
    walk = geometry.walk_geometry(frames[None])
    assert walk["x"]["rho"][0] == pytest.approx(1.0)
    assert walk["x"]["span"][0] == pytest.approx(9.0, abs=1e-3)
    assert walk["y"]["span"][0] < 1e-3 and walk["size"]["span"][0] < 1e-3


def test_a_growing_blob_grows(geometry):
    frames = np.stack([blob(sigma=s) for s in np.linspace(1.0, 3.0, 9)])
    walk = geometry.walk_geometry(frames[None])
    for feature in ("width", "height", "size", "ink"):
        assert walk[feature]["rho"][0] == pytest.approx(1.0), feature
    assert walk["size"]["span"][0] == pytest.approx(np.sqrt(2) * 2.0, abs=0.01)
    assert walk["x"]["span"][0] < 1e-3


def test_identical_frames_keep_their_identity_and_follow_nothing(geometry):
    frames = np.repeat(blob()[None, None], 9, axis=1)  # one digit, 9 identical frames
    walk = geometry.walk_geometry(frames)
    kept = geometry.identity_kept(np.full((1, 9), 3), np.array([3]))
    summary = geometry.summarize_walk(walk, kept)
    assert summary["identity_frames"] == 1.0 and summary["identity_every_frame"] == 1.0
    assert all(summary[f]["rho_median"] == 0.0 for f in geometry.FEATURES)


def test_identity_counts_frames_digits_and_steps(geometry):
    frame_classes = np.array([[6, 6, 6, 6], [6, 9, 9, 7]])
    kept = geometry.identity_kept(frame_classes, np.array([6, 6]))
    walk = geometry.walk_geometry(np.repeat(blob()[None, None], 4, axis=1).repeat(2, 0))
    summary = geometry.summarize_walk(walk, kept)
    assert summary["identity_frames"] == pytest.approx(5 / 8)
    assert summary["identity_every_frame"] == pytest.approx(1 / 2)
    assert summary["identity_by_step"] == [1.0, 0.5, 0.5, 0.5]


def test_verdict_needs_both_the_motion_and_the_class(geometry):
    def summary(rho, identity):
        return {"x": {"rho_median": rho}, "identity_frames": identity}

    assert geometry.verdict("translate_x", summary(0.95, 0.97))["met"]
    assert not geometry.verdict("translate_x", summary(0.95, 0.80))["met"]
    assert not geometry.verdict("translate_x", summary(0.50, 0.99))["met"]
    assert geometry.verdict("content", summary(0.0, 0.0)) is None


def test_walk_codes_set_one_unit_and_keep_the_others(geometry):
    codes = np.array([[0.1, 0.2, 0.3], [1.0, 2.0, 3.0]])
    walked = geometry.walk_codes(codes, 1, np.array([-1.0, 0.0, 1.0]))
    assert walked.shape == (2, 3, 3)
    np.testing.assert_array_equal(walked[:, :, 1], [[-1, 0, 1], [-1, 0, 1]])
    np.testing.assert_allclose(walked[1, :, 2], 3.0)


def test_pixel_classifier_names_bars_and_blobs(geometry):
    images = np.stack([bar(), blob(), bar(10.0), blob(sigma=3.0)])
    classify = geometry.pixel_classifier(images, np.array([1, 0, 1, 0]), components=0, k=1)
    np.testing.assert_array_equal(classify(np.stack([bar(5.0), blob(sigma=2.5)])), [1, 0])


# === The classifier's ceiling under rotation ===


def test_turn_adds_its_angle_to_the_principal_axis(geometry):
    """turn() by +a (counter-clockwise as displayed) moves the measured principal-axis angle
    by +a: a vertical bar turned by 30 reads 30, one drawn at -20 and turned by 35 reads 15."""
    bars = np.stack([bar(0.0), bar(-20.0), bar(10.0)]).astype(np.float32)
    turned = geometry.turn(bars, np.array([30.0, 35.0, -40.0]))
    np.testing.assert_allclose(geometry.moment_orientation(turned), [30, 15, -30], atol=1.0)
    change = geometry.angle_change(
        geometry.moment_orientation(turned), geometry.moment_orientation(bars)
    )
    np.testing.assert_allclose(change, [30, 35, -40], atol=1.0)
    check = geometry.turn_check(bars, np.array([30.0, 35.0, -40.0]))
    assert check["median_abs_error"] < 1.0 and abs(check["mean_signed_error"]) < 1.0


def test_angle_change_wraps_an_axis_into_a_half_turn(geometry):
    np.testing.assert_allclose(
        geometry.angle_change(np.array([85.0, -85.0, 10.0, 170.0]), np.array([-85.0, 85.0, 0, 0])),
        [-10.0, 10.0, 10.0, -10.0],
    )


def test_turned_kept_is_whole_for_a_classifier_that_ignores_rotation(geometry):
    """A classifier by the amount of ink (a turn keeps it) keeps every turned bar's class;
    one by the sign of the lean keeps it only while the turn does not flip the sign."""
    bars = np.stack([bar(10.0, height=16.0), bar(-10.0, height=16.0)]).astype(np.float32)
    degrees = np.array([[-30.0, 0.0, 30.0], [-30.0, 0.0, 30.0]])

    def by_ink(x):
        return (x.reshape(len(x), -1).sum(1) > 0).astype(int)

    kept = geometry.turned_kept(by_ink, bars, by_ink(bars), degrees)
    assert kept.all() and geometry.identity_summary(kept)["identity_frames"] == 1.0

    def by_lean(x):
        return (geometry.moment_orientation(x) > 0).astype(int)

    kept = geometry.turned_kept(by_lean, bars, by_lean(bars), degrees)
    np.testing.assert_array_equal(kept, [[False, True, True], [True, True, False]])


def test_rotation_augmented_adds_one_turned_copy_of_each(geometry):
    bars = np.stack([bar(0.0, height=16.0)] * 4).astype(np.float32)
    images, labels, angles = geometry.rotation_augmented(bars, np.arange(4), max_degrees=45.0)
    assert images.shape == (8, SIZE, SIZE, 1) and labels.tolist() == [0, 1, 2, 3] * 2
    np.testing.assert_array_equal(images[:4], bars)
    assert np.all(np.abs(angles) <= 45.0) and np.ptp(angles) > 1.0
    np.testing.assert_allclose(geometry.moment_orientation(images[4:]), angles, atol=1.0)
    again = geometry.rotation_augmented(bars, np.arange(4), max_degrees=45.0)[2]
    np.testing.assert_array_equal(angles, again)  # seeded


def test_classifiers_when_turned_reports_every_fixed_angle(geometry):
    bars = np.stack([bar(0.0, height=16.0), bar(5.0, height=16.0)]).astype(np.float32)

    def ones(x):
        return np.ones(len(x), int)

    report = geometry.classifiers_when_turned(
        {"constant": ones}, bars, np.array([1, 0]), np.array([20.0, -20.0])
    )["constant"]
    assert report["accuracy_upright"] == 0.5 and report["accuracy_random_turn"] == 0.5
    assert sorted(report["angles"], key=float) == [f"{a:g}" for a in geometry.CEILING_ANGLES]
    assert all(v == {"accuracy": 0.5, "kept": 1.0} for v in report["angles"].values())


def test_walk_ceiling_of_frames_that_are_the_turned_digits_matches_them(geometry):
    """Frames that are the real images turned by known angles: the ceiling reads those
    angles back as the turn, and the turned digits keep the class exactly as the frames do."""
    images = np.stack([bar(10.0, height=16.0), bar(-10.0, height=16.0)]).astype(np.float32)
    degrees = np.array([[-30.0, 0.0, 30.0], [-30.0, 0.0, 30.0]])
    frames = geometry.turn(np.repeat(images, 3, axis=0), degrees.reshape(-1)).reshape(
        2, 3, SIZE, SIZE, 1
    )

    def by_lean(x):
        return (geometry.moment_orientation(x) > 0).astype(int)

    classes = {"issue": by_lean(images)}
    named = by_lean(frames.reshape(-1, SIZE, SIZE, 1)).reshape(2, 3)
    kept = {"issue": geometry.identity_kept(named, classes["issue"])}
    ceiling = geometry.walk_ceiling(images, images, frames, {"issue": by_lean}, classes, kept)
    np.testing.assert_allclose(ceiling["turn_by_step_median"], [-30, 0, 30], atol=1.0)
    assert ceiling["turn_check"]["median_abs_error"] < 1.0
    assert ceiling["turn_beyond_robust_by_step"] == [0.0, 0.0, 0.0]
    assert ceiling["issue"]["turned"] == ceiling["issue"]["frames"]
    assert ceiling["issue"]["turned_reconstructions"] == ceiling["issue"]["frames"]
    assert len(geometry.walk_ceiling_lines("z2 (angle)", ceiling)) == 2 + 2 + 3 + 2
    assert ceiling["issue"]["frames"]["identity_by_step"] == [0.5, 1.0, 0.5]
