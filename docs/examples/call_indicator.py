#!/usr/bin/env python3
"""Calls a running `pbm serve` with stock grpcio — no generated stubs, no .proto files: the
request and response classes come from the server's reflection service.

    pip install grpcio grpcio-reflection protobuf
    python3 docs/examples/call_indicator.py 127.0.0.1:50051 "$(cargo run -q -p pbm -- token --role finance_admin)"
"""

import sys
import uuid

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

target, token = sys.argv[1], sys.argv[2]
channel = grpc.insecure_channel(target)
pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
service = pool.FindServiceByName("pbm.indicator.v1.IndicatorService")
auth = [("authorization", f"Bearer {token}")]


def call(method, **fields):
    m = service.FindMethodByName(method)
    request_cls = message_factory.GetMessageClass(m.input_type)
    response_cls = message_factory.GetMessageClass(m.output_type)
    rpc = channel.unary_unary(
        f"/{service.full_name}/{method}",
        request_serializer=request_cls.SerializeToString,
        response_deserializer=response_cls.FromString,
    )
    request = json_format.ParseDict(fields, request_cls())
    return rpc(request, metadata=auth, timeout=10)


frames = call("ListFrames")
year = frames.frames[0].fiscal_year
print("frame", year, [n.name for n in frames.frames[0].nodes if n.level == 1])

created = call(
    "CreateIndicator",
    requestId=str(uuid.uuid4()),
    code=f"DEMO{uuid.uuid4().hex[:6].upper()}",
    spec={
        "fiscalYear": year,
        "frameNodeCode": "101",
        "name": "农村饮水安全工程受益人口",
        "kind": "INDICATOR_KIND_COMMON",
        "direction": "DIRECTION_GE",
        "unit": "人",
        "explanation": "工程建成后稳定受益的农村人口数",
        "referenceTarget": "12000",
    },
)
print("created", created.indicator.code, "version", created.indicator.version)

hits = call("SearchIndicators", query="饮水", limit=5)
for hit in hits.hits:
    print("hit", hit.indicator.code, hit.indicator.spec.name)

try:
    call("CreateIndicator", requestId=str(uuid.uuid4()), code="BAD", spec={"fiscalYear": year, "frameNodeCode": "101",
         "name": "没有单位的定量指标", "kind": "INDICATOR_KIND_COMMON", "direction": "DIRECTION_GE"})
except grpc.RpcError as e:
    print("refused:", e.code().name, e.details())
