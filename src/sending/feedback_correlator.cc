#include "sending/feedback_correlator.h"

#include <algorithm>
#include <cstdint>
#include <set>

#include "base/strings.h"
#include "mail/address.h"
#include "mail/verp.h"

namespace herald::sending {
namespace {

using feedback::FeedbackKind;
using feedback::Report;

enum class Subject { kBounce, kComplaint, kAutoReply };

Subject SubjectOf(const Report& r) {
  if (r.kind == FeedbackKind::kComplaint) return Subject::kComplaint;
  if (r.kind == FeedbackKind::kAutoReply) return Subject::kAutoReply;
  return Subject::kBounce;
}

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// The message's own spelling of `address`, or nullptr when it is not a recipient.
const std::string* InMessage(const SentMessage& m, std::string_view address) {
  if (address.empty()) return nullptr;
  for (const auto& r : m.recipients) {
    if (EqualsIgnoreCase(r, address)) return &r;
  }
  return nullptr;
}

std::string DomainOf(std::string_view address) {
  const size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : AsciiLower(address.substr(at + 1));
}

// "Name <a@b>", "<a@b>" or "a@b" as a bare address; "" when there is none.
std::string AddressOf(std::string_view text) {
  text = TrimWhitespace(text);
  if (text.empty()) return "";
  auto box = mail::ParseMailbox(text);
  if (box.ok()) return box->Address();
  const size_t lt = text.rfind('<');
  const size_t gt = text.rfind('>');
  if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt) {
    text = TrimWhitespace(text.substr(lt + 1, gt - lt - 1));
  }
  if (text.find('@') == std::string_view::npos || text.find(' ') != std::string_view::npos) {
    return "";
  }
  return std::string(text);
}

// "dns; mx.example.org" -> "mx.example.org".
std::string HostOf(std::string_view mta) {
  const size_t semi = mta.find(';');
  if (semi != std::string_view::npos) mta = mta.substr(semi + 1);
  return AsciiLower(TrimWhitespace(mta));
}

Correlation Orphan(CorrelationMethod method, std::string reason) {
  Correlation c;
  c.method = method;
  c.orphan_reason = std::move(reason);
  return c;
}

void AddMatch(Correlation* c, const SentMessagePtr& m, const std::string& address, int index) {
  for (auto& match : c->matches) {
    if (match.message->message_id != m->message_id) continue;
    for (const auto& r : match.recipients) {
      if (r.address == address) return;  // first entry wins
    }
    match.recipients.push_back({address, index});
    return;
  }
  c->matches.push_back({m, {{address, index}}});
}

void Ignore(Correlation* c, const std::string& address) {
  if (address.empty()) return;
  if (std::find(c->ignored.begin(), c->ignored.end(), address) == c->ignored.end()) {
    c->ignored.push_back(address);
  }
}

// The report entry of a bounce that names `address` (Final- or Original-Recipient).
int EntryNaming(const Report& r, std::string_view address) {
  for (size_t i = 0; i < r.recipients.size(); ++i) {
    if (EqualsIgnoreCase(r.recipients[i].address, address) ||
        EqualsIgnoreCase(r.recipients[i].original_recipient, address)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// The complaining organisation's domains, from whatever the report still shows.
std::set<std::string> ComplainingDomains(const Report& r) {
  std::set<std::string> out;
  auto add = [&out](const std::string& domain) {
    if (!domain.empty()) out.insert(OrganisationalDomain(domain));
  };
  add(DomainOf(AddressOf(r.from)));
  add(HostOf(r.reporting_mta));
  for (const auto& a : r.complaint.original_rcpt_to) add(DomainOf(AddressOf(a)));
  add(DomainOf(AddressOf(r.original.to)));
  return out;
}

// A complaint about message `m`: its complainers.
Correlation ComplaintMatch(const Report& r, const SentMessagePtr& m, CorrelationMethod method) {
  Correlation c;
  c.method = method;
  const auto& named = r.complaint.original_rcpt_to;
  if (!r.complaint.redacted && !named.empty()) {
    for (const auto& text : named) {
      const std::string a = AddressOf(text);
      if (const std::string* mine = InMessage(*m, a)) {
        AddMatch(&c, m, *mine, -1);
      } else {
        Ignore(&c, a);
      }
    }
    if (c.matches.empty()) {
      c.orphan_reason = "recipient_not_in_message";
    }
    return c;
  }
  const std::set<std::string> domains = ComplainingDomains(r);
  for (const auto& rcpt : m->recipients) {
    const std::string d = DomainOf(rcpt);
    if (!d.empty() && domains.count(OrganisationalDomain(d)) != 0) AddMatch(&c, m, rcpt, -1);
  }
  if (c.matches.empty() && m->recipients.size() == 1 && !m->recipients[0].empty()) {
    AddMatch(&c, m, m->recipients[0], -1);
  }
  if (c.matches.empty()) c.orphan_reason = "complainer_not_identified";
  return c;
}

// A report tied to message `m` by its id (or a VERP token without a recipient).
Correlation MessageLevelMatch(const Report& r, const SentMessagePtr& m, CorrelationMethod method) {
  const Subject subject = SubjectOf(r);
  if (subject == Subject::kComplaint) return ComplaintMatch(r, m, method);
  Correlation c;
  c.method = method;
  if (subject == Subject::kAutoReply) {
    const std::string sender = AddressOf(r.from);
    if (const std::string* mine = InMessage(*m, sender)) {
      AddMatch(&c, m, *mine, -1);
    } else if (m->recipients.size() == 1 && !m->recipients[0].empty()) {
      AddMatch(&c, m, m->recipients[0], -1);
    } else {
      c.orphan_reason = "recipient_not_identified";
    }
    return c;
  }
  for (size_t i = 0; i < r.recipients.size(); ++i) {
    const auto& e = r.recipients[i];
    const std::string* mine = InMessage(*m, e.address);
    if (mine == nullptr) mine = InMessage(*m, e.original_recipient);
    if (mine != nullptr) {
      AddMatch(&c, m, *mine, static_cast<int>(i));
    } else {
      Ignore(&c, e.address);
    }
  }
  if (!c.matches.empty()) return c;
  if (!r.recipients.empty()) {
    c.orphan_reason = "recipient_not_in_message";
  } else if (m->recipients.size() == 1 && !m->recipients[0].empty()) {
    AddMatch(&c, m, m->recipients[0], -1);
  } else {
    c.orphan_reason = "recipient_not_identified";
  }
  return c;
}

// A per-recipient VERP token: the token names the recipient.
Correlation RecipientTokenMatch(const Report& r, const SentMessagePtr& m, uint32_t index) {
  if (index >= m->recipients.size() || m->recipients[index].empty()) {
    return Orphan(CorrelationMethod::kVerp, "verp_recipient_out_of_range");
  }
  const std::string& rcpt = m->recipients[index];
  Correlation c;
  c.method = CorrelationMethod::kVerp;
  int entry = -1;
  if (SubjectOf(r) == Subject::kBounce) {
    entry = EntryNaming(r, rcpt);
    if (entry < 0) {
      for (size_t i = 0; i < r.recipients.size() && entry < 0; ++i) {
        if (r.recipients[i].verdict.action == "failed") entry = static_cast<int>(i);
      }
    }
    if (entry < 0 && !r.recipients.empty()) entry = 0;
    for (size_t i = 0; i < r.recipients.size(); ++i) {
      if (static_cast<int>(i) != entry && !EqualsIgnoreCase(r.recipients[i].address, rcpt)) {
        Ignore(&c, r.recipients[i].address);
      }
    }
  }
  AddMatch(&c, m, rcpt, entry);
  return c;
}

}  // namespace

const char* CorrelationMethodName(CorrelationMethod method) {
  switch (method) {
    case CorrelationMethod::kNone:
      return "none";
    case CorrelationMethod::kVerp:
      return "verp";
    case CorrelationMethod::kMessageId:
      return "message_id";
    case CorrelationMethod::kRecipientTime:
      return "recipient_time";
  }
  return "none";
}

std::vector<std::string> FindHeraldMessageIds(std::string_view text) {
  // 0100 + 12 hex, '-', UUID 8-4-4-4-12, "-000000": 4+12+1+36+7 = 60 characters.
  static constexpr size_t kLen = 60;
  static constexpr size_t kDashes[] = {16, 25, 30, 35, 40, 53};
  std::vector<std::string> out;
  if (text.size() < kLen) return out;
  for (size_t i = 0; i + kLen <= text.size(); ++i) {
    if (text[i] != '0' || text.compare(i, 4, "0100") != 0) continue;
    std::string id = AsciiLower(text.substr(i, kLen));
    bool ok = id.compare(53, 7, "-000000") == 0;
    for (size_t k = 4; ok && k < 53; ++k) {
      const bool dash = std::find(std::begin(kDashes), std::end(kDashes), k) != std::end(kDashes);
      ok = dash ? id[k] == '-' : IsHex(id[k]);
    }
    if (!ok) continue;
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(std::move(id));
    i += kLen - 1;
  }
  return out;
}

std::string OrganisationalDomain(std::string_view domain) {
  std::string d = AsciiLower(TrimWhitespace(domain));
  while (!d.empty() && d.back() == '.') d.pop_back();
  std::vector<std::string_view> labels = Split(d, '.');
  if (labels.size() <= 2) return d;
  size_t keep = 2;
  const std::string_view tld = labels[labels.size() - 1];
  const std::string_view second = labels[labels.size() - 2];
  if (tld.size() == 2 && second.size() <= 3) keep = 3;
  size_t start = 0;
  for (size_t i = 0; i < labels.size() - keep; ++i) start += labels[i].size() + 1;
  return d.substr(start);
}

Correlation FeedbackCorrelator::Correlate(const Report& report,
                                          const std::vector<std::string>& envelope_recipients,
                                          SysTime received) const {
  // 1. VERP.
  for (const auto& rcpt : envelope_recipients) {
    const size_t at = rcpt.rfind('@');
    const std::string_view local = std::string_view(rcpt).substr(0, at);
    if (at == std::string::npos || !StartsWithIgnoreCase(local, mail::kVerpPrefix)) continue;
    StatusOr<mail::VerpTarget> t = mail::DecodeVerpLocalPart(local, config_.verp_secret);
    if (!t.ok()) continue;  // a forged or mangled token proves nothing
    SentMessagePtr m = sent_.Find(t->message_id);
    if (m == nullptr) return Orphan(CorrelationMethod::kVerp, "message_unknown");
    if (t->recipient == UINT32_MAX) {
      return MessageLevelMatch(report, m, CorrelationMethod::kVerp);
    }
    return RecipientTokenMatch(report, m, t->recipient);
  }

  // 2. herald's Message-ID in the returned headers.
  std::vector<std::string> ids = FindHeraldMessageIds(report.original.message_id);
  for (const auto& ref : report.original.referenced_ids) {
    for (auto& id : FindHeraldMessageIds(ref)) {
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(std::move(id));
    }
  }
  for (const auto& id : ids) {
    if (SentMessagePtr m = sent_.Find(id)) {
      return MessageLevelMatch(report, m, CorrelationMethod::kMessageId);
    }
  }

  // 3. Recipient and time.
  const SysTime since = received - config_.window;
  Correlation c;
  c.method = CorrelationMethod::kRecipientTime;
  auto try_address = [&](const std::string& address, int index) {
    if (address.empty()) return false;
    SentMessagePtr m = sent_.LatestTo(address, since);
    const std::string* mine = m == nullptr ? nullptr : InMessage(*m, address);
    if (mine == nullptr) return false;
    AddMatch(&c, m, *mine, index);
    return true;
  };
  switch (SubjectOf(report)) {
    case Subject::kBounce:
      for (size_t i = 0; i < report.recipients.size(); ++i) {
        const auto& e = report.recipients[i];
        if (!try_address(e.address, static_cast<int>(i)) &&
            !try_address(e.original_recipient, static_cast<int>(i))) {
          Ignore(&c, e.address);
        }
      }
      break;
    case Subject::kComplaint:
      if (report.complaint.redacted) {
        return Orphan(CorrelationMethod::kNone, "redacted_uncorrelated");
      }
      for (const auto& text : report.complaint.original_rcpt_to) {
        const std::string a = AddressOf(text);
        if (!try_address(a, -1)) Ignore(&c, a);
      }
      break;
    case Subject::kAutoReply:
      try_address(AddressOf(report.from), -1);
      break;
  }
  if (c.matches.empty()) {
    c.method = CorrelationMethod::kNone;
    c.orphan_reason = "uncorrelated";
  }
  return c;
}

}  // namespace herald::sending
