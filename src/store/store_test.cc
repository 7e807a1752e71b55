#include "store/store.h"

#include <gtest/gtest.h>

#include <string>

namespace herald::store {
namespace {

TEST(StoreNamesTest, IdentityTypeNamesRoundTrip) {
  EXPECT_STREQ(IdentityTypeName(IdentityType::kEmailAddress), "EMAIL_ADDRESS");
  EXPECT_STREQ(IdentityTypeName(IdentityType::kDomain), "DOMAIN");
  EXPECT_EQ(ParseIdentityType("DOMAIN"), IdentityType::kDomain);
  EXPECT_EQ(ParseIdentityType("EMAIL_ADDRESS"), IdentityType::kEmailAddress);
  EXPECT_EQ(ParseIdentityType("domain"), std::nullopt);
  EXPECT_EQ(ParseIdentityType(""), std::nullopt);
}

TEST(StoreNamesTest, VerificationStatusNamesRoundTrip) {
  const std::pair<VerificationStatus, const char*> cases[] = {
      {VerificationStatus::kPending, "PENDING"},
      {VerificationStatus::kSuccess, "SUCCESS"},
      {VerificationStatus::kFailed, "FAILED"},
      {VerificationStatus::kTemporaryFailure, "TEMPORARY_FAILURE"},
      {VerificationStatus::kNotStarted, "NOT_STARTED"},
  };
  for (const auto& [status, name] : cases) {
    EXPECT_STREQ(VerificationStatusName(status), name);
    EXPECT_EQ(ParseVerificationStatus(name), status);
  }
  EXPECT_EQ(ParseVerificationStatus("SUCCESS "), std::nullopt);
}

TEST(StoreNamesTest, KeyStatusNamesRoundTrip) {
  EXPECT_STREQ(KeyStatusName(KeyStatus::kActive), "Active");
  EXPECT_STREQ(KeyStatusName(KeyStatus::kInactive), "Inactive");
  EXPECT_EQ(ParseKeyStatus("Inactive"), KeyStatus::kInactive);
  EXPECT_EQ(ParseKeyStatus("ACTIVE"), std::nullopt);
}

TEST(StoreValidateTest, AccountName) {
  EXPECT_TRUE(ValidateAccountName("acme").ok());
  EXPECT_EQ(ValidateAccountName("").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateAccountName(std::string(kMaxAccountNameLength + 1, 'a')).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateAccountName(std::string(kMaxAccountNameLength, 'a')).ok());
  EXPECT_EQ(ValidateAccountName(std::string("a\0b", 3)).code(), StatusCode::kInvalidArgument);
}

TEST(StoreValidateTest, ContactEmailMayBeEmpty) {
  EXPECT_TRUE(ValidateContactEmail("").ok());
  EXPECT_EQ(ValidateContactEmail(std::string(kMaxEmailLength + 1, 'x')).code(),
            StatusCode::kInvalidArgument);
}

TEST(StoreValidateTest, AccessKey) {
  AccessKey key;
  key.access_key_id = "AKIAAAAAAAAAAAAAAAAA";
  key.secret = std::string(40, 's');
  EXPECT_TRUE(ValidateAccessKey(key).ok());
  key.secret.clear();
  EXPECT_EQ(ValidateAccessKey(key).code(), StatusCode::kInvalidArgument);
  key.secret = "x";
  key.access_key_id.clear();
  EXPECT_EQ(ValidateAccessKey(key).code(), StatusCode::kInvalidArgument);
  key.access_key_id = "AKIA";
  key.status = static_cast<KeyStatus>(7);
  EXPECT_EQ(ValidateAccessKey(key).code(), StatusCode::kInvalidArgument);
}

TEST(StoreValidateTest, Identity) {
  Identity id;
  id.name = "example.com";
  EXPECT_TRUE(ValidateIdentity(id).ok());
  id.tags_json = std::string(kMaxTagsJsonLength + 1, ' ');
  EXPECT_EQ(ValidateIdentity(id).code(), StatusCode::kInvalidArgument);
  id.tags_json = "[]";
  id.verification_token = std::string(kMaxTokenLength + 1, 't');
  EXPECT_EQ(ValidateIdentity(id).code(), StatusCode::kInvalidArgument);
  id.verification_token = "t";
  id.type = static_cast<IdentityType>(9);
  EXPECT_EQ(ValidateIdentity(id).code(), StatusCode::kInvalidArgument);
  id.type = IdentityType::kDomain;
  id.status = static_cast<VerificationStatus>(42);
  EXPECT_EQ(ValidateIdentity(id).code(), StatusCode::kInvalidArgument);
}

TEST(StoreValidateTest, ListLimitIsPositiveAndClamped) {
  EXPECT_EQ(ValidateListLimit(0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateListLimit(-3).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*ValidateListLimit(7), 7);
  EXPECT_EQ(*ValidateListLimit(kMaxListLimit + 5), kMaxListLimit);
}

TEST(StoreValidateTest, SendCount) {
  EXPECT_TRUE(ValidateSendCount(0).ok());
  EXPECT_TRUE(ValidateSendCount(kMaxSendsPerRecord).ok());
  EXPECT_EQ(ValidateSendCount(-1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateSendCount(kMaxSendsPerRecord + 1).code(), StatusCode::kInvalidArgument);
}

TEST(StoreBucketTest, MinuteIsFloorOfUnixMinutes) {
  EXPECT_EQ(SendBucketMinute(FromUnixMillis(0)), 0);
  EXPECT_EQ(SendBucketMinute(FromUnixMillis(59999)), 0);
  EXPECT_EQ(SendBucketMinute(FromUnixMillis(60000)), 1);
  EXPECT_EQ(SendBucketMinute(FromUnixMillis(1795000000000)), 1795000000000 / 60000);
  EXPECT_EQ(SendBucketMinute(FromUnixMillis(-1)), -1);
}

}  // namespace
}  // namespace herald::store
