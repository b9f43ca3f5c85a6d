"""``gvae train`` as a Python function: data, model, fit, and a complete run directory.

The modules, one job each: `config` (`Recipe`, what a run trains, and `RunOptions`, how it is
carried out, with `TrainConfig` both in one; their checks; reading a run's settings back to
resume it), `build` (the data pipeline, the model built and compiled in its distribution
strategy, the learning-rate schedule), `loop` (`train`: the fit loop with backups, resume,
NaN stops and the best model, into an atomically renamed run directory), `card` (the model
card and the metrics of a finished run) and `run_dir` (`RunDirectory`: a run's config.json,
metrics.json and model card, read and written).

Example:
>>> from keras_gvae.training import Recipe, RunOptions, TrainConfig, train
>>> recipe = Recipe(epochs=1, steps_per_epoch=10)  # doctest: +SKIP
>>> run_dir = train(TrainConfig.of(recipe, RunOptions(out="runs/tiny")))  # doctest: +SKIP
"""

from keras_gvae.training.build import (
    TrainingData,
    build_model,
    distribution_strategy,
    learning_rate,
    make_pipeline,
    resolve_data,
    training_data,
)
from keras_gvae.training.card import model_card, read_metrics, slim_copy
from keras_gvae.training.config import (
    LR_SCHEDULES,
    MODEL_NAMES,
    NOT_IN_RESUME_KEY,
    OPTION_FIELDS,
    PRECISIONS,
    RECIPE_FIELDS,
    RESUME_OPTIONS,
    STRATEGIES,
    Recipe,
    Resolved,
    RunOptions,
    TrainConfig,
    dataset_name,
    default_run_dir,
    model_arguments,
    model_registry,
    resolve,
    resume_config,
    resume_key,
)
from keras_gvae.training.loop import (
    BACKUP,
    BEST,
    TENSORBOARD,
    TRAINING_STATE,
    fit_resumable,
    train,
)
from keras_gvae.training.run_dir import RunDirectory

__all__ = [
    "BACKUP",
    "BEST",
    "LR_SCHEDULES",
    "MODEL_NAMES",
    "NOT_IN_RESUME_KEY",
    "OPTION_FIELDS",
    "PRECISIONS",
    "RECIPE_FIELDS",
    "RESUME_OPTIONS",
    "STRATEGIES",
    "TENSORBOARD",
    "TRAINING_STATE",
    "Recipe",
    "Resolved",
    "RunDirectory",
    "RunOptions",
    "TrainConfig",
    "TrainingData",
    "build_model",
    "dataset_name",
    "default_run_dir",
    "distribution_strategy",
    "fit_resumable",
    "learning_rate",
    "make_pipeline",
    "model_arguments",
    "model_card",
    "model_registry",
    "read_metrics",
    "resume_config",
    "resolve",
    "resolve_data",
    "resume_key",
    "slim_copy",
    "train",
    "training_data",
]
