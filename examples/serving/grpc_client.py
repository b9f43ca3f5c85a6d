"""Call a keras_gvae model in TensorFlow Serving over gRPC (port 8500).

Needs only ``grpcio`` and ``tensorflow``: the PredictRequest/PredictResponse messages come
from ``tfserving_protos.py`` (wire-compatible with tensorflow-serving-api, which is used
instead when installed).

    # send a request body from grpc/ (text proto)
    python grpc_client.py --request grpc/decode.pbtxt
    # or build one: decode 4 prior samples and save the images
    python grpc_client.py --signature decode --samples 4 --out decoded.npy

Each output tensor is printed with its shape and range.
"""

from __future__ import annotations

import argparse
import sys

import grpc
import numpy as np
import tensorflow as tf
from tfserving_protos import PREDICT_METHOD, PredictRequest, PredictResponse, parse_request


def make_request(signature_name, inputs, model_name="gvae", version=None) -> PredictRequest:
    """A PredictRequest for ``signature_name`` with ``inputs`` (name -> array-like).

    Floats are sent as float32 and integers as int32, the dtypes of every keras_gvae
    signature (``unit`` of ``traverse`` is the only integer input).
    """
    request = PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = int(version)
    for name, value in inputs.items():
        array = np.asarray(value)
        array = array.astype(np.int32 if array.dtype.kind in "iub" else np.float32)
        request.inputs[name].CopyFrom(tf.make_tensor_proto(array))
    return request


def predict(target, request, timeout=30.0) -> dict[str, np.ndarray]:
    """Sends ``request`` to ``PredictionService/Predict`` at ``target`` (host:port)."""
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(
            PREDICT_METHOD,
            request_serializer=PredictRequest.SerializeToString,
            response_deserializer=PredictResponse.FromString,
        )
        response = call(request, timeout=timeout)
    return {name: tf.make_ndarray(tensor) for name, tensor in response.outputs.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="localhost:8500", help="host:port of the gRPC API")
    parser.add_argument("--request", help="a PredictRequest text proto (e.g. grpc/decode.pbtxt)")
    parser.add_argument("--model-name", default="gvae", help="name in models.config")
    parser.add_argument(
        "--signature", default="decode", help="with --samples: decode, sub_decode or attributes"
    )
    parser.add_argument("--samples", type=int, default=4, help="prior samples to send")
    parser.add_argument("--latent-dim", type=int, default=10)
    parser.add_argument("--out", help="save the first output as .npy")
    args = parser.parse_args(argv)

    if args.request:
        request = parse_request(args.request)
        request.model_spec.name = args.model_name
    else:
        z = np.random.default_rng(0).standard_normal((args.samples, args.latent_dim))
        request = make_request(args.signature, {"z": z}, model_name=args.model_name)
    try:
        outputs = predict(args.target, request)
    except grpc.RpcError as err:
        # The model's own checks arrive here, e.g. "keras_gvae: unit must be in [0, latent_dim)".
        print(f"error: {err.code().name}: {err.details()}", file=sys.stderr)
        return 1
    for name, value in sorted(outputs.items()):
        if value.dtype.kind in "SOU" or value.size == 0:
            print(f"{name}: {value.tolist()}")
        else:
            print(f"{name}: shape {value.shape}, range [{value.min():.3f}, {value.max():.3f}]")
    if args.out:
        first = sorted(outputs)[0] if "image" not in outputs else "image"
        np.save(args.out, outputs[first])
    return 0


if __name__ == "__main__":
    sys.exit(main())
