#!/usr/bin/env bash
# Rebuilds every pretrained model in saved_models/ (run from the repository root, with
# ../shared/data beside it for MNIST). Each folder is a `gvae train` run directory with
# model.keras (no optimizer state), saved_model/1 (TF Serving), decoder.tflite and MODEL_CARD.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# The guided models use the presets of keras_gvae.presets (`gvae train --list-presets`).
gvae train --preset guided-shapes --slim --export --overwrite --out saved_models/guided_shapes
gvae train --preset guided-mnist --data-dir ../shared/data/mnist --slim --export --overwrite \
    --out saved_models/guided_mnist
gvae train --model supervised --dataset shapes_binary --attributes is_heart,large --slim \
    --export --overwrite --out saved_models/supervised_shapes
gvae train --model supervised --dataset shapes_binary_upright --attributes right_half,bottom_half \
    --latent-dim 4 --beta 8 --learning-rate 5e-4 --lr-schedule cosine --epochs 40 --steps-per-epoch 100 \
    --seed 0 --model-arg adversary_input=mean --model-arg joint_inhibition=true \
    --model-arg inhibition_warmup=1000 --model-arg mmd_weight=300 --model-arg mmd_standardize=true \
    --model-arg mmd_unbiased=true \
    --slim --export --overwrite --out saved_models/supervised_position
gvae evaluate saved_models/supervised_position --metrics attributes
