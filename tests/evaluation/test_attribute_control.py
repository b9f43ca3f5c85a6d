import numpy as np
import pytest

from keras_gvae.evaluation.attribute_control import (
    attribute_control_report,
    control_rate,
    excitation_accuracy,
    leakage,
    train_judge,
    unit_sweep_values,
)


def codes_with(y, leak_into=None, seed=0):
    """Unit 0 carries the label (+-2), units 1-3 are noise; optionally copy it into one more."""
    rng = np.random.default_rng(seed)
    codes = rng.normal(size=(len(y), 4))
    codes[:, 0] = np.where(y[:, 0] > 0, 2.0, -2.0) + 0.1 * rng.normal(size=len(y))
    if leak_into is not None:
        codes[:, leak_into] = codes[:, 0]
    return codes


def labels(n, seed=0):
    return (np.random.default_rng(seed).random((n, 1)) > 0.5).astype(np.float64)


def test_excitation_accuracy_reads_the_unit_alone():
    y, yt = labels(400), labels(200, 1)
    assert excitation_accuracy(codes_with(y), y, codes_with(yt, seed=1), yt, [0]) == [1.0]
    # A noise unit predicts nothing.
    assert (
        abs(excitation_accuracy(codes_with(y), y, codes_with(yt, seed=1), yt, [2])[0] - 0.5) < 0.12
    )


def test_leakage_is_at_majority_only_when_the_rest_is_clean():
    y, yt = labels(600), labels(300, 1)
    clean = leakage(codes_with(y), y, codes_with(yt, seed=1), yt, [0])[0]
    majority = max(yt.mean(), 1 - yt.mean())
    assert clean["majority_rate"] == pytest.approx(majority)
    assert clean["accuracy"] < majority + 0.1
    leaky = leakage(codes_with(y, leak_into=3), y, codes_with(yt, leak_into=3, seed=1), yt, [0])[0]
    assert leaky["accuracy"] >= 0.95  # a copy of the label in unit 3 is found
    assert leaky["excess"] == pytest.approx(leaky["accuracy"] - majority)
    # Binomial standard error of an accuracy on len(yt) test labels.
    for result in (clean, leaky):
        a = result["accuracy"]
        assert result["stderr"] == pytest.approx(np.sqrt(a * (1 - a) / len(yt)))
    assert clean["stderr"] > 0.02  # near chance on 300 labels: ~0.029


def test_missing_labels_are_dropped_and_sweeps_are_class_means():
    codes = np.array([[1.0, 0], [3.0, 0], [-2.0, 0], [100.0, 0]])
    y = np.array([[1], [1], [0], [np.nan]])
    assert unit_sweep_values(codes, y, [0]) == [(-2.0, 2.0)]
    with pytest.raises(ValueError, match="one code index per label column"):
        unit_sweep_values(codes, y, [0, 1])


def test_control_rate_follows_the_judge():
    base = np.zeros((10, 3), np.float32)
    judge = lambda images: 1 / (1 + np.exp(-images[:, [1]]))  # noqa: E731  judge reads unit 1
    assert control_rate(lambda z: z, judge, base, unit=1, low=-3, high=3) == 1.0
    assert control_rate(lambda z: z, judge, base, unit=1, low=3, high=-3) == 0.0
    assert control_rate(lambda z: z, judge, base, unit=2, low=-3, high=3) == 0.0  # not read


@pytest.mark.slow
def test_report_of_a_perfect_model_and_a_trained_judge():
    """Images whose top half is lit iff the label is on; the "model" reads the mean of the
    top half into unit 0 and decodes by lighting the top half iff unit 0 > 0."""
    rng = np.random.default_rng(0)
    y = (rng.random((300, 1)) > 0.5).astype(np.float32)
    images = (rng.random((300, 16, 16, 1)) < 0.1).astype(np.float32)
    images[y[:, 0] > 0, :8] = 1.0

    def represent(x):
        return np.stack([x[:, :8].mean((1, 2, 3)) * 4 - 2, x[:, 8:].mean((1, 2, 3))], axis=1)

    def decode(z):
        out = np.zeros((len(z), 16, 16, 1), np.float32)
        out[z[:, 0] > 0, :8] = 1.0
        return out

    def heads(z):
        return (z[:, [0]] > 0).astype(np.float32)

    report = attribute_control_report(
        images, y, represent, decode, heads, [0], ["top"], num_train=200
    )
    top = report["top"]
    assert top["head_accuracy"] == 1.0 and top["unit_accuracy"] == 1.0
    assert top["judge_accuracy"] >= 0.95 and top["control_rate"] >= 0.95
    assert top["leakage_accuracy"] < top["majority_rate"] + 0.15
    with pytest.raises(ValueError, match="num_train must be in"):
        attribute_control_report(images, y, represent, decode, heads, [0], ["top"], num_train=300)
    judge, accuracy = train_judge(images[:50], y[:50], epochs=1)
    assert judge(images[:4]).shape == (4, 1) and len(accuracy) == 1
