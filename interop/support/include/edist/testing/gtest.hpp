// GoogleTest helpers for interop tests. Header-only: edist_testing itself does not link
// GoogleTest; the test executable does.
//
// Missing Erlang makes a test SKIP, except when the environment variable
// EDIST_REQUIRE_INTEROP=1 is set (CI sets it): then a missing Erlang/OTP, a missing OTP 27 or
// a missing Elixir is a FAILURE, so a broken CI image cannot pass silently.
//
// Parameterising over the available OTP releases:
//
//   class EpmdInterop : public edist::testing::otp_test {};
//   TEST_P(EpmdInterop, Registers) {
//     auto epmd = edist::testing::epmd_instance::start(otp());
//     ...
//   }
//   EDIST_INSTANTIATE_OTP_TEST_SUITE(EpmdInterop);
//
// Test names get the suffix /otp25, /otp27. The list is computed when the executable starts
// (including gtest_discover_tests' listing), so use DISCOVERY_MODE PRE_TEST for interop tests
// so that the environment of the ctest run (EDIST_OTP27_ROOT) is the one that counts.
// A fixture that overrides SetUp() must call otp_test::SetUp() first and return if
// IsSkipped() or HasFatalFailure().
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "edist/testing/erlang_install.hpp"

namespace edist::testing {

// True when EDIST_REQUIRE_INTEROP=1: missing Erlang/OTP 27/Elixir fails instead of skipping.
inline bool interop_required() {
  const char* v = std::getenv("EDIST_REQUIRE_INTEROP");
  return v != nullptr && std::string_view(v) == "1";
}

// The parameters for an OTP-parameterised suite: available_otps(). Placeholders (present() ==
// false) stand for what is missing so that the suite still instantiates and otp_test::SetUp()
// skips or fails: one for "no Erlang at all", and, when interop_required(), one for a missing
// OTP 27 (release "27").
inline std::vector<erlang_install> otp_params() {
  std::vector<erlang_install> out = available_otps();
  if (out.empty()) out.push_back(erlang_install{});
  if (interop_required() && !otp27()) {
    erlang_install missing;
    missing.release = "27";
    out.push_back(missing);
  }
  return out;
}

// "otp25", "otp27"; "no_erlang" / "no_otp27" for placeholders.
inline std::string otp_param_name(const ::testing::TestParamInfo<erlang_install>& info) {
  const erlang_install& otp = info.param;
  if (!otp.present()) return otp.release.empty() ? "no_erlang" : "no_otp" + otp.release;
  std::string name = "otp";
  for (char c : otp.release) name += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? c : '_';
  return name;
}

// Lets GoogleTest print parameters readably (and gtest_discover_tests name tests with it).
inline void PrintTo(const erlang_install& otp, std::ostream* os) {
  // No paths: CTest shows this in test names.
  if (otp.present()) {
    *os << "OTP " << (otp.version.empty() ? otp.release : otp.version);
  } else {
    *os << "missing OTP " << otp.release;
  }
}

// Base fixture for suites instantiated with EDIST_INSTANTIATE_OTP_TEST_SUITE.
class otp_test : public ::testing::TestWithParam<erlang_install> {
 protected:
  void SetUp() override {
    const erlang_install& p = GetParam();
    if (p.present()) return;
    const std::string what = p.release.empty() ? std::string("Erlang/OTP (erl on PATH)")
                                               : "OTP " + p.release + " (EDIST_OTP27_ROOT)";
    if (interop_required()) {
      FAIL() << what << " not found and EDIST_REQUIRE_INTEROP=1";
    } else {
      GTEST_SKIP() << what << " not found";
    }
  }
  const erlang_install& otp() const { return GetParam(); }
};

}  // namespace edist::testing

#define EDIST_INSTANTIATE_OTP_TEST_SUITE(suite)                                             \
  INSTANTIATE_TEST_SUITE_P(Otp, suite, ::testing::ValuesIn(::edist::testing::otp_params()), \
                           ::edist::testing::otp_param_name)

// Skips (or, with EDIST_REQUIRE_INTEROP=1, fails) the current test when no erl is on PATH.
// Use in a TEST body or SetUp() (it returns from the enclosing void function).
#define EDIST_REQUIRE_ERLANG()                                                      \
  do {                                                                              \
    if (!::edist::testing::system_otp()) {                                          \
      if (::edist::testing::interop_required()) {                                   \
        FAIL() << "Erlang/OTP (erl on PATH) not found and EDIST_REQUIRE_INTEROP=1"; \
      } else {                                                                      \
        GTEST_SKIP() << "Erlang/OTP (erl on PATH) not found";                       \
      }                                                                             \
    }                                                                               \
  } while (0)

// Same for OTP 27 (scripts/setup-otp27, EDIST_OTP27_ROOT).
#define EDIST_REQUIRE_OTP27()                                                                 \
  do {                                                                                        \
    if (!::edist::testing::otp27()) {                                                         \
      if (::edist::testing::interop_required()) {                                             \
        FAIL() << "OTP 27 not found (run scripts/setup-otp27 or set EDIST_OTP27_ROOT) and "   \
                  "EDIST_REQUIRE_INTEROP=1";                                                  \
      } else {                                                                                \
        GTEST_SKIP() << "OTP 27 not found (run scripts/setup-otp27 or set EDIST_OTP27_ROOT)"; \
      }                                                                                       \
    }                                                                                         \
  } while (0)

// Same for Elixir (elixir on PATH, running on the system OTP).
#define EDIST_REQUIRE_ELIXIR()                                                     \
  do {                                                                             \
    EDIST_REQUIRE_ERLANG();                                                        \
    if (!::edist::testing::system_elixir()) {                                      \
      if (::edist::testing::interop_required()) {                                  \
        FAIL() << "Elixir (elixir on PATH) not found and EDIST_REQUIRE_INTEROP=1"; \
      } else {                                                                     \
        GTEST_SKIP() << "Elixir (elixir on PATH) not found";                       \
      }                                                                            \
    }                                                                              \
  } while (0)
