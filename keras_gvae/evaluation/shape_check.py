"""Does a decoder draw the shape? The shape check of issue #22 on dSprites-like data.

For each held-out image with known factors, the decoded image (of the posterior mean) is
thresholded at 0.5 and compared, by intersection over union, with every shape rendered at
the image's true scale, orientation and position. The decoder draws the shape of an image
when the true shape's IoU beats every other shape's by at least ``margin``. The inputs
themselves score 1; a blank image 0. A round blob is not neutral: at the largest scale a
disc of the sprite's area wins for about two images in three (it is nearly the ellipse).
"""

from __future__ import annotations

import numpy as np


def iou(a, b, threshold=0.5):
    """Per-image intersection over union of ``a > threshold`` and ``b > threshold``.

    Args:
        a, b: arrays of the same shape ``(N, ...)``.
        threshold: float, the binarisation level. Defaults to 0.5.

    Returns:
        float64 array ``(N,)``; 1.0 where both masks are empty.
    """
    a = np.asarray(a).reshape(len(a), -1) > threshold
    b = np.asarray(b).reshape(len(b), -1) > threshold
    union = np.sum(a | b, axis=1)
    inter = np.sum(a & b, axis=1)
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def shape_check(decoded, images, factors, render, shape_factor=0, margin=0.05):
    """The shape check and the IoU of the decoded images with their inputs.

    Args:
        decoded: ``(N, H, W, C)`` decoded images in [0, 1] (the posterior mean's).
        images: ``(N, H, W, C)`` the input images.
        factors: int ``(N, F)`` the images' factor indices.
        render: a function of a factor array ``(N, F)`` returning images ``(N, H, W, C)``
            (``GroundTruthData.sample_observations_from_factors`` without its random state).
        shape_factor: int, the column of ``factors`` that is the shape. Defaults to 0.
        margin: float, how much the true shape's IoU must beat each other shape's.
            Defaults to 0.05.

    Returns:
        dict: ``right_shape`` (fraction of images whose true shape wins by ``margin``),
        ``right_shape_<k>`` (the same among images of shape index ``k``), ``iou_input``
        (mean IoU of the decoded image with its input) and ``iou_true_shape`` (mean IoU
        with the true shape's rendering, which equals the input for noiseless data).
    """
    factors = np.asarray(factors)
    if not (len(decoded) == len(images) == len(factors)):
        raise ValueError(
            f"decoded, images and factors must have the same length; got {len(decoded)}, "
            f"{len(images)}, {len(factors)}"
        )
    shapes = np.unique(factors[:, shape_factor]) if len(factors) else np.array([], int)
    num_shapes = int(factors[:, shape_factor].max()) + 1 if len(factors) else 0
    scores = np.zeros((len(factors), num_shapes))
    for k in range(num_shapes):
        as_k = factors.copy()
        as_k[:, shape_factor] = k
        scores[:, k] = iou(decoded, render(as_k))
    truth = factors[:, shape_factor]
    own = scores[np.arange(len(factors)), truth]
    others = np.where(np.arange(num_shapes)[None, :] == truth[:, None], -np.inf, scores)
    wins = own - others.max(axis=1) >= margin
    result = {
        "right_shape": float(np.mean(wins)),
        "iou_input": float(np.mean(iou(decoded, images))),
        "iou_true_shape": float(np.mean(own)),
    }
    for k in shapes:
        result[f"right_shape_{int(k)}"] = float(np.mean(wins[truth == k]))
    return result
