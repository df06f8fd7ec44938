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
