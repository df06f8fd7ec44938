#pragma once

#include "common/grpc/grpc_security.h"

namespace niftysave {

// Server side, in every service (InitService reads them):
//   --grpc_tls_cert, --grpc_tls_key  PEM certificate chain and key; empty:
//                                    plaintext
//   --grpc_tls_client_ca             PEM CA: clients must present a
//                                    certificate it signed (mTLS)
//   --grpc_tokens_file               `<scope> <caller> <token>` lines; every
//                                    call but health and reflection then
//                                    needs a token (see ParseTokens)
//   --grpc_health_listen             plaintext grpc.health.v1-only listener
//                                    for the kubelet's probes
// A missing, unreadable or malformed file exits 2 naming the flag and file.
GrpcServerSecurity GrpcServerSecurityFromFlags();

// Client side, in every service that calls another and in the CLI:
//   --grpc_tls_ca                    PEM CA the servers' certificates chain to
//   --grpc_tls_client_cert, --grpc_tls_client_key  for servers asking mTLS
//   --grpc_client_token_file         one token, sent as Bearer on every call
GrpcClientSecurity GrpcClientSecurityFromFlags();

}  // namespace niftysave
