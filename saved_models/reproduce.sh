#!/usr/bin/env bash
# Rebuilds every pretrained model in saved_models/ (run from the repository root, with
# ../shared/data beside it for MNIST). Each folder is a `gvae train` run directory with
# model.keras (no optimizer state), saved_model/1 (TF Serving), decoder.tflite and MODEL_CARD.md.
set -euo pipefail
cd "$(dirname "$0")/.."
gvae train --slim --export --overwrite --out saved_models/guided_shapes
gvae train --dataset mnist --data-dir ../shared/data/mnist --slim --export --overwrite \
    --out saved_models/guided_mnist
gvae train --model supervised --dataset shapes_binary --attributes is_heart,large --slim \
    --export --overwrite --out saved_models/supervised_shapes
