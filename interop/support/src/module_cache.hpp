// The compiled Erlang control module (edist_test_control.beam), per OTP installation.
#pragma once

#include <filesystem>

#include "edist/testing/erlang_install.hpp"

namespace edist::testing::detail {

// A folder holding edist_test_control.beam compiled by `otp`'s erlc, for `-pa`. Compiled once
// per source text and OTP into a per-user cache under the temporary folder, shared by test
// processes (written atomically, so concurrent test processes are fine). Thread-safe.
// Throws std::runtime_error with erlc's output when compilation fails.
std::filesystem::path control_module_dir(const erlang_install& otp);

}  // namespace edist::testing::detail
