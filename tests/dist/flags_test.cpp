#include "edist/dist/flags.hpp"

#include <gtest/gtest.h>

namespace edist::dist {
namespace {

TEST(Flags, ValuesMatchOtpDistHrl) {
  EXPECT_EQ(dflag::published, 0x1u);
  EXPECT_EQ(dflag::extended_references, 0x4u);
  EXPECT_EQ(dflag::dist_monitor_name, 0x20u);
  EXPECT_EQ(dflag::utf8_atoms, 0x10000u);
  EXPECT_EQ(dflag::handshake_23, 0x1000000u);
  EXPECT_EQ(dflag::mandatory_25_digest, 0x4000000u);
  EXPECT_EQ(dflag::spawn, 0x100000000u);
  EXPECT_EQ(dflag::v4_nc, 0x400000000u);
  EXPECT_EQ(dflag::alias, 0x800000000u);
  // MANDATORY_DFLAGS_25 as dist.hrl spells it.
  EXPECT_EQ(mandatory_otp25, 0x1000000u | 0x40000u | 0x20000u | 0x10000u | 0x800u | 0x400u |
                                 0x200u | 0x100u | 0x80u | 0x10u | 0x4u);
}

TEST(Flags, AdvertisedSetsDifferOnlyInPublished) {
  const dist_flags visible = advertised_flags(visibility::visible);
  const dist_flags hidden = advertised_flags(visibility::hidden);
  EXPECT_EQ(visible & ~hidden, dflag::published);
  EXPECT_EQ(hidden & dflag::published, 0u);
  for (dist_flags f : {mandatory_otp26, dflag::mandatory_25_digest, dflag::dist_monitor,
                       dflag::dist_monitor_name, dflag::spawn, dflag::alias, dflag::fragments,
                       dflag::dist_hdr_atom_cache, dflag::small_atom_tags, dflag::send_sender,
                       dflag::exit_payload, dflag::big_seqtrace_labels, dflag::unicode_io}) {
    EXPECT_EQ(hidden & f, f) << flag_names(f);
  }
  EXPECT_EQ(hidden & dflag::name_me, 0u);
}

TEST(Flags, DigestExpandsToMandatory25) {
  EXPECT_EQ(missing_flags(mandatory_otp25, dflag::mandatory_25_digest), 0u);
  EXPECT_EQ(missing_flags(mandatory_otp26, dflag::mandatory_25_digest), mandatory_otp26_additions);
  EXPECT_EQ(negotiate_flags(advertised_flags(visibility::hidden), dflag::mandatory_25_digest),
            mandatory_otp25 | dflag::mandatory_25_digest);
}

TEST(Flags, NegotiationIsTheAnd) {
  const dist_flags ours = advertised_flags(visibility::visible);
  const dist_flags peer = mandatory_otp26 | dflag::dist_monitor | dflag::published;
  EXPECT_EQ(negotiate_flags(ours, peer), peer);
  EXPECT_EQ(negotiate_flags(advertised_flags(visibility::hidden), peer) & dflag::published, 0u);
}

TEST(Flags, NamesMissingFlagsLowestFirst) {
  EXPECT_EQ(flag_names(0), "");
  EXPECT_EQ(flag_names(dflag::map_tag | dflag::utf8_atoms), "UTF8_ATOMS, MAP_TAG");
  EXPECT_EQ(flag_names(dflag::v4_nc | dflag::unlink_id), "UNLINK_ID, V4_NC");
  EXPECT_EQ(flag_names(dist_flags{1} << 40), "bit 40");
  EXPECT_EQ(flag_name(dflag::handshake_23), "HANDSHAKE_23");
  EXPECT_EQ(flag_name(dist_flags{1} << 63), "UNKNOWN");
}

}  // namespace
}  // namespace edist::dist
