// sending/suppression.h: the account and global suppression lists at work: what a
// suppressed recipient's event looks like, which reasons apply, and the recorder that adds
// addresses to the lists after hard bounces and complaints (ses-reference.md section 6).
//
// Contract:
// - SuppressionEvent() builds the one event a recipient stopped at acceptance gets, in the
//   same job as the message's Send event: an address on the account's list for BOUNCE gets
//   Bounce Permanent/OnAccountSuppressionList, one listed for COMPLAINT a Complaint with
//   complaintSubType OnAccountSuppressionList, a globally listed one Bounce
//   Permanent/Suppressed. Statuses and diagnostics are herald's own words.
// - AdditionReasons(): which outcomes add addresses to an account's list for a message:
//   its configuration set's SuppressionOptions.SuppressedReasons when the set has that
//   group, else the account's SuppressedReasons. (Which entries stop a send is decided by
//   the account's SuppressedReasons alone; see SendingServiceImpl.)
// - SuppressionRecorder (an OutcomeObserver): a hard bounce adds its recipient to the
//   account's list with reason BOUNCE, a complaint with reason COMPLAINT, when the
//   AdditionReasons of its message include that reason; the entry keeps the message id,
//   the feedback id and the diagnostic. Every hard bounce except those of subtype Suppressed
//   (herald's own global-list bounces) also lists the recipient on the global list (when
//   enabled). One OnOutcomes() call costs one account-list write and one global-list write
//   (plus one read per distinct account and configuration set). Store errors are logged,
//   never thrown or returned; an outcome that cannot be recorded is dropped. OnSend() does
//   nothing.
// Thread-safety: SuppressionRecorder is safe from any thread (it holds no state between
// calls); the free functions are pure.
// Trust: recipients were validated at acceptance; diagnostics come from remote servers and
// are stored as text (cut to the store's bound), never interpreted.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "sending/outcome_observer.h"
#include "store/store.h"

namespace herald::sending {

// Why a recipient was stopped at acceptance.
enum class SuppressionHit { kAccountBounce, kAccountComplaint, kGlobal };

// The name kept in the spooled envelope (BOUNCE | COMPLAINT | GLOBAL) and its inverse.
const char* SuppressionHitName(SuppressionHit hit);
std::optional<SuppressionHit> ParseSuppressionHit(std::string_view name);

// The event of a stopped recipient, with the values an OutcomeObserver is told about a
// global-list bounce.
struct SuppressionEventInfo {
  std::string line;         // one JSON event line
  std::string feedback_id;  // the event's feedbackId
  std::string status;       // bounces: the enhanced status ("5.1.1"); complaints: empty
  std::string diagnostic;   // bounces: the diagnosticCode; complaints: empty
};
SuppressionEventInfo SuppressionEvent(SuppressionHit hit, const nlohmann::json& mail,
                                      const std::string& recipient, SysTime now,
                                      const std::string& hostname);

// SuppressedReasons of a configuration set's SuppressionOptions JSON (as the API stores
// it); nullopt when the set has no such group or the text is unreadable.
std::optional<store::SuppressionReasons> SetSuppressedReasons(const std::string& options_json);

// The reasons that add addresses to the account's list after a message sent with `set`
// (nullptr: none, or the set no longer exists).
store::SuppressionReasons AdditionReasons(const store::Account& account,
                                          const store::ConfigurationSet* set);

// The address a suppression list keeps for `given`, checked as the send path checks
// recipients (an addr-spec; a display name is refused): the text as given when it differs
// from the send path's form only in case, else that form (the local part as written, the
// domain in lower-case Punycode), so that its key matches the recipients'.
// kInvalidArgument with the reason otherwise.
StatusOr<std::string> SuppressionAddress(std::string_view given);

// Bulk import (`herald suppression import`): one entry a line, either CSV
// "address,BOUNCE|COMPLAINT" (spaces around the fields and the reason's case do not matter;
// a first line with no '@' in its address field and no reason is a header and skipped) or a JSON
// object
// {"EmailAddress": ..., "Reason": ...} (also "emailAddress"/"reason", as SES's import files
// spell them). Blank lines are skipped; CRLF endings are fine. Every bad line is reported as
// "line N: why" (at most kMaxImportErrors of them, then a count of the rest); more than
// `max_entries` entries is an error too. The caller imports nothing when `errors` is not
// empty. Pure.
struct ImportEntry {
  std::string address;  // as SuppressionAddress() keeps it
  store::SuppressionReason reason = store::SuppressionReason::kBounce;
};
struct ImportParse {
  std::vector<ImportEntry> entries;
  std::vector<std::string> errors;
};
inline constexpr size_t kMaxImportErrors = 100;
ImportParse ParseSuppressionImport(std::string_view text,
                                   size_t max_entries = store::kMaxSuppressionBatch);

struct SuppressionConfig {
  bool global_enabled = true;  // [suppression] global_enabled
  store::GlobalListingPolicy global_policy;
};

class SuppressionRecorder final : public OutcomeObserver {
 public:
  // `store` must outlive the recorder.
  SuppressionRecorder(const SuppressionConfig& config, store::Store& store)
      : config_(config), store_(store) {}

  void OnSend(const SendFacts&) override {}
  void OnOutcomes(const std::vector<OutcomeFacts>& outcomes) override;

 private:
  const SuppressionConfig config_;
  store::Store& store_;
};

}  // namespace herald::sending
