// sending/reply_mapping.h: how each door words a Rejection on its own wire.
//
// Contract: pure functions. The SMTP reply is one line without CRLF, starting with the
// three-digit code; the HTTP error carries the status, the x-amzn-ErrorType code and the
// message for {"message": ...}. Texts follow SES (ses-reference.md sections 0, 3 and 8).
// Thread-safety: pure. Trust: the rejection message may quote client input; callers
// sanitise CR/LF (the SMTP mapping replaces them with spaces itself).
#pragma once

#include <string>

#include "sending/sending_service.h"

namespace herald::sending {

struct HttpError {
  int status = 400;
  std::string code;
  std::string message;
};

std::string SmtpReplyFor(const Rejection& r);
HttpError HttpErrorFor(const Rejection& r);
// The v1 Query API's codes are api::V1ErrorForRejection (api/query_form.h).

}  // namespace herald::sending
