#pragma once

#include <memory>

#include "common/metrics/metrics.h"
#include "grpcpp/support/server_interceptor.h"

namespace niftysave {

// Counts every RPC by method and status code and times it:
// niftysave_<service>_grpc_requests_total{method,code} and
// niftysave_<service>_grpc_request_duration_seconds{method}.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeMetricsInterceptorFactory(Metrics& metrics);

}  // namespace niftysave
