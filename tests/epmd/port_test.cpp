// EPMD port resolution: explicit > ERL_EPMD_PORT > 4369.
#include "edist/epmd/port.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace edist::epmd {
namespace {

// Sets ERL_EPMD_PORT for one test and restores the previous value afterwards.
class EnvPort {
 public:
  explicit EnvPort(const char* value) {
    if (const char* old = std::getenv("ERL_EPMD_PORT")) old_ = old;
    if (value)
      ::setenv("ERL_EPMD_PORT", value, 1);
    else
      ::unsetenv("ERL_EPMD_PORT");
  }
  ~EnvPort() {
    if (old_)
      ::setenv("ERL_EPMD_PORT", old_->c_str(), 1);
    else
      ::unsetenv("ERL_EPMD_PORT");
  }

 private:
  std::optional<std::string> old_;
};

TEST(EpmdPort, ParsePort) {
  EXPECT_EQ(parse_port("4369"), 4369);
  EXPECT_EQ(parse_port("1"), 1);
  EXPECT_EQ(parse_port("65535"), 65535);
  EXPECT_FALSE(parse_port(""));
  EXPECT_FALSE(parse_port("0"));
  EXPECT_FALSE(parse_port("65536"));
  EXPECT_FALSE(parse_port("-1"));
  EXPECT_FALSE(parse_port("+5"));
  EXPECT_FALSE(parse_port(" 5"));
  EXPECT_FALSE(parse_port("5x"));
  EXPECT_FALSE(parse_port("0000004369"));
}

TEST(EpmdPort, DefaultWithoutEnvironment) {
  EnvPort env(nullptr);
  EXPECT_FALSE(port_from_environment());
  EXPECT_EQ(resolve_port(), 4369);
  EXPECT_EQ(resolve_port(1234), 1234);
}

TEST(EpmdPort, EnvironmentOverridesDefaultButNotExplicit) {
  EnvPort env("5555");
  EXPECT_EQ(port_from_environment(), 5555);
  EXPECT_EQ(resolve_port(), 5555);
  EXPECT_EQ(resolve_port(1234), 1234);
}

TEST(EpmdPort, InvalidEnvironmentIsIgnored) {
  EnvPort env("not-a-port");
  EXPECT_FALSE(port_from_environment());
  EXPECT_EQ(resolve_port(), 4369);
}

}  // namespace
}  // namespace edist::epmd
