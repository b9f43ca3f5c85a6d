"""N-way K-shot classification episodes with a nearest-centroid classifier on codes.

The episode protocol of Vinyals et al., "Matching Networks for One Shot Learning" (NeurIPS
2016), classified as in Snell et al., "Prototypical Networks for Few-shot Learning" (NeurIPS
2017, Eq. 1-2) with fixed codes: each query goes to the class whose mean support code is
nearest in Euclidean distance.
"""

from __future__ import annotations

import numpy as np

from keras_gvae.evaluation.probes import check_codes_and_labels


def few_shot_accuracy(
    codes,
    labels,
    n_way: int,
    k_shot: int,
    n_query: int = 15,
    num_episodes: int = 600,
    seed: int = 0,
) -> dict:
    """Mean accuracy over random N-way K-shot episodes, with a 95% confidence interval.

    Each episode draws ``n_way`` distinct classes among those with at least
    ``k_shot + n_query`` examples, then ``k_shot`` support and ``n_query`` query examples
    per class without replacement. Accuracy is the fraction of the ``n_way * n_query``
    queries whose nearest class centroid is their own class.

    Args:
        codes: Float array ``(N, d)``.
        labels: Class labels ``(N,)``.
        n_way: Classes per episode.
        k_shot: Support examples per class.
        n_query: Query examples per class. Defaults to 15.
        num_episodes: Number of episodes. Defaults to 600.
        seed: Seed of the episode sampling. Defaults to 0.

    Returns:
        Dict with ``mean`` (mean episode accuracy), ``ci95`` (``1.96 * std / sqrt(episodes)``,
        population std of the episode accuracies), ``episodes`` (their number) and
        ``accuracies`` (array ``(num_episodes,)``).
    """
    codes, labels = check_codes_and_labels(codes, labels)
    if min(n_way, k_shot, n_query, num_episodes) < 1:
        raise ValueError(
            "n_way, k_shot, n_query and num_episodes must be positive; got "
            f"{n_way}, {k_shot}, {n_query}, {num_episodes}."
        )
    classes, inverse = np.unique(labels, return_inverse=True)
    members = [np.flatnonzero(inverse == c) for c in range(len(classes))]
    eligible = [c for c in range(len(classes)) if len(members[c]) >= k_shot + n_query]
    if len(eligible) < n_way:
        raise ValueError(
            f"Only {len(eligible)} classes have k_shot + n_query = {k_shot + n_query} examples; "
            f"{n_way}-way episodes need {n_way}."
        )

    random_state = np.random.RandomState(seed)
    accuracies = np.empty(num_episodes)
    for episode in range(num_episodes):
        chosen = random_state.choice(eligible, size=n_way, replace=False)
        picks = np.stack(
            [random_state.choice(members[c], size=k_shot + n_query, replace=False) for c in chosen]
        )
        support = codes[picks[:, :k_shot]]  # (n_way, k_shot, d)
        query = codes[picks[:, k_shot:]].reshape(n_way * n_query, -1)
        centroids = support.mean(axis=1)
        distances = np.sum((query[:, None, :] - centroids[None, :, :]) ** 2, axis=-1)
        targets = np.repeat(np.arange(n_way), n_query)
        accuracies[episode] = np.mean(np.argmin(distances, axis=1) == targets)
    return {
        "mean": float(accuracies.mean()),
        "ci95": float(1.96 * accuracies.std() / np.sqrt(num_episodes)),
        "episodes": num_episodes,
        "accuracies": accuracies,
    }
