"""Writes the request bodies in rest/ (JSON) and grpc/ (PredictRequest text protos).

They target the model of ``gvae train`` with its defaults: a GuidedVAE on the shapes
data, images 64x64x1, latent_dim 10. For another model, regenerate:

    python make_requests.py --image-size 28 --latent-dim 7 --model-name mymodel

tests/export/test_serving_examples.py checks every file against an exported SavedModel
of that shape (signature names, input names, dtypes, shapes) and runs it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def example_inputs(image_size=64, channels=1, latent_dim=10):
    """Signature name -> (layout, inputs). "row" bodies use "instances", "columnar" use "inputs"."""
    images = _images(image_size, channels)
    codes = np.zeros((2, latent_dim), np.float32)
    codes[1, : min(3, latent_dim)] = [1.5, -0.5, 0.25][: min(3, latent_dim)]
    return {
        "serving_default": ("row", {"x": images}),
        "reconstruct": ("row", {"x": images}),
        "encode": ("row", {"x": images}),
        "decode": ("row", {"z": codes}),
        "sub_decode": ("row", {"z": codes}),
        "attributes": ("row", {"z": codes}),
        # Inputs with different first dimensions: only the columnar ("inputs") format works.
        "traverse": (
            "columnar",
            {
                "z": codes[:1],
                "unit": np.int32(0),
                "values": np.linspace(-2.0, 2.0, 5).astype(np.float32),
            },
        ),
        "metadata": ("columnar", {}),
    }


def _images(size, channels):
    """Two binary images: a filled square and a ring, in [0, 1]."""
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2.0
    square = (np.abs(xx) < size / 5) & (np.abs(yy) < size / 5)
    radius = np.hypot(xx, yy)
    ring = (radius > size / 6) & (radius < size / 3.5)
    images = np.stack([square, ring]).astype(np.float32)[..., None]
    return np.repeat(images, channels, axis=-1)


def rest_body(signature_name, layout, inputs):
    """The JSON text of a TF Serving REST predict body, one image row per line."""
    if layout == "row":
        batch = len(next(iter(inputs.values())))
        instances = [{k: v[i] for k, v in inputs.items()} for i in range(batch)]
        items = ",\n".join(
            "    {" + ", ".join(f'"{k}": {_json(v, 4)}' for k, v in inst.items()) + "}"
            for inst in instances
        )
        return f'{{\n  "signature_name": "{signature_name}",\n  "instances": [\n{items}\n  ]\n}}\n'
    columns = ",\n".join(f'    "{k}": {_json(v, 4)}' for k, v in inputs.items())
    columns = "{\n" + columns + "\n  }" if inputs else "{}"
    return f'{{\n  "signature_name": "{signature_name}",\n  "inputs": {columns}\n}}\n'


def grpc_body(signature_name, inputs, model_name="gvae"):
    """A PredictRequest in protobuf text format, one image row of float_val per line."""
    lines = [f'model_spec {{ name: "{model_name}" signature_name: "{signature_name}" }}']
    for name, value in inputs.items():
        value = np.asarray(value)
        integer = value.dtype.kind in "iu"
        dims = " ".join(f"dim {{ size: {s} }}" for s in value.shape)
        lines += [
            "inputs {",
            f'  key: "{name}"',
            "  value {",
            f"    dtype: {'DT_INT32' if integer else 'DT_FLOAT'}",
            f"    tensor_shape {{ {dims} }}",
        ]
        # One line per image row (W * C values), per code, or for the whole vector.
        width = (
            int(np.prod(value.shape[-2:]))
            if value.ndim >= 3
            else (value.shape[-1] if value.ndim else 1)
        )
        flat = value.reshape(-1, width)
        field = "int_val" if integer else "float_val"
        lines += [f"    {field}: [{', '.join(_num(v) for v in row)}]" for row in flat]
        lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def _num(v):
    return str(int(v)) if isinstance(v, (np.integer, int)) else f"{float(v):g}"


def _json(value, indent):
    value = np.asarray(value)
    if value.ndim <= 1:
        return json.dumps(value.tolist())
    if value.ndim == 2:
        return json.dumps(value.tolist(), separators=(", ", ": "))
    pad = " " * (indent + 2)
    inner = f",\n{pad}".join(_json(v, indent + 2) for v in value)
    return f"[\n{pad}{inner}\n{' ' * indent}]"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--latent-dim", type=int, default=10)
    parser.add_argument("--model-name", default="gvae")
    parser.add_argument("--out", default=str(HERE))
    args = parser.parse_args(argv)
    out = Path(args.out)
    (out / "rest").mkdir(parents=True, exist_ok=True)
    (out / "grpc").mkdir(parents=True, exist_ok=True)
    for name, (layout, inputs) in example_inputs(
        args.image_size, args.channels, args.latent_dim
    ).items():
        (out / "rest" / f"{name}.json").write_text(rest_body(name, layout, inputs))
        (out / "grpc" / f"{name}.pbtxt").write_text(grpc_body(name, inputs, args.model_name))
    print(f"wrote {out / 'rest'} and {out / 'grpc'}")


if __name__ == "__main__":
    main()
