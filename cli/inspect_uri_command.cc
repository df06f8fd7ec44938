#include <cstdio>

#include "cli/commands.h"
#include "common/uri/token_uri.h"
#include "nlohmann/json.hpp"

namespace niftysave::cli {

int InspectUri(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    std::fprintf(stderr, "usage: niftysave inspect-uri <uri>\n");
    return 2;
  }
  uri::ResolvedUri r = uri::ResolveUri(args[0]);
  nlohmann::ordered_json out;
  out["kind"] = std::string(uri::UriKindName(r.kind));
  if (r.kind == uri::UriKind::kInvalid) {
    out["reason"] = r.reason;
    out["detail"] = r.detail;
  } else {
    if (r.kind == uri::UriKind::kIpfs) out["cid"] = r.cid;
    if (!r.name.empty()) out["name"] = r.name;
    out["path"] = r.path;
    out["normalized"] = r.normalized;
  }
  std::printf("%s\n",
              out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  .c_str());
  return r.kind == uri::UriKind::kInvalid ? 1 : 0;
}

}  // namespace niftysave::cli
