#include "sending/reply_mapping.h"

namespace herald::sending {
namespace {

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return s;
}

}  // namespace

std::string SmtpReplyFor(const Rejection& r) {
  const std::string m = OneLine(r.message);
  switch (r.kind) {
    case RejectKind::kMessageRejected:
    case RejectKind::kNotVerified:
    case RejectKind::kSendingPaused:
    case RejectKind::kConfigSetPaused:
    case RejectKind::kAccountSuspended:
      return "554 Message rejected: " + m;
    case RejectKind::kBadRequest:
    case RejectKind::kNotFound:
      return "554 Transaction failed: " + m;
    case RejectKind::kConfigSetNotFound:
      return "554 Configuration Set does not exist: " + m;
    case RejectKind::kMaxSendRate:
      return "454 Throttling failure: Maximum sending rate exceeded.";
    case RejectKind::kDailyQuota:
      return "454 Throttling failure: Daily message quota exceeded.";
    case RejectKind::kTooLarge:
      return "552 Message is too long.";
    case RejectKind::kTemporary:
      return "451 Temporary service failure";
  }
  return "451 Temporary service failure";
}

HttpError HttpErrorFor(const Rejection& r) {
  switch (r.kind) {
    case RejectKind::kMessageRejected:
    case RejectKind::kNotVerified:
    case RejectKind::kTooLarge:
      return {400, "MessageRejected", r.message};
    case RejectKind::kBadRequest:
      return {400, "BadRequestException", r.message};
    case RejectKind::kSendingPaused:
    case RejectKind::kConfigSetPaused:  // SESv2 has no separate code for a paused set
      return {400, "SendingPausedException", r.message};
    case RejectKind::kAccountSuspended:
      return {400, "AccountSuspendedException", r.message};
    case RejectKind::kConfigSetNotFound:
    case RejectKind::kNotFound:
      return {404, "NotFoundException", r.message};
    case RejectKind::kMaxSendRate:
      return {429, "TooManyRequestsException", "Maximum sending rate exceeded."};
    case RejectKind::kDailyQuota:
      return {429, "TooManyRequestsException", "Daily message quota exceeded."};
    case RejectKind::kTemporary:
      return {500, "InternalServiceErrorException", r.message};
  }
  return {500, "InternalServiceErrorException", r.message};
}

}  // namespace herald::sending
