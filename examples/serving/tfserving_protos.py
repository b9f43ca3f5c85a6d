"""TensorFlow Serving's request and config protos, without the tensorflow-serving-api package.

``PredictRequest``/``PredictResponse`` (tensorflow_serving/apis/predict.proto and
model.proto) and the parts of ``ModelServerConfig`` used by ``models.config``
(tensorflow_serving/config/model_server_config.proto) are declared here with the same
package, message names and field numbers as upstream, on top of ``TensorProto`` from the
``tensorflow`` package. Their wire format and text format are therefore those of TF
Serving: a request serialized here is accepted by a real model server, and the text
protos in ``grpc/`` parse with the upstream classes too.

When ``tensorflow-serving-api`` is installed, its own classes are used instead.

Usage:

    from tfserving_protos import PredictRequest, parse_request
    request = parse_request("grpc/decode.pbtxt")
"""

from __future__ import annotations

from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format
from tensorflow.core.framework import tensor_pb2  # registers tensorflow/core/framework/tensor.proto

PREDICT_METHOD = "/tensorflow.serving.PredictionService/Predict"

_F = descriptor_pb2.FieldDescriptorProto


def _field(name, number, kind, label=_F.LABEL_OPTIONAL, type_name=None, oneof=None):
    field = _F(name=name, number=number, type=kind, label=label)
    if type_name:
        field.type_name = type_name
    if oneof is not None:
        field.oneof_index = oneof
    return field


def _map_entry(name, value_type, value_type_name=None):
    entry = descriptor_pb2.DescriptorProto(name=name)
    entry.options.map_entry = True
    entry.field.append(_field("key", 1, _F.TYPE_STRING))
    entry.field.append(_field("value", 2, value_type, type_name=value_type_name))
    return entry


def _declare():
    """Adds the upstream-compatible declarations to the default descriptor pool."""
    pool = descriptor_pool.Default()
    with_wrappers = "google/protobuf/wrappers.proto"
    from google.protobuf import wrappers_pb2  # noqa: F401  (registers wrappers.proto)

    model = descriptor_pb2.FileDescriptorProto(
        name="tensorflow_serving/apis/model.proto",
        package="tensorflow.serving",
        syntax="proto3",
        dependency=[with_wrappers],
    )
    spec = model.message_type.add(name="ModelSpec")
    spec.oneof_decl.add(name="version_choice")
    spec.field.extend(
        [
            _field("name", 1, _F.TYPE_STRING),
            _field("version", 2, _F.TYPE_MESSAGE, type_name=".google.protobuf.Int64Value", oneof=0),
            _field("version_label", 4, _F.TYPE_STRING, oneof=0),
            _field("signature_name", 3, _F.TYPE_STRING),
        ]
    )

    predict = descriptor_pb2.FileDescriptorProto(
        name="tensorflow_serving/apis/predict.proto",
        package="tensorflow.serving",
        syntax="proto3",
        dependency=["tensorflow/core/framework/tensor.proto", model.name],
    )
    request = predict.message_type.add(name="PredictRequest")
    request.nested_type.append(
        _map_entry("InputsEntry", _F.TYPE_MESSAGE, ".tensorflow.TensorProto")
    )
    request.field.extend(
        [
            _field("model_spec", 1, _F.TYPE_MESSAGE, type_name=".tensorflow.serving.ModelSpec"),
            _field(
                "inputs",
                2,
                _F.TYPE_MESSAGE,
                _F.LABEL_REPEATED,
                ".tensorflow.serving.PredictRequest.InputsEntry",
            ),
            _field("output_filter", 3, _F.TYPE_STRING, _F.LABEL_REPEATED),
        ]
    )
    response = predict.message_type.add(name="PredictResponse")
    response.nested_type.append(
        _map_entry("OutputsEntry", _F.TYPE_MESSAGE, ".tensorflow.TensorProto")
    )
    response.field.extend(
        [
            _field(
                "outputs",
                1,
                _F.TYPE_MESSAGE,
                _F.LABEL_REPEATED,
                ".tensorflow.serving.PredictResponse.OutputsEntry",
            ),
            _field("model_spec", 2, _F.TYPE_MESSAGE, type_name=".tensorflow.serving.ModelSpec"),
        ]
    )

    # The subset of model_server_config.proto that models.config uses (same numbers).
    config = descriptor_pb2.FileDescriptorProto(
        name="keras_gvae/examples/model_server_config_subset.proto",
        package="tensorflow.serving",
        syntax="proto3",
    )
    policy = config.message_type.add(name="ServableVersionPolicy")
    latest = policy.nested_type.add(name="Latest")
    latest.field.append(_field("num_versions", 1, _F.TYPE_UINT32))
    policy.nested_type.add(name="All")
    specific = policy.nested_type.add(name="Specific")
    specific.field.append(_field("versions", 1, _F.TYPE_INT64, _F.LABEL_REPEATED))
    policy.oneof_decl.add(name="policy_choice")
    prefix = ".tensorflow.serving.ServableVersionPolicy."
    policy.field.extend(
        [
            _field("latest", 100, _F.TYPE_MESSAGE, type_name=prefix + "Latest", oneof=0),
            _field("all", 101, _F.TYPE_MESSAGE, type_name=prefix + "All", oneof=0),
            _field("specific", 102, _F.TYPE_MESSAGE, type_name=prefix + "Specific", oneof=0),
        ]
    )
    model_config = config.message_type.add(name="ModelConfig")
    model_config.field.extend(
        [
            _field("name", 1, _F.TYPE_STRING),
            _field("base_path", 2, _F.TYPE_STRING),
            _field("model_platform", 4, _F.TYPE_STRING),
            _field(
                "model_version_policy",
                7,
                _F.TYPE_MESSAGE,
                type_name=".tensorflow.serving.ServableVersionPolicy",
            ),
        ]
    )
    config_list = config.message_type.add(name="ModelConfigList")
    config_list.field.append(
        _field("config", 1, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, ".tensorflow.serving.ModelConfig")
    )
    server = config.message_type.add(name="ModelServerConfig")
    server.oneof_decl.add(name="config")
    server.field.append(
        _field(
            "model_config_list",
            1,
            _F.TYPE_MESSAGE,
            type_name=".tensorflow.serving.ModelConfigList",
            oneof=0,
        )
    )

    classes = {}
    for file_proto in (model, predict, config):
        try:
            pool.FindFileByName(file_proto.name)
        except KeyError:
            pool.Add(file_proto)
    for name in ("PredictRequest", "PredictResponse", "ModelServerConfig"):
        classes[name] = message_factory.GetMessageClass(
            pool.FindMessageTypeByName(f"tensorflow.serving.{name}")
        )
    return classes


try:  # the real package, when present
    from tensorflow_serving.apis.predict_pb2 import PredictRequest, PredictResponse
    from tensorflow_serving.config.model_server_config_pb2 import ModelServerConfig

    UPSTREAM = True
except ImportError:
    _classes = _declare()
    PredictRequest = _classes["PredictRequest"]
    PredictResponse = _classes["PredictResponse"]
    ModelServerConfig = _classes["ModelServerConfig"]
    UPSTREAM = False

TensorProto = tensor_pb2.TensorProto


def parse_request(path) -> PredictRequest:
    """A ``PredictRequest`` from a text proto file (``grpc/*.pbtxt``)."""
    return text_format.Parse(Path(path).read_text(), PredictRequest())


def parse_model_config(path) -> ModelServerConfig:
    """A ``ModelServerConfig`` from TF Serving's ``--model_config_file`` text proto."""
    return text_format.Parse(Path(path).read_text(), ModelServerConfig())
