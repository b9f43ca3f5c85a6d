"""The files in examples/serving/ are valid for an exported 64x64, latent-10 model."""

import importlib
import json
import sys
from concurrent import futures
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_gvae.export import signature_names

SERVING = Path(__file__).resolve().parents[2] / "examples" / "serving"
REST = sorted((SERVING / "rest").glob("*.json"))
GRPC = sorted((SERVING / "grpc").glob("*.pbtxt"))


@pytest.fixture(scope="module")
def protos():
    sys.path.insert(0, str(SERVING))
    try:
        yield importlib.import_module("tfserving_protos"), importlib.import_module("grpc_client")
    finally:
        sys.path.remove(str(SERVING))


def check_and_run(signature, inputs):
    """Checks names, dtypes and shapes against the signature, then runs it."""
    specs = signature.structured_input_signature[1]
    assert set(inputs) == set(specs), f"inputs {sorted(inputs)} != signature {sorted(specs)}"
    tensors = {}
    for name, value in inputs.items():
        spec = specs[name]
        array = np.asarray(value)
        if spec.dtype.is_integer:
            assert array.dtype.kind in "iu", f"{name}: integers expected"
        else:
            assert array.dtype.kind in "iuf", f"{name}: numbers expected"
        assert spec.shape.is_compatible_with(array.shape), f"{name}: {array.shape} vs {spec.shape}"
        tensors[name] = tf.constant(array, dtype=spec.dtype)
    return {k: v.numpy() for k, v in signature(**tensors).items()}


def test_every_signature_has_rest_and_grpc_bodies(serving_model):
    names = set(signature_names(serving_model))
    assert {p.stem for p in REST} == names
    assert {p.stem for p in GRPC} == names


@pytest.mark.parametrize("path", REST, ids=[p.stem for p in REST])
def test_rest_body_is_valid_for_its_signature(path, loaded_export, serving_model):
    body = json.loads(path.read_text())
    assert body["signature_name"] == path.stem
    signature = loaded_export.signatures[body["signature_name"]]
    assert ("instances" in body) != ("inputs" in body)
    if "instances" in body:  # row format: one object per example
        rows = body["instances"]
        assert rows and all(isinstance(r, dict) and r.keys() == rows[0].keys() for r in rows)
        inputs = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    else:  # columnar format
        inputs = {k: np.array(v) for k, v in body["inputs"].items()}
    outputs = check_and_run(signature, inputs)
    if path.stem == "decode":
        np.testing.assert_allclose(
            outputs["image"], serving_model.decode(inputs["z"]).numpy(), atol=1e-5
        )
    if path.stem == "traverse":
        assert outputs["images"].shape == (1, len(inputs["values"]), 64, 64, 1)


@pytest.mark.parametrize("path", GRPC, ids=[p.stem for p in GRPC])
def test_grpc_body_is_valid_for_its_signature(path, loaded_export, protos):
    tfserving_protos, _ = protos
    request = tfserving_protos.parse_request(path)
    config = tfserving_protos.parse_model_config(SERVING / "models.config")
    assert request.model_spec.name == config.model_config_list.config[0].name == "gvae"
    assert request.model_spec.signature_name == path.stem
    signature = loaded_export.signatures[request.model_spec.signature_name]
    specs = signature.structured_input_signature[1]
    inputs = {}
    for name, tensor in request.inputs.items():
        assert tensor.dtype == specs[name].dtype.as_datatype_enum, name
        inputs[name] = tf.make_ndarray(tensor)
        assert inputs[name].dtype == specs[name].dtype.as_numpy_dtype
    check_and_run(signature, inputs)


def test_models_config_points_at_a_base_path(protos):
    tfserving_protos, _ = protos
    config = tfserving_protos.parse_model_config(SERVING / "models.config")
    (model,) = config.model_config_list.config
    assert model.base_path == "/models/gvae" and model.model_platform == "tensorflow"
    assert model.model_version_policy.latest.num_versions == 1


def test_grpc_client_round_trip_through_a_local_prediction_service(loaded_export, protos):
    """grpc_client.predict against an in-process PredictionService backed by the SavedModel."""
    import grpc

    tfserving_protos, client = protos

    def handle(request, context):
        signature = loaded_export.signatures[request.model_spec.signature_name or "serving_default"]
        inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        try:
            outputs = signature(**inputs)
        except tf.errors.InvalidArgumentError as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, err.message)
        response = tfserving_protos.PredictResponse()
        response.model_spec.CopyFrom(request.model_spec)
        for k, v in outputs.items():
            response.outputs[k].CopyFrom(tf.make_tensor_proto(v.numpy()))
        return response

    service, method = tfserving_protos.PREDICT_METHOD.strip("/").split("/")
    handler = grpc.method_handlers_generic_handler(
        service,
        {
            method: grpc.unary_unary_rpc_method_handler(
                handle,
                request_deserializer=tfserving_protos.PredictRequest.FromString,
                response_serializer=tfserving_protos.PredictResponse.SerializeToString,
            )
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        target = f"127.0.0.1:{port}"
        out = client.predict(
            target, tfserving_protos.parse_request(GRPC[0].with_name("decode.pbtxt"))
        )
        assert out["image"].shape == (2, 64, 64, 1)
        request = client.make_request(
            "traverse", {"z": np.zeros((1, 10)), "unit": 10, "values": [0.0]}
        )
        with pytest.raises(grpc.RpcError) as raised:
            client.predict(target, request)
        assert "unit must be in [0, latent_dim)" in raised.value.details()
        meta = client.predict(
            target, tfserving_protos.parse_request(SERVING / "grpc" / "metadata.pbtxt")
        )
        assert [a.decode() for a in meta["attributes"]] == ["small", "round", "left"]
    finally:
        server.stop(None)
