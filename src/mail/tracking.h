// mail/tracking.h: engagement tracking (SES Open and Click events): sealed tracking tokens
// and the rewriting of a message's HTML so that opens and clicks pass through herald's
// tracking host.
//
// Contract:
// - SealToken/OpenToken: a token is base64url (no padding) of a compact binary
//   serialisation of a TrackingToken followed by the first 16 bytes of an HMAC-SHA256 of it
//   under the tracking key. OpenToken refuses (kPermissionDenied) anything that is not a
//   token sealed by one of the given keys: forged, truncated, altered, garbage, longer than
//   kMaxSealedTokenSize (refused before decoding), or of an unknown version or kind; and,
//   with a different message, a genuine token that is older than max_age_seconds or
//   issued more than kMaxClockSkewSeconds in the future. MACs are compared in constant
//   time. Key rotation: seal with the current key, open with {current, previous...}.
//   The caller checks the token's kind: an open token presented at the click endpoint
//   opens fine and says kOpen.
// - AddTracking: walks the MIME tree of an RFC 5322 message (CRLF line ends, as checked by
//   ParseEntity) and changes only text/html parts that are not attachments
//   (Content-Disposition: attachment), outside message/rfc822 parts, in ASCII-compatible
//   charsets. In those, every <a> whose href is an http:// or https:// URL becomes
//   <base_url>/t/c/<click token> (the token carries the URL with HTML character
//   references decoded and the tags of the anchor's ses:tags="k:v;k2:v2" attribute);
//   anchors with a ses:no-track attribute and every other URL stay as written; an open
//   pixel <img src="<base_url>/t/o/<open token>" ...> goes just before the last </body>,
//   or at the end. The part keeps its transfer encoding (base64 re-folded at 76,
//   quoted-printable re-encoded) except that a 7bit/8bit/binary part whose new lines
//   would pass 998 octets, or a 7bit one holding 8-bit bytes, becomes quoted-printable
//   (its Content-Transfer-Encoding field is replaced or added). Every other byte of the
//   message (headers, preambles, delimiters, other parts) is kept as it was. With an
//   unsubscribe_url, the placeholders are filled in text/html parts (after the links
//   were rewritten, so the unsubscribe link is not tracked) and in text/plain parts
//   (only that is done to those), with the same decoding and re-encoding.
//   Best-effort: a message that cannot be parsed, nests deeper than kMaxTrackingDepth or
//   has more than kMaxTrackingParts entities is returned unchanged (OK status, and
//   stats->parsed false); a part that cannot be decoded is kept as it was. Growth is
//   bounded: links past a budget of input size / 4 + 32 KiB of added decoded bytes (and
//   links whose token would pass kMaxSealedTokenSize) stay untracked, so the output is
//   at most 4 x input + 256 KiB. Run it before DKIM signing: it changes the body.
//   The only error is kInvalidArgument for a bad TrackingPlan.
// Thread-safety: pure functions and value types.
// Trust: tokens come back from anyone on the Internet; messages are hostile client
// content. Every loop and allocation is bounded by the input's size and the limits
// below. The key is a secret: never log it or a TrackingPlan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace herald::mail {

// A sealed token longer than this is refused before it is decoded.
inline constexpr size_t kMaxSealedTokenSize = 8192;
// How far in the future issued_at may be (clock differences between herald nodes).
inline constexpr int64_t kMaxClockSkewSeconds = 300;
// MIME nesting (multipart inside multipart) and entity count AddTracking accepts.
inline constexpr int kMaxTrackingDepth = 32;
inline constexpr int kMaxTrackingParts = 1000;

// SES's unsubscribe placeholder, and how many of them one message gets filled.
inline constexpr std::string_view kUnsubscribePlaceholder = "{{amazonSESUnsubscribeUrl}}";
inline constexpr int kMaxUnsubscribePlaceholders = 2;

struct TrackingToken {
  enum Kind : uint8_t { kOpen = 0, kClick = 1, kUnsubscribe = 2 };
  Kind kind = kOpen;
  std::string account_id;
  std::string configuration_set;
  std::string message_id;  // herald's (SES) message id
  std::string recipient;   // may be empty (one rewrite for all recipients)
  // Click: the original URL. Unsubscribe: the contact list's name.
  std::string link;
  // Click: the anchor's ses:tags, in order (SES's linkTags{k:[v]}). Unsubscribe: one
  // ("topic", name) pair when the mail named a topic of the list.
  std::vector<std::pair<std::string, std::string>> link_tags;
  int64_t issued_at = 0;  // unix seconds

  bool operator==(const TrackingToken&) const = default;
};

// The sealed, URL-safe form of `token` under `key` (which must not be empty: an empty key
// is an invariant violation and CHECK-fails; configuration rejects it first).
std::string SealToken(const TrackingToken& token, std::string_view key);

// Opens a token sealed with `key`. kPermissionDenied as described above. A negative
// max_age_seconds disables the age check (the future check stays).
StatusOr<TrackingToken> OpenToken(std::string_view sealed, std::string_view key, int64_t now,
                                  int64_t max_age_seconds);
// Key rotation: the token may be sealed with any of `keys` (current first, then the
// previous ones). Empty keys never match.
StatusOr<TrackingToken> OpenToken(std::string_view sealed, const std::vector<std::string>& keys,
                                  int64_t now, int64_t max_age_seconds);

// SES link tags: "name1:value1;name2:value2". Names and values are 1 to 256 letters,
// digits, '_' and '-' (whitespace around them is ignored); invalid pairs are dropped; at
// most 50 pairs are kept.
std::vector<std::pair<std::string, std::string>> ParseLinkTags(std::string_view text);

struct TrackingPlan {
  // Where the tracking endpoints live, without a trailing slash: "https://track.example.com"
  // or "http://127.0.0.1:8080". http or https, then URL characters other than quotes,
  // '<', '>', '&', '?', '#', '=' and whitespace; at most 512 characters.
  std::string base_url;
  // The open pixel's base URL when it differs from base_url (SES's HttpsPolicy
  // REQUIRE_OPEN_ONLY: https for the pixel, http for links); "" for base_url. Same rules.
  std::string open_base_url;
  bool open = true;    // insert the open pixel
  bool clicks = true;  // rewrite links
  // Subscription management: when not empty, the first kMaxUnsubscribePlaceholders
  // occurrences of kUnsubscribePlaceholder in text/plain and text/html parts (same part
  // rules as above) become this URL (http or https, the base URL's characters, at most
  // 1024 octets). base_url may then be empty when open and clicks are both false.
  std::string unsubscribe_url;
  // The current tracking key (non-empty secret).
  std::string key;
  // account_id, configuration_set, message_id, recipient and issued_at of every token;
  // its kind, link and link_tags are ignored.
  TrackingToken token_template;
};

struct TrackingStats {
  bool parsed = false;          // false: the message was returned unchanged, unparsed
  int html_parts = 0;           // text/html parts changed
  int links_rewritten = 0;      // anchors now pointing at /t/c/
  int links_over_budget = 0;    // trackable anchors left as written (growth or size bound)
  int open_pixels = 0;          // pixels inserted
  int parts_reencoded_qp = 0;   // 7bit/8bit parts that became quoted-printable
  int placeholders_filled = 0;  // unsubscribe placeholders replaced
};

// Adds engagement tracking to `raw_message`; see the contract above. `stats` may be null.
StatusOr<std::string> AddTracking(std::string_view raw_message, const TrackingPlan& plan,
                                  TrackingStats* stats = nullptr);

}  // namespace herald::mail
