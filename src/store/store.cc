#include "store/store.h"

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "base/strings.h"

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

namespace {

bool OneOf(const std::string& value, std::initializer_list<std::string_view> allowed) {
  for (std::string_view a : allowed) {
    if (value == a) return true;
  }
  return false;
}

bool KnownStatus(VerificationStatus s) {
  return ParseVerificationStatus(VerificationStatusName(s)).has_value();
}

}  // namespace

Status ValidateIdentityDkim(const Identity& identity) {
  if (!OneOf(identity.dkim_origin, {"AWS_SES", "EXTERNAL"})) {
    return InvalidArgumentError("unknown DKIM signing attributes origin");
  }
  if (!OneOf(identity.dkim_algorithm, {"rsa-sha256", "ed25519-sha256"})) {
    return InvalidArgumentError("unknown DKIM algorithm");
  }
  if (!OneOf(identity.dkim_key_length, {"", "RSA_1024_BIT", "RSA_2048_BIT"}) ||
      !OneOf(identity.dkim_next_key_length, {"RSA_1024_BIT", "RSA_2048_BIT"})) {
    return InvalidArgumentError("unknown DKIM signing key length");
  }
  if (!KnownStatus(identity.dkim_status)) return InvalidArgumentError("unknown DKIM status");
  RETURN_IF_ERROR(CheckText("DKIM selector", identity.dkim_selector, kMaxDkimSelectorLength, true));
  RETURN_IF_ERROR(
      CheckText("DKIM private key", identity.dkim_private_key_pem, kMaxDkimKeyPemLength, true));
  if (identity.dkim_selector.empty() != identity.dkim_private_key_pem.empty()) {
    return InvalidArgumentError("a DKIM selector needs a private key and the reverse");
  }
  return Status::Ok();
}

Status ValidateIdentityMailFrom(const Identity& identity) {
  RETURN_IF_ERROR(CheckText("MAIL FROM domain", identity.mail_from_domain, kMaxDomainLength, true));
  if (!OneOf(identity.mail_from_behavior, {"USE_DEFAULT_VALUE", "REJECT_MESSAGE"})) {
    return InvalidArgumentError("unknown behavior on MX failure");
  }
  if (!KnownStatus(identity.mail_from_status)) {
    return InvalidArgumentError("unknown MAIL FROM domain status");
  }
  return Status::Ok();
}

Status ValidateIdentityNotifications(const Identity& identity) {
  const std::pair<std::string_view, const std::string*> topics[] = {
      {"bounce topic", &identity.bounce_topic},
      {"complaint topic", &identity.complaint_topic},
      {"delivery topic", &identity.delivery_topic}};
  for (const auto& [what, topic] : topics) {
    if (topic->size() > kMaxNotificationTopicLength) {
      return InvalidArgumentError(std::string(what) + " is longer than " +
                                  std::to_string(kMaxNotificationTopicLength) + " bytes");
    }
    for (char c : *topic) {
      if (c < 0x21 || c > 0x7e) {
        return InvalidArgumentError(std::string(what) + " must be printable ASCII without spaces");
      }
    }
  }
  return Status::Ok();
}

Status ValidateIdentity(const Identity& identity) {
  RETURN_IF_ERROR(CheckText("identity name", identity.name, kMaxIdentityNameLength, false));
  RETURN_IF_ERROR(ValidateIdentityDkim(identity));
  RETURN_IF_ERROR(ValidateIdentityMailFrom(identity));
  RETURN_IF_ERROR(ValidateIdentityNotifications(identity));
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

bool IsPlainName(std::string_view name, size_t max_length) {
  if (name.empty() || name.size() > max_length) return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsConfigurationSetName(std::string_view name) {
  return IsPlainName(name, kMaxConfigurationSetNameLength);
}

Status ValidateConfigurationSet(const ConfigurationSet& set) {
  if (!IsConfigurationSetName(set.name)) {
    return InvalidArgumentError(
        "configuration set name must be 1 to 64 letters, digits, '_' or '-'");
  }
  if (!OneOf(set.tls_policy, {"REQUIRE", "OPTIONAL"})) {
    return InvalidArgumentError("unknown TLS policy");
  }
  if (set.max_delivery_seconds != 0 && (set.max_delivery_seconds < kMinMaxDeliverySeconds ||
                                        set.max_delivery_seconds > kMaxMaxDeliverySeconds)) {
    return InvalidArgumentError("max delivery seconds out of range: " +
                                std::to_string(set.max_delivery_seconds));
  }
  RETURN_IF_ERROR(
      CheckText("sending pool name", set.sending_pool_name, kMaxSendingPoolNameLength, true));
  RETURN_IF_ERROR(
      CheckText("tracking options", set.tracking_options_json, kMaxOptionsJsonLength, true));
  RETURN_IF_ERROR(
      CheckText("suppression options", set.suppression_options_json, kMaxOptionsJsonLength, true));
  RETURN_IF_ERROR(CheckText("VDM options", set.vdm_options_json, kMaxOptionsJsonLength, true));
  RETURN_IF_ERROR(CheckText("archive ARN", set.archive_arn, kMaxArchiveArnLength, true));
  RETURN_IF_ERROR(CheckText("tags", set.tags_json, kMaxTagsJsonLength, false));
  return Status::Ok();
}

std::chrono::seconds EffectiveMaxDelivery(const ConfigurationSet& set) {
  return std::chrono::seconds(set.max_delivery_seconds != 0 ? set.max_delivery_seconds
                                                            : kDefaultMaxDeliverySeconds);
}

StatusOr<std::optional<Identity>> FindDomainIdentity(Store& store, int64_t account_id,
                                                     const std::string& domain) {
  std::string_view candidate = domain;
  while (!candidate.empty()) {
    StatusOr<Identity> found = store.GetIdentity(account_id, std::string(candidate));
    if (found.ok() && found->type == IdentityType::kDomain) {
      return std::optional<Identity>(std::move(found).value());
    }
    if (!found.ok() && found.status().code() != StatusCode::kNotFound) return found.status();
    const size_t dot = candidate.find('.');
    if (dot == std::string_view::npos) break;
    candidate.remove_prefix(dot + 1);
    if (candidate.find('.') == std::string_view::npos) break;  // never a bare TLD
  }
  return std::optional<Identity>();
}

const char* SuppressionReasonName(SuppressionReason r) {
  return r == SuppressionReason::kComplaint ? "COMPLAINT" : "BOUNCE";
}

std::optional<SuppressionReason> ParseSuppressionReason(std::string_view name) {
  if (name == "BOUNCE") return SuppressionReason::kBounce;
  if (name == "COMPLAINT") return SuppressionReason::kComplaint;
  return std::nullopt;
}

std::string FormatSuppressionReasons(SuppressionReasons reasons) {
  if (reasons.bounce && reasons.complaint) return "BOUNCE,COMPLAINT";
  if (reasons.bounce) return "BOUNCE";
  if (reasons.complaint) return "COMPLAINT";
  return "";
}

std::optional<SuppressionReasons> ParseSuppressionReasons(std::string_view text) {
  SuppressionReasons out{false, false};
  if (text.empty()) return out;
  for (std::string_view part : Split(text, ',')) {
    std::optional<SuppressionReason> r = ParseSuppressionReason(part);
    if (!r) return std::nullopt;
    bool& flag = *r == SuppressionReason::kBounce ? out.bounce : out.complaint;
    if (flag) return std::nullopt;  // named twice
    flag = true;
  }
  return out;
}

std::string SuppressionKey(std::string_view address) { return AsciiLower(address); }

Status ValidateSuppressedDestination(const SuppressedDestination& entry) {
  RETURN_IF_ERROR(CheckText("suppressed address", entry.address, kMaxEmailLength, false));
  if (!ParseSuppressionReason(SuppressionReasonName(entry.reason)) ||
      (entry.reason != SuppressionReason::kBounce &&
       entry.reason != SuppressionReason::kComplaint)) {
    return InvalidArgumentError("unknown suppression reason");
  }
  RETURN_IF_ERROR(CheckText("message id", entry.message_id, kMaxSuppressionIdLength, true));
  RETURN_IF_ERROR(CheckText("feedback id", entry.feedback_id, kMaxSuppressionIdLength, true));
  RETURN_IF_ERROR(CheckText("diagnostic", entry.diagnostic, kMaxSuppressionDiagnosticLength, true));
  return Status::Ok();
}

Status ValidateSuppressionValidationJson(const std::string& json) {
  return CheckText("suppression validation attributes", json, kMaxOptionsJsonLength, true);
}

Status ValidateGlobalBounce(const GlobalBounce& bounce) {
  RETURN_IF_ERROR(CheckText("bounced address", bounce.address, kMaxEmailLength, false));
  return CheckText("diagnostic", bounce.diagnostic, kMaxSuppressionDiagnosticLength, true);
}

Status ValidateBatchSize(size_t n, size_t max, std::string_view what) {
  if (n > max) {
    return InvalidArgumentError(std::string(what) + ": " + std::to_string(n) +
                                " items, more than " + std::to_string(max));
  }
  return Status::Ok();
}

GlobalSuppression NextGlobalListing(const GlobalSuppression* previous, const GlobalBounce& bounce,
                                    const GlobalListingPolicy& policy) {
  const SysTime at = FromUnixMillis(UnixMillis(bounce.at));
  GlobalSuppression next;
  next.address = SuppressionKey(bounce.address);
  next.last_bounce = at;
  next.diagnostic = bounce.diagnostic;
  if (previous != nullptr && at < previous->listed_until) {
    // Mail sent before the listing: the same incident, not a repeat.
    next.listed_until = previous->listed_until;
    next.bounce_count = previous->bounce_count;
    next.last_bounce = std::max(previous->last_bounce, at);
    return next;
  }
  const bool forgiven = previous == nullptr || previous->listed_until + policy.max_listing < at;
  next.bounce_count = forgiven ? 1 : previous->bounce_count + 1;
  std::chrono::seconds period = std::max(policy.first_listing, std::chrono::seconds(1));
  for (int64_t i = 1; i < next.bounce_count && period < policy.max_listing; ++i) period *= 2;
  period = std::min(period, policy.max_listing);
  next.listed_until = at + period;
  return next;
}

int64_t SendBucketMinute(SysTime t) {
  int64_t ms = UnixMillis(t);
  int64_t minute = ms / 60000;
  if (ms % 60000 < 0) --minute;  // floor for times before the epoch
  return minute;
}

std::string AccountNumber(int64_t account_id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%012lld", static_cast<long long>(100000000000LL + account_id));
  return buf;
}

}  // namespace herald::store
