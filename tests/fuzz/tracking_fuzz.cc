// Fuzzes engagement tracking: AddTracking on arbitrary bytes must not crash, must keep
// its output bounded (at most 4 x input + 256 KiB), fill at most two unsubscribe
// placeholders and, when it changes a message, must
// leave a well-formed one behind. OpenToken on the same bytes must refuse them (a forged
// MAC is not something a fuzzer finds), and sealed tokens must round-trip.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mail/message.h"
#include "mail/tracking.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace herald::mail;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  TrackingPlan plan;
  plan.base_url = "https://track.example.com";
  plan.key = "fuzz-key";
  plan.token_template.account_id = "111122223333";
  plan.token_template.configuration_set = "set";
  plan.token_template.message_id = "0100-fuzz@herald.example";
  plan.token_template.recipient = "r@example.org";
  plan.token_template.issued_at = 1700000000;
  // Half the inputs also get their unsubscribe placeholders filled (text parts too).
  if (size > 0 && (data[0] & 1) != 0) plan.unsubscribe_url = "https://track.example.com/u/T";

  TrackingStats stats;
  auto out = AddTracking(text, plan, &stats);
  if (!out.ok()) std::abort();  // the plan is valid: only a bad plan is an error
  if (out->size() > 4 * size + 256 * 1024) std::abort();
  if (*out != text) {
    if (!stats.parsed || !ParseEntity(*out).ok()) std::abort();
    if (stats.links_rewritten == 0 && stats.open_pixels == 0 && stats.placeholders_filled == 0) {
      std::abort();
    }
    if (stats.placeholders_filled > kMaxUnsubscribePlaceholders) std::abort();
  }

  if (OpenToken(text, plan.key, 1700000000, 86400).ok()) std::abort();
  (void)ParseLinkTags(text);

  TrackingToken t = plan.token_template;
  t.kind = TrackingToken::kClick;
  t.link.assign(text.substr(0, 4096));
  t.link_tags = ParseLinkTags(text.substr(0, 1024));
  std::string sealed = SealToken(t, plan.key);
  auto back = OpenToken(sealed, plan.key, 1700000000, 86400);
  if (sealed.size() <= kMaxSealedTokenSize && (!back.ok() || !(*back == t))) std::abort();
  return 0;
}
