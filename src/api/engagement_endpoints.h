// api/engagement_endpoints.h: herald's public, unsigned engagement URLs over an
// sending::Engagement.
//
// Contract:
// - GET|HEAD /t/o/<token>: the open pixel (a 1x1 transparent GIF, never cached) after
//   the open is recorded; 404 for a refused token; 503 when it could not be recorded.
// - GET|HEAD /t/c/<token>: 302 to the link the token holds; 404 page for a refused token
//   or a link that could not be a Location; 503 when the click could not be recorded.
// - GET /u/<token>: the unsubscribe page: who, which list and topic, and a form with two
//   choices (this topic, or everything) that POSTs back to the same URL. 404 for a refused
//   token or a list that no longer exists.
// - POST /u/<token>: RFC 8058 one-click ("List-Unsubscribe=One-Click", urlencoded or
//   multipart/form-data, as mail clients send it) or the page's form ("choice=all" or
//   "choice=topic"). 200 page once the choice is stored; 404 as above; 400 for a body that
//   is neither; 503 when the store failed (clients retry). Never a redirect (RFC 8058).
// - Anything else under /t/ or /u/: 404, or 405 for another method.
// Thread-safety: as HttpHandler; the Engagement must be safe from any thread.
// Trust: every byte comes from anyone on the Internet; the token is checked by the
// Engagement, the rest is HTML-escaped before it is shown.
#pragma once

#include "api/http_handler.h"
#include "sending/engagement.h"

namespace herald::api {

class EngagementEndpoints final : public HttpHandler {
 public:
  explicit EngagementEndpoints(sending::Engagement& engagement) : engagement_(engagement) {}
  HttpResponse Handle(const HttpRequest& request) override;

 private:
  sending::Engagement& engagement_;
};

}  // namespace herald::api
