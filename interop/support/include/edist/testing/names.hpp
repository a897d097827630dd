// Unique node names and random cookies, so concurrent test processes never collide.
// Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace edist::testing {

// A valid node-name part (characters [a-z0-9_] only): the prefix (lower-cased, other
// characters replaced by '_'), the process id, a per-process counter and random characters.
std::string unique_name(std::string_view prefix);

// 20 random uppercase letters, like the cookie erl generates.
std::string random_cookie();

}  // namespace edist::testing
