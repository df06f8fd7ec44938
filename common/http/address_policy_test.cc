#include "common/http/address_policy.h"

#include "gtest/gtest.h"

namespace niftysave::http {
namespace {

TEST(AddressPolicyTest, PublicOnlyRefusesInternalRanges) {
  auto policy = AddressPolicy::PublicOnly({});
  ASSERT_TRUE(policy.ok());
  for (const char* ip :
       {"127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.0.1", "172.31.255.255",
        "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
        "255.255.255.255", "::1", "::", "fe80::1", "fd00::1", "ff02::1",
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe"}) {
    EXPECT_FALSE(policy->Allows(ip)) << ip;
  }
  for (const char* ip : {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1",
                         "2606:4700::1111", "::ffff:8.8.8.8"}) {
    EXPECT_TRUE(policy->Allows(ip)) << ip;
  }
}

// Every IPv6 form that a relay or translator turns into an IPv4 dial is
// judged by that IPv4: a private one inside is refused, a public one is not.
TEST(AddressPolicyTest, JudgesTheIpv4InsideIpv6Forms) {
  auto policy = AddressPolicy::PublicOnly({});
  ASSERT_TRUE(policy.ok());
  for (const char* ip :
       {"::127.0.0.1", "::a9fe:a9fe",          // IPv4-compatible
        "64:ff9b::7f00:1", "64:ff9b::a00:1",   // NAT64
        "64:ff9b:1::808:808",                  // local-use NAT64
        "2002:a9fe:a9fe::1", "2002:7f00:1::",  // 6to4
        "2002:c0a8:101::1",                    // 6to4 192.168.1.1
        "2001:0:a9fe:a9fe::f7f7:f7f7",         // Teredo server private
        "2001:0:808:808::80ff:fffe",           // Teredo client 127.0.0.1
        "2001:0:808:808::5601:5601"}) {        // Teredo client 169.254.x
    EXPECT_FALSE(policy->Allows(ip)) << ip;
  }
  for (const char* ip : {"2002:808:808::1", "64:ff9b::808:808", "::8.8.8.8",
                         "2001:0:808:808::f7f7:f7f7"}) {
    EXPECT_TRUE(policy->Allows(ip)) << ip;
  }
}

TEST(AddressPolicyTest, AllowListOpensOnlyWhatItNames) {
  auto policy = AddressPolicy::PublicOnly({"127.0.0.1", "10.1.0.0/16"});
  ASSERT_TRUE(policy.ok());
  EXPECT_TRUE(policy->Allows("127.0.0.1"));
  EXPECT_FALSE(policy->Allows("127.0.0.2"));
  EXPECT_TRUE(policy->Allows("10.1.200.3"));
  EXPECT_FALSE(policy->Allows("10.2.0.1"));
  EXPECT_FALSE(policy->Allows("169.254.169.254"));
}

TEST(AddressPolicyTest, RejectsMalformedAllowEntries) {
  EXPECT_FALSE(AddressPolicy::PublicOnly({"localhost"}).ok());
  EXPECT_FALSE(AddressPolicy::PublicOnly({"10.0.0.0/33"}).ok());
  EXPECT_FALSE(AddressPolicy::PublicOnly({"10.0.0.0/x"}).ok());
  EXPECT_TRUE(AddressPolicy::AllowAll().Allows("127.0.0.1"));
}

}  // namespace
}  // namespace niftysave::http
