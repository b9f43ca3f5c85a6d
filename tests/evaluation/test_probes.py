import numpy as np
import pytest

from keras_gvae.evaluation import few_shot_accuracy, knn_probe_accuracy, linear_probe_accuracy


def _clusters(num_classes=10, per_class=20, dims=8, spread=0.01, seed=0):
    random_state = np.random.RandomState(seed)
    centres = 10.0 * random_state.normal(size=(num_classes, dims))
    labels = np.repeat(np.arange(num_classes), per_class)
    codes = centres[labels] + spread * random_state.normal(size=(len(labels), dims))
    return codes, labels


def test_probes_separate_clusters_and_not_noise():
    codes, labels = _clusters()
    assert linear_probe_accuracy(codes[::2], labels[::2], codes[1::2], labels[1::2]) == 1.0
    assert knn_probe_accuracy(codes[::2], labels[::2], codes[1::2], labels[1::2], k=3) == 1.0
    noise = np.random.RandomState(1).normal(size=codes.shape)
    assert knn_probe_accuracy(noise[::2], labels[::2], noise[1::2], labels[1::2]) < 0.3


def test_probe_validation():
    codes, labels = _clusters()
    with pytest.raises(ValueError, match=r"labels_train of shape \(N,\)"):
        linear_probe_accuracy(codes, labels[:-1], codes, labels)
    with pytest.raises(ValueError, match="k must be"):
        knn_probe_accuracy(codes[:3], labels[:3], codes, labels, k=5)


def test_few_shot_is_exact_on_separated_clusters():
    codes, labels = _clusters()
    result = few_shot_accuracy(codes, labels, n_way=5, k_shot=1, n_query=5, num_episodes=50)
    assert result["mean"] == 1.0 and result["ci95"] == 0.0 and result["episodes"] == 50


def test_few_shot_is_at_chance_on_noise():
    codes, labels = _clusters(spread=0.0)
    noise = np.random.RandomState(2).normal(size=codes.shape)
    result = few_shot_accuracy(noise, labels, n_way=5, k_shot=5, n_query=10, num_episodes=300)
    assert result["mean"] == pytest.approx(0.2, abs=0.03)
    expected_ci = 1.96 * np.std(result["accuracies"]) / np.sqrt(300)
    assert result["ci95"] == pytest.approx(expected_ci)


def test_few_shot_is_deterministic_and_validates():
    codes, labels = _clusters(spread=5.0)
    first = few_shot_accuracy(codes, labels, 5, 1, num_episodes=20, seed=3)
    assert first["mean"] == few_shot_accuracy(codes, labels, 5, 1, num_episodes=20, seed=3)["mean"]
    with pytest.raises(ValueError, match="Only 0 classes"):
        few_shot_accuracy(codes, labels, n_way=5, k_shot=10, n_query=15)
