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
