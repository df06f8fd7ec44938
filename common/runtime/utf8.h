#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace niftysave {

// The one place outside text becomes text Postgres will store. Servers,
// contracts and metadata send arbitrary bytes (a Content-Type header in
// Latin-1, a revert reason of raw ABI words, an error text cut mid-character
// by someone else's buffer), and one bad byte makes the whole statement that
// records them fail, so the item would come back for ever.

// Length of the valid UTF-8 sequence at s[i], or 0 if there is none (what
// Postgres accepts: no overlong forms, no surrogates, nothing past
// U+10FFFF). NUL is a valid sequence here; ValidUtf8 replaces it.
size_t Utf8SequenceAt(absl::string_view s, size_t i);

// `s` as valid UTF-8 of at most `max_bytes` bytes: each invalid byte and each
// NUL becomes U+FFFD, and the text is cut on a character boundary.
std::string ValidUtf8(absl::string_view s,
                      size_t max_bytes = std::string::npos);

// True when `s` is valid UTF-8 without NUL (ValidUtf8 would not change it
// but for its length).
bool IsValidUtf8(absl::string_view s);

}  // namespace niftysave
