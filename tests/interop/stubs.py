"""Python gRPC stubs generated from protos/ at run time (grpc_tools.protoc),
so the interop checks use exactly the .proto files of the tree."""
import importlib
import os
import sys
import tempfile

from grpc_tools import protoc


def generate(protos_dir, names=("common.proto", "indexer.proto", "tracker.proto")):
    """Generates niftysave/v1 stubs into a temp dir and puts it on sys.path."""
    out_dir = tempfile.mkdtemp(prefix="niftysave-py-")
    protos = [os.path.join("niftysave/v1", f) for f in names]
    if protoc.main(["protoc", "-I" + protos_dir, "--python_out=" + out_dir,
                    "--grpc_python_out=" + out_dir] + protos) != 0:
        sys.exit("protoc failed")
    sys.path.insert(0, out_dir)


def load(module):
    """A generated module, e.g. load("tracker_pb2_grpc")."""
    return importlib.import_module("niftysave.v1." + module)
