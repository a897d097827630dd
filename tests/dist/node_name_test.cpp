#include "edist/dist/node_name.hpp"

#include <gtest/gtest.h>

#include <string>

#include "edist/dist/error.hpp"

namespace edist::dist {
namespace {

TEST(NodeName, Splits) {
  auto p = split_node_name("foo@bar.example.org");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "foo");
  EXPECT_EQ(p->host, "bar.example.org");
}

TEST(NodeName, RejectsMalformed) {
  for (const char* bad : {"", "foo", "@host", "foo@", "a@b@c", "@"}) {
    EXPECT_FALSE(split_node_name(bad)) << bad;
  }
  EXPECT_FALSE(split_node_name(std::string(200, 'a') + "@" + std::string(60, 'b')));
  EXPECT_TRUE(split_node_name(std::string(200, 'a') + "@" + std::string(54, 'b')));
}

TEST(NodeName, HostTypes) {
  EXPECT_EQ(host_name_type("localhost"), name_type::short_name);
  EXPECT_EQ(host_name_type("host.example.org"), name_type::long_name);
  EXPECT_EQ(host_name_type("127.0.0.1"), name_type::long_name);
  EXPECT_EQ(host_name_type("::1"), name_type::long_name);
}

TEST(NodeName, MixingShortAndLongIsAnErrorNamingBoth) {
  std::string detail;
  EXPECT_EQ(check_node_names("a@localhost", "b@host.example.org", &detail),
            errc::name_type_mismatch);
  EXPECT_NE(detail.find("a@localhost"), std::string::npos) << detail;
  EXPECT_NE(detail.find("b@host.example.org"), std::string::npos) << detail;
  EXPECT_NE(detail.find("short"), std::string::npos);
  EXPECT_NE(detail.find("long"), std::string::npos);

  EXPECT_EQ(check_node_names("a@127.0.0.1", "b@localhost"), errc::name_type_mismatch);
  EXPECT_FALSE(check_node_names("a@localhost", "b@otherhost"));
  EXPECT_FALSE(check_node_names("a@127.0.0.1", "b@x.example.org"));
}

TEST(NodeName, InvalidNamesAreReported) {
  std::string detail;
  EXPECT_EQ(check_node_names("nohost", "b@h", &detail), errc::invalid_node_name);
  EXPECT_NE(detail.find("nohost"), std::string::npos);
  EXPECT_EQ(check_node_names("a@h", "b@", &detail), errc::invalid_node_name);
  EXPECT_NE(detail.find("b@"), std::string::npos);
}

}  // namespace
}  // namespace edist::dist
