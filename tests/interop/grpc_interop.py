#!/usr/bin/python3
"""Calls niftysave's gRPC API from a second implementation (Python grpcio).

Checks, against running services: grpc.health.v1 reports SERVING, server
reflection lists the service, and Tracker.GetTokenStatus / ListTokens /
Indexer.GetStatus answer through stubs generated here from protos/ (grpc_tools.protoc), so a
wire incompatibility between the C++ server and another client shows up.
With --tls_ca (and --client_cert/--client_key for mTLS) every call goes over
TLS; with --token_file (a read token) each call carries it as
`authorization: Bearer`, and the script also checks that a call without it
is UNAUTHENTICATED and that the read token cannot call Indexer.Backfill
(PERMISSION_DENIED), while health checking and reflection stay open.
Prints one JSON object; exits non-zero on the first mismatch.
"""
import argparse
import json
import sys

import grpc

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import stubs  # noqa: E402


def raw_unary(channel, method, request_bytes):
    call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    return call(request_bytes, timeout=10)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def make_channel(target, args, with_token=True):
    if not args.tls_ca:
        return grpc.insecure_channel(target)
    creds = grpc.ssl_channel_credentials(
        root_certificates=read(args.tls_ca),
        private_key=read(args.client_key) if args.client_key else None,
        certificate_chain=read(args.client_cert) if args.client_cert else None)
    if args.token_file and with_token:
        token = read(args.token_file).decode().strip()
        creds = grpc.composite_channel_credentials(creds, grpc.access_token_call_credentials(token))
    return grpc.secure_channel(target, creds)


def expect_code(call, code, result, key):
    try:
        call()
        sys.exit("%s: the call was accepted, expected %s" % (key, code))
    except grpc.RpcError as e:
        if e.code() != code:
            sys.exit("%s: %s (%s), expected %s" % (key, e.code(), e.details(), code))
        result[key] = "%s: %s" % (code.name, e.details())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--protos", required=True)
    ap.add_argument("--tracker", required=True)
    ap.add_argument("--indexer", required=True)
    ap.add_argument("--chain", type=int, required=True)
    ap.add_argument("--contract", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--expect_status", required=True)
    ap.add_argument("--tls_ca", default="")
    ap.add_argument("--client_cert", default="")
    ap.add_argument("--client_key", default="")
    ap.add_argument("--token_file", default="", help="a read token")
    args = ap.parse_args()

    stubs.generate(args.protos)
    common_pb2 = stubs.load("common_pb2")
    tracker_pb2 = stubs.load("tracker_pb2")
    tracker_grpc = stubs.load("tracker_pb2_grpc")
    indexer_pb2 = stubs.load("indexer_pb2")
    indexer_grpc = stubs.load("indexer_pb2_grpc")
    from google.protobuf import json_format

    result = {}
    tracker = make_channel(args.tracker, args)
    # No token needed (the kubelet's probes have none).
    tokenless = make_channel(args.tracker, args, with_token=False)
    # HealthCheckRequest{service: ""} is empty on the wire; SERVING is {status: 1} = 08 01.
    health = raw_unary(tokenless, "/grpc.health.v1.Health/Check", b"")
    if health != b"\x08\x01":
        sys.exit("health check did not answer SERVING: %r" % health)
    result["health"] = "SERVING"

    # ServerReflectionRequest{list_services: ""} is field 7 (string): 3a 00.
    stream = tokenless.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                     request_serializer=None, response_deserializer=None)
    reply = next(stream(iter([b"\x3a\x00"]), timeout=10))
    if b"niftysave.v1.Tracker" not in reply:
        sys.exit("reflection does not list niftysave.v1.Tracker: %r" % reply)
    result["reflection"] = "lists niftysave.v1.Tracker"

    request = tracker_pb2.GetTokenStatusRequest()
    request.token.chain_id = args.chain
    request.token.contract = args.contract
    request.token.token_id = args.token
    report = tracker_grpc.TrackerStub(tracker).GetTokenStatus(request, timeout=10)
    status = common_pb2.TokenStatus.Name(report.status)
    if not status.endswith(args.expect_status):
        sys.exit("token status %s, expected %s" % (status, args.expect_status))
    result["token"] = json_format.MessageToDict(report)

    try:
        tracker_grpc.TrackerStub(tracker).GetTokenStatus(tracker_pb2.GetTokenStatusRequest(), timeout=10)
        sys.exit("an empty token key was accepted")
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.INVALID_ARGUMENT:
            sys.exit("empty token key: %s, expected INVALID_ARGUMENT" % e.code())
        result["empty_key"] = "INVALID_ARGUMENT: " + e.details()

    # ListTokens in pages of 2: every page token is followed to the end, and
    # the token asked about above is listed exactly once.
    listed = []
    page_token = ""
    while True:
        page = tracker_grpc.TrackerStub(tracker).ListTokens(tracker_pb2.ListTokensRequest(
            chain_id=args.chain, contract=args.contract, page_size=2, page_token=page_token),
            timeout=10)
        listed += [t.token.token_id for t in page.tokens]
        page_token = page.next_page_token
        if not page_token:
            break
        if len(listed) > 100000:
            sys.exit("ListTokens does not end")
    if listed.count(args.token) != 1 or len(set(listed)) != len(listed):
        sys.exit("ListTokens listed %r" % listed)
    result["list_tokens"] = len(listed)

    indexer = indexer_grpc.IndexerStub(make_channel(args.indexer, args))
    status = indexer.GetStatus(indexer_pb2.GetIndexerStatusRequest(), timeout=10)
    result["indexer"] = json_format.MessageToDict(status)

    if args.token_file:
        expect_code(lambda: tracker_grpc.TrackerStub(tokenless).GetTokenStatus(request, timeout=10),
                    grpc.StatusCode.UNAUTHENTICATED, result, "no_token")
        expect_code(lambda: indexer.Backfill(indexer_pb2.BackfillRequest(from_block=0, to_block=0),
                                             timeout=10),
                    grpc.StatusCode.PERMISSION_DENIED, result, "read_token_backfill")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
