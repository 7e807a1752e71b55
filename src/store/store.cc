#include "store/store.h"

#include <string_view>

namespace herald::store {
namespace {

// Non-empty, at most `max` bytes, no NUL (SQLite text and C APIs stop at NUL).
Status CheckText(std::string_view what, const std::string& value, size_t max, bool allow_empty) {
  if (value.empty() && !allow_empty) {
    return InvalidArgumentError(std::string(what) + " must not be empty");
  }
  if (value.size() > max) {
    return InvalidArgumentError(std::string(what) + " is longer than " + std::to_string(max) +
                                " bytes");
  }
  if (value.find('\0') != std::string::npos) {
    return InvalidArgumentError(std::string(what) + " contains a NUL byte");
  }
  return Status::Ok();
}

}  // namespace

const char* IdentityTypeName(IdentityType t) {
  switch (t) {
    case IdentityType::kEmailAddress:
      return "EMAIL_ADDRESS";
    case IdentityType::kDomain:
      return "DOMAIN";
  }
  return "UNKNOWN";
}

const char* VerificationStatusName(VerificationStatus s) {
  switch (s) {
    case VerificationStatus::kPending:
      return "PENDING";
    case VerificationStatus::kSuccess:
      return "SUCCESS";
    case VerificationStatus::kFailed:
      return "FAILED";
    case VerificationStatus::kTemporaryFailure:
      return "TEMPORARY_FAILURE";
    case VerificationStatus::kNotStarted:
      return "NOT_STARTED";
  }
  return "UNKNOWN";
}

const char* KeyStatusName(KeyStatus s) {
  switch (s) {
    case KeyStatus::kActive:
      return "Active";
    case KeyStatus::kInactive:
      return "Inactive";
  }
  return "Unknown";
}

std::optional<IdentityType> ParseIdentityType(std::string_view name) {
  for (IdentityType t : {IdentityType::kEmailAddress, IdentityType::kDomain}) {
    if (name == IdentityTypeName(t)) return t;
  }
  return std::nullopt;
}

std::optional<VerificationStatus> ParseVerificationStatus(std::string_view name) {
  for (VerificationStatus s :
       {VerificationStatus::kPending, VerificationStatus::kSuccess, VerificationStatus::kFailed,
        VerificationStatus::kTemporaryFailure, VerificationStatus::kNotStarted}) {
    if (name == VerificationStatusName(s)) return s;
  }
  return std::nullopt;
}

std::optional<KeyStatus> ParseKeyStatus(std::string_view name) {
  for (KeyStatus s : {KeyStatus::kActive, KeyStatus::kInactive}) {
    if (name == KeyStatusName(s)) return s;
  }
  return std::nullopt;
}

Status ValidateAccountName(const std::string& name) {
  return CheckText("account name", name, kMaxAccountNameLength, false);
}

Status ValidateContactEmail(const std::string& email) {
  return CheckText("contact email", email, kMaxEmailLength, true);
}

Status ValidateAccessKey(const AccessKey& key) {
  RETURN_IF_ERROR(CheckText("access key id", key.access_key_id, kMaxAccessKeyIdLength, false));
  RETURN_IF_ERROR(CheckText("secret", key.secret, kMaxSecretLength, false));
  if (key.status != KeyStatus::kActive && key.status != KeyStatus::kInactive) {
    return InvalidArgumentError("unknown access key status");
  }
  return Status::Ok();
}

Status ValidateIdentity(const Identity& identity) {
  RETURN_IF_ERROR(CheckText("identity name", identity.name, kMaxIdentityNameLength, false));
  RETURN_IF_ERROR(
      CheckText("verification token", identity.verification_token, kMaxTokenLength, true));
  RETURN_IF_ERROR(CheckText("tags", identity.tags_json, kMaxTagsJsonLength, false));
  if (!ParseIdentityType(IdentityTypeName(identity.type))) {
    return InvalidArgumentError("unknown identity type");
  }
  if (!ParseVerificationStatus(VerificationStatusName(identity.status))) {
    return InvalidArgumentError("unknown verification status");
  }
  return Status::Ok();
}

StatusOr<int> ValidateListLimit(int limit) {
  if (limit <= 0) return InvalidArgumentError("list limit must be positive");
  return limit > kMaxListLimit ? kMaxListLimit : limit;
}

Status ValidateSendCount(int64_t count) {
  if (count < 0 || count > kMaxSendsPerRecord) {
    return InvalidArgumentError("send count out of range: " + std::to_string(count));
  }
  return Status::Ok();
}

int64_t SendBucketMinute(SysTime t) {
  int64_t ms = UnixMillis(t);
  int64_t minute = ms / 60000;
  if (ms % 60000 < 0) --minute;  // floor for times before the epoch
  return minute;
}

}  // namespace herald::store
