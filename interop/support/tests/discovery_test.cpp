#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "edist/testing/child_process.hpp"
#include "edist/testing/gtest.hpp"
#include "edist/testing/names.hpp"

namespace et = edist::testing;

namespace {

// What the emulator itself says, to check the release read from disk.
std::string reported_release(const et::erlang_install& otp) {
  et::child_process::options o;
  o.argv = {otp.erl().string(), "-noshell", "-eval",
            "io:format(\"~s\", [erlang:system_info(otp_release)]), halt()."};
  o.capture_stdout = true;
  auto erl = et::child_process::spawn(o);
  std::string out = erl.read_stdout(std::chrono::seconds(60));
  EXPECT_EQ(erl.wait(std::chrono::seconds(60)), 0);
  return out;
}

}  // namespace

TEST(Discovery, SystemOtpIsOnPath) {
  EDIST_REQUIRE_ERLANG();
  const auto otp = et::system_otp();
  ASSERT_TRUE(otp);
  EXPECT_TRUE(std::filesystem::exists(otp->erl()));
  EXPECT_TRUE(std::filesystem::exists(otp->erlc()));
  EXPECT_TRUE(std::filesystem::exists(otp->epmd()));
  EXPECT_FALSE(otp->release.empty());
  EXPECT_TRUE(std::all_of(otp->release.begin(), otp->release.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  })) << otp->release;
  EXPECT_EQ(otp->version.rfind(otp->release, 0), 0u) << otp->version;
  EXPECT_EQ(reported_release(*otp), otp->release);
}

TEST(Discovery, Otp27IsFoundAndRuns) {
  EDIST_REQUIRE_OTP27();
  const auto otp = et::otp27();
  ASSERT_TRUE(otp);
  EXPECT_TRUE(std::filesystem::exists(otp->epmd())) << otp->epmd();
  EXPECT_EQ(reported_release(*otp), otp->release);
  const auto all = et::available_otps();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all.front().root_dir, et::system_otp()->root_dir);
  EXPECT_EQ(all.back().root_dir, otp->root_dir);
}

TEST(Discovery, ParamsNameEveryOtp) {
  const auto params = et::otp_params();
  ASSERT_FALSE(params.empty());
  std::set<std::string> names;
  for (std::size_t i = 0; i < params.size(); ++i) {
    names.insert(et::otp_param_name({params[i], i}));
  }
  EXPECT_EQ(names.size(), params.size());
  if (et::system_otp()) {
    EXPECT_EQ(names.count("otp" + et::system_otp()->release), 1u);
  }
}

TEST(Names, UniqueNamesAreValidAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string n = et::unique_name("My-Test.Node");
    ASSERT_TRUE(std::all_of(n.begin(), n.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    })) << n;
    EXPECT_EQ(n.rfind("my_test_node_", 0), 0u) << n;
    EXPECT_TRUE(seen.insert(n).second) << n;
  }
}

TEST(Names, CookiesAreTwentyUppercaseLetters) {
  const std::string a = et::random_cookie();
  const std::string b = et::random_cookie();
  ASSERT_EQ(a.size(), 20u);
  EXPECT_TRUE(std::all_of(a.begin(), a.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) << a;
  EXPECT_NE(a, b);
}
