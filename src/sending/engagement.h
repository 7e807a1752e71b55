// sending/engagement.h: what recipients do with a sent message, as herald's public HTTP
// endpoints report it: opens (the tracking pixel), clicks (tracked links) and
// unsubscribes (the List-Unsubscribe link and its RFC 8058 one-click POST).
//
// Contract: every call takes the sealed token from the URL (mail/tracking.h) and refuses
// one that is forged, altered, expired or of the wrong kind with kPermissionDenied,
// changing nothing. Accepted opens and clicks publish an Open or Click event to the
// message's configuration set and count the first of each per (message, recipient) as a
// unique open or click; Click returns the original URL. Unsubscribe records the choice on
// the contact (opt out of the token's topic, or of everything) and publishes a
// Subscription event when the preferences changed; doing it again changes nothing and
// succeeds. kUnavailable (and other store errors) when the choice could not be kept: the
// caller answers 5xx so that mail clients retry.
// Thread-safety: implementations are safe from any thread.
// Trust: tokens, addresses and user agents come from anyone on the Internet.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace herald::sending {

// Who followed the link, as the HTTP request says.
struct Visit {
  std::string ip;
  std::string user_agent;
};

// What the unsubscribe page shows.
struct UnsubscribeView {
  std::string email;
  std::string contact_list;
  std::string topic;               // "" when the mail named none
  std::string topic_display_name;  // the topic's DisplayName, or its name
  bool unsubscribed_all = false;
  bool topic_opted_out = false;  // the contact no longer receives the topic
};

class Engagement {
 public:
  virtual ~Engagement() = default;
  virtual Status Open(std::string_view token, const Visit& visit) = 0;
  // The URL to redirect to.
  virtual StatusOr<std::string> Click(std::string_view token, const Visit& visit) = 0;
  virtual StatusOr<UnsubscribeView> ShowUnsubscribe(std::string_view token) = 0;
  // `all`: from every topic of the list (UnsubscribeAll); else from the token's topic
  // (everything when it names none). `one_click`: the RFC 8058 POST (the event's source is
  // "UnsubscribeHeader"), else the page's form ("UnsubscribeLink").
  virtual StatusOr<UnsubscribeView> Unsubscribe(std::string_view token, bool all, bool one_click,
                                                const Visit& visit) = 0;
};

}  // namespace herald::sending
