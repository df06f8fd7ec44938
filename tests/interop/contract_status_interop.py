#!/usr/bin/python3
"""Tracker.GetContractStatus from a second gRPC implementation (Python grpcio,
stubs generated from protos/).

Checks one contract's answer for consistency (indexed is the sum of the
statuses, in_progress = queued + extracted, the address in lower case,
failures most first and summing to failed) and the errors of an unknown
chain (NOT_FOUND) and a malformed address (INVALID_ARGUMENT). Prints the
answer as one JSON object (proto3 JSON mapping); exits non-zero on the first
mismatch.
"""
import argparse
import json
import sys

import grpc

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import stubs  # noqa: E402


def expect_code(call, code, what):
    try:
        call()
    except grpc.RpcError as e:
        if e.code() != code:
            sys.exit("%s: %s (%s), expected %s" % (what, e.code(), e.details(), code))
        return
    sys.exit("%s: accepted, expected %s" % (what, code))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--protos", required=True)
    ap.add_argument("--tracker", required=True)
    ap.add_argument("--chain", type=int, required=True)
    ap.add_argument("--contract", required=True)
    args = ap.parse_args()

    stubs.generate(args.protos)
    tracker_pb2 = stubs.load("tracker_pb2")
    tracker_grpc = stubs.load("tracker_pb2_grpc")
    from google.protobuf import json_format

    stub = tracker_grpc.TrackerStub(grpc.insecure_channel(args.tracker))
    request = tracker_pb2.GetContractStatusRequest
    c = stub.GetContractStatus(request(chain_id=args.chain, contract=args.contract), timeout=10)
    if c.contract != args.contract.lower() or c.chain_id != args.chain:
        sys.exit("answered for %d/%s" % (c.chain_id, c.contract))
    if c.indexed != c.in_progress + c.archived + c.partial + c.failed:
        sys.exit("indexed %d is not the sum of the statuses" % c.indexed)
    if c.in_progress != c.queued + c.extracted:
        sys.exit("in_progress %d is not queued + extracted" % c.in_progress)
    for name, reasons, total in (("failures", c.failures, c.failed),
                                 ("partial_failures", c.partial_failures, c.partial)):
        counts = [r.count for r in reasons]
        if counts != sorted(counts, reverse=True) or sum(counts) != total:
            sys.exit("%s %r do not add up to %d, most first" % (name, counts, total))

    expect_code(lambda: stub.GetContractStatus(
        request(chain_id=args.chain + 1000, contract=args.contract), timeout=10),
        grpc.StatusCode.NOT_FOUND, "unknown chain")
    expect_code(lambda: stub.GetContractStatus(
        request(chain_id=args.chain, contract="0x1234"), timeout=10),
        grpc.StatusCode.INVALID_ARGUMENT, "malformed contract")
    print(json.dumps(json_format.MessageToDict(c), indent=1))


if __name__ == "__main__":
    main()
