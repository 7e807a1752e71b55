#include "feedback/dsn.h"

#include "base/strings.h"
#include "feedback/mime_tree.h"
#include "feedback/report.h"

namespace herald::feedback {
namespace {

bool IsRecipientField(std::string_view name) {
  return EqualsIgnoreCase(name, "Final-Recipient") ||
         EqualsIgnoreCase(name, "Original-Recipient") || EqualsIgnoreCase(name, "Action") ||
         EqualsIgnoreCase(name, "Status") || EqualsIgnoreCase(name, "Diagnostic-Code") ||
         EqualsIgnoreCase(name, "Remote-MTA") || EqualsIgnoreCase(name, "Last-Attempt-Date") ||
         EqualsIgnoreCase(name, "Will-Retry-Until") || EqualsIgnoreCase(name, "X-Actual-Recipient");
}

}  // namespace

std::string StripTypePrefix(std::string_view value) {
  std::string_view v = TrimWhitespace(value);
  size_t semi = v.find(';');
  if (semi != std::string_view::npos && semi < 16 &&
      v.substr(0, semi).find('@') == std::string_view::npos) {
    v = TrimWhitespace(v.substr(semi + 1));
  }
  if (!v.empty() && v.front() == '<') v.remove_prefix(1);
  if (!v.empty() && v.back() == '>') v.remove_suffix(1);
  return std::string(TrimWhitespace(v));
}

DeliveryStatus ParseDeliveryStatus(std::string_view body) {
  DeliveryStatus ds;
  // Field groups are separated by empty lines (lines of only whitespace count as empty).
  std::vector<MimeHeader> fields;
  std::vector<size_t> group_starts;  // index into `fields` where each group begins
  {
    size_t pos = 0;
    std::string group;
    auto flush = [&] {
      if (group.empty()) return;
      group_starts.push_back(fields.size());
      for (MimeHeader& h : ParseHeaderFields(group)) fields.push_back(std::move(h));
      group.clear();
    };
    while (pos < body.size()) {
      size_t nl = body.find('\n', pos);
      size_t end = nl == std::string_view::npos ? body.size() : nl;
      std::string_view line = body.substr(pos, end - pos);
      if (TrimWhitespace(line).empty()) {
        flush();
      } else {
        group.append(line);
        group.push_back('\n');
      }
      pos = end + 1;
    }
    flush();
  }
  // A new group opens a new recipient; so does a second Final-Recipient (or Original-
  // Recipient) within one group, for generators that leave out the empty line.
  DsnRecipient* cur = nullptr;
  bool cur_has_final = false;
  bool cur_has_original = false;
  size_t next_group = 0;
  for (size_t i = 0; i < fields.size(); ++i) {
    const MimeHeader& f = fields[i];
    bool group_start = false;
    while (next_group < group_starts.size() && group_starts[next_group] <= i) {
      group_start = group_starts[next_group] == i;
      ++next_group;
    }
    if (group_start && cur != nullptr && (cur_has_final || cur_has_original)) {
      cur = nullptr;
    }
    const std::string& n = f.name;
    if (!IsRecipientField(n)) {
      if (EqualsIgnoreCase(n, "Reporting-MTA")) {
        if (ds.reporting_mta.empty()) ds.reporting_mta = StripTypePrefix(f.value);
      } else if (EqualsIgnoreCase(n, "Arrival-Date")) {
        if (ds.arrival_date.empty()) ds.arrival_date = f.value;
      } else if (EqualsIgnoreCase(n, "Received-From-MTA")) {
        if (ds.received_from_mta.empty()) ds.received_from_mta = StripTypePrefix(f.value);
      }
      continue;
    }
    bool is_final = EqualsIgnoreCase(n, "Final-Recipient");
    bool is_original = EqualsIgnoreCase(n, "Original-Recipient");
    bool open_new =
        cur == nullptr || (is_final && cur_has_final) || (is_original && cur_has_original);
    if (open_new) {
      if (ds.recipients.size() >= kMaxReportRecipients) break;
      ds.recipients.emplace_back();
      cur = &ds.recipients.back();
      cur_has_final = cur_has_original = false;
    }
    if (is_final) {
      cur->final_recipient = StripTypePrefix(f.value);
      cur_has_final = true;
    } else if (is_original) {
      cur->original_recipient = StripTypePrefix(f.value);
      cur_has_original = true;
    } else if (EqualsIgnoreCase(n, "X-Actual-Recipient")) {
      if (cur->final_recipient.empty()) cur->final_recipient = StripTypePrefix(f.value);
    } else if (EqualsIgnoreCase(n, "Action")) {
      cur->action = AsciiLower(TrimWhitespace(f.value));
      size_t sp = cur->action.find_first_of(" (");
      if (sp != std::string::npos) cur->action.resize(sp);
    } else if (EqualsIgnoreCase(n, "Status")) {
      std::string_view v = TrimWhitespace(f.value);
      size_t sp = v.find_first_of(" (");
      cur->status = std::string(v.substr(0, sp));
    } else if (EqualsIgnoreCase(n, "Remote-MTA")) {
      cur->remote_mta = StripTypePrefix(f.value);
    } else if (EqualsIgnoreCase(n, "Diagnostic-Code")) {
      std::string_view v = TrimWhitespace(f.value);
      size_t semi = v.find(';');
      if (semi != std::string_view::npos && semi < 16 &&
          v.substr(0, semi).find(' ') == std::string_view::npos) {
        cur->diagnostic_type = AsciiLower(TrimWhitespace(v.substr(0, semi)));
        v = TrimWhitespace(v.substr(semi + 1));
      }
      cur->diagnostic_text = std::string(v);
    } else if (EqualsIgnoreCase(n, "Last-Attempt-Date")) {
      cur->last_attempt_date = f.value;
    } else if (EqualsIgnoreCase(n, "Will-Retry-Until")) {
      cur->will_retry_until = f.value;
    }
  }
  return ds;
}

}  // namespace herald::feedback
