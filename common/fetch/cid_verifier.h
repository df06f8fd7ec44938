#pragma once

// Checks the bytes a gateway served for a bare CID against that CID.
//
// Raw-codec CIDs (sha2-256, sha2-512 or identity multihash) name the bytes
// themselves: a different hash is proof of a lying gateway (`cid_mismatch`).
// A dag-pb CID names the root of a UnixFS DAG built from the bytes with some
// chunker and layout: the bytes are re-imported with the importer profiles
// the common tools use (kubo v0 and v1, ipfs-car, 1 MiB chunks with 174
// links) and are verified when any of them yields the CID's multihash. When
// none does the content cannot be proven either way (another chunker, the
// trickle layout...): it is unverifiable, never a mismatch, since a real
// gateway may serve correct bytes we cannot re-derive.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace niftysave::fetch {

enum class CidVerification {
  kNotChecked,    // nothing to check against (a path, IPNS without the API,
                  // http, data:)
  kVerified,      // the bytes are the CID's
  kMismatch,      // a raw CID's bytes hash to something else
  kUnverifiable,  // a CID the bytes cannot be checked against
};

// "not_checked", "verified", "mismatch" or "unverifiable" (metric labels).
const char* CidVerificationName(CidVerification v);

// Checks `bytes` against the CIDv1/v0 text `cid`: kVerified or
// kUnverifiable; reason `cid_mismatch` (DataLoss) when a raw CID's bytes do
// not match; InvalidArgument when `cid` does not parse.
absl::StatusOr<CidVerification> CheckAgainstCid(std::string_view cid,
                                                std::string_view bytes);

// CheckAgainstCid for the content of the file at `path`, read in 1 MiB
// pieces (never held in memory whole); `read_failed` when it cannot be read.
absl::StatusOr<CidVerification> CheckFileAgainstCid(std::string_view cid,
                                                    const std::string& path);

// The older form: Ok when verified, `cid_mismatch` when not, Unimplemented
// when unverifiable.
absl::Status VerifyAgainstCid(std::string_view cid, std::string_view bytes);
absl::Status VerifyFileAgainstCid(std::string_view cid,
                                  const std::string& path);

}  // namespace niftysave::fetch
