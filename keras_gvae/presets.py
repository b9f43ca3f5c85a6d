"""Named training recipes: a model, its constructor arguments and its budget, per dataset.

A preset is a set of :class:`keras_gvae.training.Recipe` fields. The model classes keep
the paper's defaults; a preset records what was measured to work better on one dataset
(the measurements are in RESULTS.md and benchmarks/results/). ``gvae train`` uses the
preset registered for its ``--model`` and ``--dataset`` unless told ``--preset none``;
flags given beside a preset override its fields.

Example:
>>> from keras_gvae import presets
>>> "guided-shapes" in presets.list_presets()
True
>>> config = presets.train_config("guided-shapes", seed=1)  # a TrainConfig
>>> recipe = presets.recipe("guided-shapes", seed=1)  # its Recipe  # doctest: +SKIP
>>> model = presets.build("guided-shapes")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json

from keras_gvae.training.config import RECIPE_FIELDS as _RECIPE

_ISOTROPIC = ("uniform_scale", "rotation", "translation")


@dataclasses.dataclass(frozen=True)
class Preset:
    """One recipe.

    Args:
        name: str, the preset's name (``gvae train --preset NAME``).
        description: str, one line: what it is and where it was measured.
        settings: dict of `RECIPE_FIELDS` (``model``, ``dataset``, ``model_kwargs``,
            ``epochs``, ...); fields not named keep ``Recipe``'s defaults.
    """

    name: str
    description: str
    settings: dict

    def describe(self) -> str:
        lines = [f"{self.name}: {self.description}"]
        for key, value in self.settings.items():
            if key == "model_kwargs":
                lines += [f"  {k} = {json.dumps(v)}" for k, v in value.items()]
            else:
                lines.append(f"  {key} = {json.dumps(value)}")
        return "\n".join(lines)


PRESETS: dict[str, Preset] = {}
# (model, dataset) -> the preset ``gvae train`` uses when none is named.
DEFAULTS: dict[tuple[str, str], str] = {}


def register(preset: Preset, default_for: tuple[str, str] | None = None) -> Preset:
    """Adds ``preset`` (and makes it the default for a ``(model, dataset)`` pair)."""
    PRESETS[preset.name] = preset
    if default_for is not None:
        DEFAULTS[default_for] = preset.name
    return preset


def list_presets() -> list[str]:
    """Names of every registered preset."""
    return sorted(PRESETS)


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; expected one of {list_presets()}")
    return PRESETS[name]


def describe(name: str) -> str:
    """A few lines: the preset's description and every field it sets."""
    return get_preset(name).describe()


def default_preset(model: str, dataset: str) -> str | None:
    """The preset ``gvae train`` uses for ``model`` on ``dataset`` when none is named."""
    return DEFAULTS.get((model, dataset))


def merged_settings(name: str, overrides: dict) -> dict:
    """The preset's fields updated by ``overrides`` (model_kwargs are merged key by key)."""
    settings = dict(get_preset(name).settings)
    overrides = dict(overrides)
    kwargs = {**settings.get("model_kwargs", {}), **(overrides.pop("model_kwargs", None) or {})}
    settings.update(overrides)
    settings["model_kwargs"] = kwargs
    return settings


# The fields a preset may set (and ``gvae train``'s flags override): those of a
# keras_gvae.training.Recipe but its ``preset``, the name of the preset itself.
RECIPE_FIELDS = tuple(field for field in _RECIPE if field != "preset")


def differences(config) -> dict:
    """What a :class:`keras_gvae.training.Recipe` (or TrainConfig) changes of its preset's
    recipe (``gvae train`` gives it to the model card):
    ``{field: value}`` (``"model_kwargs.NAME"`` for a model argument) for every recipe
    field that differs; empty when ``config.preset`` is None or nothing differs."""
    if config.preset is None:
        return {}
    base = recipe(config.preset)
    changed = {}
    for field in RECIPE_FIELDS:
        ours, theirs = getattr(config, field), getattr(base, field)
        if field == "model_kwargs":
            for key in sorted(set(ours) | set(theirs)):
                if ours.get(key) != theirs.get(key):
                    changed[f"model_kwargs.{key}"] = ours.get(key)
        elif field == "attributes":
            if tuple(ours or ()) != tuple(theirs or ()):
                changed[field] = ours
        elif ours != theirs:
            changed[field] = ours
    return changed


def train_config(name: str, **overrides):
    """A :class:`keras_gvae.training.TrainConfig` of preset ``name`` with ``overrides``."""
    from keras_gvae.training import TrainConfig

    return TrainConfig(preset=name, **merged_settings(name, overrides))


def recipe(name: str, **overrides):
    """The :class:`keras_gvae.training.Recipe` of preset ``name`` with ``overrides``."""
    from keras_gvae.training import Recipe

    return Recipe(preset=name, **merged_settings(name, overrides))


def build(name: str, input_shape=None, **overrides):
    """The compiled model of preset ``name`` (for ``model.fit`` outside ``gvae train``)."""
    from keras_gvae.training import build_model

    config = train_config(name, **overrides)
    if input_shape is None:
        from keras_gvae.training import make_pipeline

        spec = make_pipeline(config, config.seed, 1).element_spec[0]
        input_shape = spec.shape[1:]
    return build_model(config, tuple(int(s) for s in input_shape))


# ---------------------------------------------------------------- the recipes
register(
    Preset(
        "guided-paper",
        "GuidedVAE exactly as the paper and the authors' code (two scale units, scale in "
        "(1/4, 4)), at gvae train's default budget; the reference the other guided presets "
        "are measured against",
        {"model": "guided", "dataset": "shapes"},
    )
)

register(
    Preset(
        "guided-shapes",
        "GuidedVAE on the embedded shapes: one isotropic scale unit with scale in (1/2, 2), "
        "the template started as a centred blob, KL weight 4 on the content units, Adam 1e-3 "
        "(RESULTS.md, 'What makes the guidance bite')",
        {
            "model": "guided",
            "dataset": "shapes",
            "learning_rate": 1e-3,
            "model_kwargs": {
                "transforms": list(_ISOTROPIC),
                "max_scale": 2.0,
                "template_init": "centred",
                "content_beta": 4.0,
            },
        },
    ),
    default_for=("guided", "shapes"),
)

GUIDED_SHAPES_10X = register(
    Preset(
        "guided-shapes-10x",
        "GuidedVAE on the embedded shapes at 10x the default budget (100 x 100 steps, 640,000 "
        "images): guided-shapes' transforms, scale range and template with the KL weight 1 on "
        "every unit (content_beta 4 wins at 1x and costs reconstruction at 10x; RESULTS.md, "
        "'Budget curves')",
        {
            "model": "guided",
            "dataset": "shapes",
            "learning_rate": 1e-3,
            "epochs": 100,
            "steps_per_epoch": 100,
            "model_kwargs": {
                "transforms": list(_ISOTROPIC),
                "max_scale": 2.0,
                "template_init": "centred",
            },
        },
    )
)

register(
    Preset(
        "guided-shapes-30x",
        "guided-shapes-10x at 30x the default budget (300 x 100 steps, 1.92 million images, "
        "30-50 minutes on 2 cores): held-out reconstruction 27 nats against 42 at 10x, "
        "MIG 0.43 +- 0.05 over two seeds against 0.37 (RESULTS.md, 'Budget curves'); "
        "saved_models/guided_shapes (seed 0)",
        {**GUIDED_SHAPES_10X.settings, "epochs": 300},
    )
)

GUIDED_MNIST = register(
    Preset(
        "guided-mnist",
        "GuidedVAE on MNIST: the paper's transforms with the template started as a centred "
        "blob (RESULTS.md, 'MNIST geometry')",
        {"model": "guided", "dataset": "mnist", "model_kwargs": {"template_init": "centred"}},
    ),
    default_for=("guided", "mnist"),
)

register(
    Preset(
        "guided-mnist-10x",
        "guided-mnist at 10x the default budget (100 x 100 steps, 640,000 images, 21 minutes "
        "on 2 cores): reconstruction 78 nats against the 1x model's 99, the angle unit turns "
        "the decoded digit keeping its class in 88% of frames (RESULTS.md, 'MNIST geometry'); "
        "saved_models/guided_mnist",
        {**GUIDED_MNIST.settings, "epochs": 100, "steps_per_epoch": 100},
    )
)

register(
    Preset(
        "guided-omniglot",
        "GuidedVAE on the Omniglot background subsets: guided-mnist's recipe (RESULTS.md, "
        "'Omniglot one-shot')",
        {**GUIDED_MNIST.settings, "dataset": "omniglot"},
    ),
    default_for=("guided", "omniglot"),
)

# The supervised recipes are not registered as defaults: ``--model supervised`` needs its
# ``--attributes``, and a default recipe would choose them for a command that names none.
register(
    Preset(
        "supervised-shapes",
        "SupervisedGuidedVAE on shapes_binary with attributes is_heart and large, at the "
        "model's own defaults; a research recipe, not shipped: its model reconstructed a grey "
        "smear and is_heart at chance (README, 'Pretrained models')",
        {"model": "supervised", "dataset": "shapes_binary", "attributes": ("is_heart", "large")},
    )
)

register(
    Preset(
        "supervised-position",
        "SupervisedGuidedVAE on shapes_binary_upright with attributes right_half and "
        "bottom_half: 4 units, beta 8, inhibition of the posterior mean jointly after a "
        "1,000-step warm-up, standardised unbiased MMD 300, Adam 5e-4 with cosine decay over "
        "40 x 100 steps (saved_models/supervised_position; README, 'Pretrained models')",
        {
            "model": "supervised",
            "dataset": "shapes_binary_upright",
            "attributes": ("right_half", "bottom_half"),
            "latent_dim": 4,
            "beta": 8.0,
            "learning_rate": 5e-4,
            "lr_schedule": "cosine",
            "epochs": 40,
            "steps_per_epoch": 100,
            "seed": 0,
            "model_kwargs": {
                "inhibition": [
                    {"class_name": "keras_gvae>AdversarialInhibition", "config": {"input": "mean"}},
                    {
                        "class_name": "keras_gvae>MMDInhibition",
                        "config": {"weight": 300.0, "standardize": True, "unbiased": True},
                    },
                ],
                "joint_inhibition": True,
                "inhibition_warmup": 1000,
            },
        },
    )
)
