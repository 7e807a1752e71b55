// BuildFeedbackForward: the reports it builds read back through herald's own feedback
// parser, keep hostile event content out of the header and the MIME structure, and refuse
// events that are not forwardable.
#include "sending/feedback_forward.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/strings.h"
#include "feedback/dsn.h"
#include "feedback/mime_tree.h"
#include "feedback/report.h"
#include "mail/message.h"

namespace herald::sending {
namespace {

using feedback::FeedbackKind;
using nlohmann::json;

constexpr char kHost[] = "mx.herald.test";
constexpr char kEvil[] = "x\r\nBcc: evil@x";

ForwardOptions Options() {
  ForwardOptions o;
  o.hostname = kHost;
  o.to = "bounces@example.com";
  o.message_id = "fwd-1@mx.herald.test";
  o.now = FromUnixMillis(1772359300000);  // 2026-03-01
  return o;
}

json Mail() {
  return {{"timestamp", "2026-03-01T10:00:00.000Z"},
          {"messageId", "0100018e-abc"},
          {"source", "sender@example.com"},
          {"destination", {"gone@dest.example", "full@dest.example"}},
          {"headersTruncated", false},
          {"headers",
           {{{"name", "From"}, {"value", "Sender <sender@example.com>"}},
            {{"name", "To"}, {"value", "gone@dest.example, full@dest.example"}},
            {{"name", "Subject"}, {"value", "Your receipt"}},
            {{"name", "Message-ID"}, {"value", "<client-1@example.com>"}}}},
          {"commonHeaders",
           {{"from", {"Sender <sender@example.com>"}},
            {"to", {"gone@dest.example", "full@dest.example"}},
            {"messageId", "client-1@example.com"},
            {"subject", "Your receipt"}}}};
}

json BounceEvent() {
  return {{"eventType", "Bounce"},
          {"mail", Mail()},
          {"bounce",
           {{"bounceType", "Permanent"},
            {"bounceSubType", "General"},
            {"bouncedRecipients",
             {{{"emailAddress", "gone@dest.example"},
               {"action", "failed"},
               {"status", "5.1.1"},
               {"diagnosticCode",
                "smtp; 550 5.1.1 <gone@dest.example>: Recipient address rejected: User unknown"}},
              {{"emailAddress", "full@dest.example"},
               {"action", "failed"},
               {"status", "5.2.2"},
               {"diagnosticCode", "smtp; 552 5.2.2 Mailbox full"}}}},
            {"timestamp", "2026-03-01T10:00:05.000Z"},
            {"feedbackId", "fb-1"},
            {"reportingMTA", "dns; mta.dest.example"}}}};
}

json ComplaintEvent() {
  return {{"eventType", "Complaint"},
          {"mail", Mail()},
          {"complaint",
           {{"complainedRecipients",
             {{{"emailAddress", "gone@dest.example"}}, {{"emailAddress", "full@dest.example"}}}},
            {"timestamp", "2026-03-01T11:00:00.000Z"},
            {"feedbackId", "fb-2"},
            {"complaintFeedbackType", "fraud"},
            {"userAgent", "ExampleFBL/2.0"},
            {"arrivalDate", "2026-03-01T10:00:03.000Z"}}}};
}

std::string Build(const json& event, const ForwardOptions& o = Options()) {
  StatusOr<std::string> msg = BuildFeedbackForward(event, o);
  EXPECT_TRUE(msg.ok()) << msg.status().ToString();
  return msg.ok() ? *msg : std::string();
}

std::string Rfc5322(const char* iso) { return FormatRfc5322Date(*ParseTimestamp(iso)); }

// Every line of a CRLF message (without its CRLF).
std::vector<std::string> Lines(const std::string& msg) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < msg.size()) {
    size_t e = msg.find("\r\n", pos);
    if (e == std::string::npos) e = msg.size();
    out.push_back(msg.substr(pos, e - pos));
    pos = e + 2;
  }
  return out;
}

// The wire rules every built message must keep: CRLF only, lines within 998 octets, a
// parseable header with one From.
void ExpectWellFormed(const std::string& msg) {
  ASSERT_FALSE(msg.empty());
  EXPECT_EQ(msg.substr(msg.size() - 2), "\r\n");
  for (const std::string& line : Lines(msg)) {
    EXPECT_LE(line.size(), 998u);
    EXPECT_EQ(line.find('\r'), std::string::npos) << "bare CR in: " << line.substr(0, 80);
    EXPECT_EQ(line.find('\n'), std::string::npos) << "bare LF in: " << line.substr(0, 80);
    EXPECT_EQ(line.find('\0'), std::string::npos);
  }
  EXPECT_TRUE(mail::ParseMessage(msg).ok()) << mail::ParseMessage(msg).status().ToString();
}

// Whether any line, wherever it is (top header, part header, returned header), is a Bcc
// field. Lines are split on CR and LF alike so that a smuggled bare LF counts too.
bool HasBccLine(const std::string& msg) {
  size_t pos = 0;
  while (pos <= msg.size()) {
    size_t e = msg.find_first_of("\r\n", pos);
    if (e == std::string::npos) e = msg.size();
    std::string line = AsciiLower(msg.substr(pos, e - pos));
    if (line.rfind("bcc", 0) == 0) {
      std::string_view rest = TrimWhitespace(std::string_view(line).substr(3));
      if (!rest.empty() && rest.front() == ':') return true;
    }
    pos = e + 1;
  }
  return false;
}

// The parts of the top-level multipart/report.
std::vector<std::string> PartTypes(const feedback::MimePart& root) {
  std::vector<std::string> types;
  for (const feedback::MimePart& c : root.children) types.push_back(c.type);
  return types;
}

const feedback::MimePart* FindPart(const feedback::MimePart& root, std::string_view type) {
  for (const feedback::MimePart& c : root.children) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

std::string BoundaryOf(const std::string& msg) {
  StatusOr<mail::ParsedMessage> p = mail::ParseMessage(msg);
  if (!p.ok() || p->Find("Content-Type") == nullptr) return {};
  return mail::HeaderParameter(p->Find("Content-Type")->value, "boundary");
}

// ---------------------------------------------------------------------------------------
// Bounces.

TEST(FeedbackForwardTest, BounceReadsBackAsTheSameBounce) {
  const std::string msg = Build(BounceEvent());
  ExpectWellFormed(msg);
  feedback::Report r = feedback::ParseFeedback(msg);
  EXPECT_EQ(r.kind, FeedbackKind::kBounce);
  EXPECT_EQ(r.format, "rfc3464");
  EXPECT_EQ(r.reporting_mta, "mta.dest.example");
  EXPECT_EQ(r.arrival_date, Rfc5322("2026-03-01T10:00:00.000Z"));
  ASSERT_EQ(r.recipients.size(), 2u);
  const json event = BounceEvent();
  const json& in = event["bounce"]["bouncedRecipients"];
  for (size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(r.recipients[i].address, in[i]["emailAddress"].get<std::string>());
    EXPECT_EQ(r.recipients[i].verdict.status, in[i]["status"].get<std::string>());
    EXPECT_EQ(r.recipients[i].verdict.diagnostic_code, in[i]["diagnosticCode"].get<std::string>());
    EXPECT_EQ(r.recipients[i].verdict.action, "failed");
    EXPECT_EQ(r.recipients[i].last_attempt_date, Rfc5322("2026-03-01T10:00:05.000Z"));
  }
  EXPECT_EQ(r.recipients[0].verdict.reason, feedback::Reason::kUserUnknown);
  EXPECT_EQ(r.recipients[0].verdict.bounce_type, "Permanent");
  EXPECT_EQ(r.recipients[1].verdict.reason, feedback::Reason::kMailboxFull);
  // The returned header is the original's.
  EXPECT_EQ(r.original.message_id, "client-1@example.com");
  EXPECT_EQ(r.original.subject, "Your receipt");
  EXPECT_EQ(r.original.from, "Sender <sender@example.com>");
  EXPECT_EQ(r.from, "MAILER-DAEMON@mx.herald.test");
  EXPECT_EQ(r.subject, "Delivery Status Notification (Failure)");
}

TEST(FeedbackForwardTest, BounceHasTheTopLevelFieldsAndThreeParts) {
  const ForwardOptions o = Options();
  const std::string msg = Build(BounceEvent(), o);
  StatusOr<mail::ParsedMessage> p = mail::ParseMessage(msg);
  ASSERT_TRUE(p.ok());
  auto value = [&](const char* name) {
    const mail::HeaderField* f = p->Find(name);
    return f == nullptr ? std::string("<absent>") : f->value;
  };
  EXPECT_EQ(value("From"), "MAILER-DAEMON@mx.herald.test");
  EXPECT_EQ(value("To"), o.to);
  EXPECT_EQ(value("Date"), FormatRfc5322Date(o.now));
  EXPECT_EQ(value("Message-ID"), "<" + o.message_id + ">");
  EXPECT_EQ(value("Auto-Submitted"), "auto-replied");
  EXPECT_EQ(value("MIME-Version"), "1.0");
  EXPECT_TRUE(StartsWithIgnoreCase(value("Content-Type"), "multipart/report"));
  EXPECT_EQ(mail::HeaderParameter(value("Content-Type"), "report-type"), "delivery-status");
  feedback::MimePart root = feedback::ParseMimeTree(msg);
  EXPECT_EQ(PartTypes(root), (std::vector<std::string>{"text/plain", "message/delivery-status",
                                                       "text/rfc822-headers"}));
  // The human-readable part names the subject, the destination and each diagnostic.
  const feedback::MimePart* text = FindPart(root, "text/plain");
  ASSERT_NE(text, nullptr);
  for (const char* s : {"Your receipt", "gone@dest.example, full@dest.example",
                        "552 5.2.2 Mailbox full", "Recipient address rejected: User unknown"}) {
    EXPECT_NE(text->body.find(s), std::string_view::npos) << s;
  }
}

TEST(FeedbackForwardTest, BounceStatusAndActionDefaults) {
  json ev = BounceEvent();
  json& rc = ev["bounce"]["bouncedRecipients"];
  rc = json::array({{{"emailAddress", "a@dest.example"}},  // no status, action, diagnostic
                    {{"emailAddress", "b@dest.example"},
                     {"action", "bounced"},
                     {"status", "5.1.1; rm"},
                     {"diagnosticCode", 7}},
                    {{"emailAddress", "c@dest.example"}, {"action", "Delayed"}, {"status", 5}},
                    {{"emailAddress", "d@dest.example"},
                     {"status", "4.4.7"},
                     {"diagnosticCode", "550 no such user"}}});
  for (const char* type : {"Permanent", "Transient", "Undetermined"}) {
    SCOPED_TRACE(type);
    ev["bounce"]["bounceType"] = type;
    const std::string msg = Build(ev);
    ExpectWellFormed(msg);
    feedback::MimePart root = feedback::ParseMimeTree(msg);
    const feedback::MimePart* part = FindPart(root, "message/delivery-status");
    ASSERT_NE(part, nullptr);
    feedback::DeliveryStatus ds =
        feedback::ParseDeliveryStatus(feedback::NormalizeLineEnds(part->body));
    const std::string fallback = std::string(type) == "Permanent" ? "5.0.0" : "4.0.0";
    ASSERT_EQ(ds.recipients.size(), 4u);
    EXPECT_EQ(ds.recipients[0].final_recipient, "a@dest.example");
    EXPECT_EQ(ds.recipients[0].action, "failed");
    EXPECT_EQ(ds.recipients[0].status, fallback);
    EXPECT_EQ(ds.recipients[0].diagnostic_text, "");
    EXPECT_EQ(ds.recipients[1].action, "failed");
    EXPECT_EQ(ds.recipients[1].status, fallback);
    EXPECT_EQ(ds.recipients[2].action, "delayed");
    EXPECT_EQ(ds.recipients[2].status, fallback);
    EXPECT_EQ(ds.recipients[3].status, "4.4.7");
    // A diagnostic without a type is given "smtp;".
    EXPECT_EQ(ds.recipients[3].diagnostic_type, "smtp");
    EXPECT_EQ(ds.recipients[3].diagnostic_text, "550 no such user");
    EXPECT_EQ(ds.reporting_mta, "mta.dest.example");
  }
}

TEST(FeedbackForwardTest, ReportingMtaIsTheEventsOnlyWhenItNamesAHost) {
  struct Case {
    json value;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"dns; mta.dest.example", "mta.dest.example"},
      {"dsn; Relay.Dest.Example", "relay.dest.example"},  // SES's spelling, name lower-cased
      {"Amazon SES", kHost},
      {"dns; evil host", kHost},
      {std::string("dns; a.example") + kEvil, kHost},
      {"x400; something", kHost},
      {"", kHost},
      {42, kHost},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value.dump());
    json ev = BounceEvent();
    ev["bounce"]["reportingMTA"] = c.value;
    const std::string msg = Build(ev);
    ExpectWellFormed(msg);
    EXPECT_NE(msg.find("\r\nReporting-MTA: dns; " + c.want + "\r\n"), std::string::npos);
    EXPECT_EQ(feedback::ParseFeedback(msg).reporting_mta, c.want);
  }
}

// ---------------------------------------------------------------------------------------
// Complaints.

TEST(FeedbackForwardTest, ComplaintReadsBackAsTheSameComplaint) {
  const std::string msg = Build(ComplaintEvent());
  ExpectWellFormed(msg);
  feedback::Report r = feedback::ParseFeedback(msg);
  EXPECT_EQ(r.kind, FeedbackKind::kComplaint);
  EXPECT_EQ(r.format, "arf");
  EXPECT_EQ(r.complaint.feedback_type, "fraud");
  EXPECT_EQ(r.complaint.user_agent, "ExampleFBL/2.0");
  EXPECT_EQ(r.complaint.version, "1");
  EXPECT_EQ(r.complaint.original_mail_from, "sender@example.com");
  EXPECT_EQ(r.complaint.original_rcpt_to,
            (std::vector<std::string>{"gone@dest.example", "full@dest.example"}));
  EXPECT_EQ(r.complaint.arrival_date, Rfc5322("2026-03-01T10:00:03.000Z"));
  EXPECT_FALSE(r.complaint.redacted);
  EXPECT_EQ(r.original.message_id, "client-1@example.com");
  EXPECT_EQ(r.from, "complaints@mx.herald.test");
  EXPECT_EQ(r.subject, "Complaint about message: Your receipt");

  StatusOr<mail::ParsedMessage> p = mail::ParseMessage(msg);
  ASSERT_TRUE(p.ok());
  ASSERT_NE(p->Find("Auto-Submitted"), nullptr);
  EXPECT_EQ(p->Find("Auto-Submitted")->value, "auto-replied");
  EXPECT_EQ(mail::HeaderParameter(p->Find("Content-Type")->value, "report-type"),
            "feedback-report");
  EXPECT_EQ(
      PartTypes(feedback::ParseMimeTree(msg)),
      (std::vector<std::string>{"text/plain", "message/feedback-report", "text/rfc822-headers"}));
}

TEST(FeedbackForwardTest, FeedbackTypeIsTheEventsOnlyWhenRegistered) {
  struct Case {
    json value;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"abuse", "abuse"},
      {"fraud", "fraud"},
      {"Virus", "virus"},
      {"other", "other"},
      {"not-spam", "not-spam"},
      {"auth-failure", "auth-failure"},
      {"spam", "abuse"},
      {"opt-out", "abuse"},
      {"", "abuse"},
      {nullptr, "abuse"},
      {3, "abuse"},
      {std::string("fraud") + kEvil, "abuse"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value.dump());
    json ev = ComplaintEvent();
    ev["complaint"]["complaintFeedbackType"] = c.value;
    const std::string msg = Build(ev);
    ExpectWellFormed(msg);
    EXPECT_NE(msg.find("\r\nFeedback-Type: " + c.want + "\r\n"), std::string::npos);
    EXPECT_EQ(feedback::ParseFeedback(msg).complaint.feedback_type, c.want);
  }
}

TEST(FeedbackForwardTest, ComplaintWithoutOptionalFields) {
  json ev = ComplaintEvent();
  ev["complaint"].erase("userAgent");
  ev["complaint"].erase("arrivalDate");
  ev["complaint"].erase("complaintFeedbackType");
  const std::string msg = Build(ev);
  ExpectWellFormed(msg);
  feedback::Report r = feedback::ParseFeedback(msg);
  EXPECT_EQ(r.kind, FeedbackKind::kComplaint);
  EXPECT_EQ(r.complaint.feedback_type, "abuse");
  EXPECT_FALSE(r.complaint.user_agent.empty());  // RFC 5965 requires one
  EXPECT_EQ(r.complaint.arrival_date, "");
  EXPECT_EQ(msg.find("Arrival-Date"), std::string::npos);
}

TEST(FeedbackForwardTest, NonAsciiSubjectIsEncodedAndDecodesBack) {
  json ev = ComplaintEvent();
  const std::string subject =
      "Gr\xC3\xBC\xC3\x9F"
      "e aus K\xC3\xB6ln";
  ev["mail"]["commonHeaders"]["subject"] = subject;
  ev["mail"]["headers"][2]["value"] = subject;  // raw UTF-8 in the returned header
  const std::string msg = Build(ev);
  ExpectWellFormed(msg);
  StatusOr<mail::ParsedMessage> p = mail::ParseMessage(msg);
  ASSERT_TRUE(p.ok());
  const std::string& raw_subject = p->Find("Subject")->value;
  EXPECT_NE(raw_subject.find("=?UTF-8?B?"), std::string::npos);
  for (const mail::HeaderField& f : p->headers) {
    for (char c : f.raw) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << f.name;
  }
  feedback::Report r = feedback::ParseFeedback(msg);
  EXPECT_EQ(r.subject, "Complaint about message: " + subject);
  EXPECT_EQ(r.original.subject, subject);
}

// ---------------------------------------------------------------------------------------
// Hostile content.

// Each case puts "\r\nBcc: evil@x" somewhere in an event.
struct Injection {
  const char* where;
  void (*apply)(json* ev, const char* detail_key, const char* list_key);
};

const Injection kInjections[] = {
    {"header value",
     [](json* ev, const char*, const char*) {
       (*ev)["mail"]["headers"].push_back(
           {{"name", "X-Note"}, {"value", std::string("hi") + kEvil}});
     }},
    {"header name",
     [](json* ev, const char*, const char*) {
       (*ev)["mail"]["headers"].push_back({{"name", "X-A\r\nBcc"}, {"value", "evil@x"}});
       (*ev)["mail"]["headers"].push_back({{"name", "Bcc"}, {"value", "evil@x"}});
       (*ev)["mail"]["headers"].push_back({{"name", "bcc "}, {"value", "evil@x"}});
     }},
    {"subject",
     [](json* ev, const char*, const char*) {
       (*ev)["mail"]["commonHeaders"]["subject"] = std::string("Hello") + kEvil;
       (*ev)["mail"]["headers"][2]["value"] = std::string("Hello") + kEvil;
     }},
    {"subject with a bare LF",
     [](json* ev, const char*, const char*) {
       (*ev)["mail"]["commonHeaders"]["subject"] = "Hello\nBcc: evil@x";
     }},
    {"diagnostic and user agent",
     [](json* ev, const char* detail, const char* list) {
       (*ev)[detail][list][0]["diagnosticCode"] = std::string("smtp; 550 nope") + kEvil;
       (*ev)[detail]["userAgent"] = std::string("UA/1") + kEvil;
       (*ev)[detail]["arrivalDate"] = std::string("2026-03-01T10:00:03Z") + kEvil;
       (*ev)[detail]["timestamp"] = std::string("2026-03-01T10:00:03Z") + kEvil;
     }},
    {"address",
     [](json* ev, const char* detail, const char* list) {
       (*ev)[detail][list].push_back({{"emailAddress", std::string("gone@dest.example") + kEvil}});
       (*ev)[detail][list].push_back({{"emailAddress", "Evil\r\nBcc: evil@x <e@dest.example>"}});
     }},
    {"mail object",
     [](json* ev, const char*, const char*) {
       json& m = (*ev)["mail"];
       m["source"] = std::string("sender@example.com") + kEvil;
       m["messageId"] = std::string("id") + kEvil;
       m["destination"].push_back(std::string("d@dest.example") + kEvil);
       m["timestamp"] = std::string("2026") + kEvil;
     }},
    {"common headers only",
     [](json* ev, const char*, const char*) {
       json& m = (*ev)["mail"];
       m.erase("headers");
       m["commonHeaders"]["from"] = {std::string("a@example.com") + kEvil};
       m["commonHeaders"]["messageId"] = std::string("m@x") + kEvil;
       m["commonHeaders"]["date"] = std::string("today") + kEvil;
     }},
};

TEST(FeedbackForwardTest, HostileValuesNeverMakeAHeaderLine) {
  for (const Injection& inj : kInjections) {
    for (bool bounce : {true, false}) {
      SCOPED_TRACE(std::string(inj.where) + (bounce ? " (bounce)" : " (complaint)"));
      json ev = bounce ? BounceEvent() : ComplaintEvent();
      inj.apply(&ev, bounce ? "bounce" : "complaint",
                bounce ? "bouncedRecipients" : "complainedRecipients");
      const std::string msg = Build(ev);
      ExpectWellFormed(msg);
      EXPECT_FALSE(HasBccLine(msg));
      // The evil text may survive as words inside a line, never at the start of one.
      feedback::Report r = feedback::ParseFeedback(msg);
      if (bounce) {
        EXPECT_EQ(r.kind, FeedbackKind::kBounce);
        EXPECT_EQ(r.recipients.size(), 2u);  // unparseable addresses are left out
      } else {
        EXPECT_EQ(r.kind, FeedbackKind::kComplaint);
        EXPECT_EQ(r.complaint.original_rcpt_to.size(), 2u);
      }
      EXPECT_EQ(PartTypes(feedback::ParseMimeTree(msg)).size(), 3u);
    }
  }
}

TEST(FeedbackForwardTest, TheCheckSeesABccLine) {
  // HasBccLine itself must be able to fail, or the test above proves nothing.
  EXPECT_TRUE(HasBccLine("From: a@b\r\nBcc: evil@x\r\n\r\n"));
  EXPECT_TRUE(HasBccLine("Subject: x\nbcc : evil@x\r\n"));
  EXPECT_FALSE(HasBccLine("Subject: x Bcc: evil@x\r\n"));
}

TEST(FeedbackForwardTest, ReturnedHeaderDropsBadNamesAndBcc) {
  json ev = BounceEvent();
  json& h = ev["mail"]["headers"];
  h.push_back({{"name", "X-Good"}, {"value", "kept"}});
  h.push_back({{"name", "Bad Name"}, {"value", "dropped1"}});
  h.push_back({{"name", "X-Colon:"}, {"value", "dropped2"}});
  h.push_back({{"name", "X-\xC3\xBC"}, {"value", "dropped3"}});
  h.push_back({{"name", ""}, {"value", "dropped4"}});
  h.push_back({{"name", std::string(201, 'X')}, {"value", "dropped5"}});
  h.push_back({{"name", "Bcc"}, {"value", "dropped6@example.com"}});
  h.push_back({{"name", 5}, {"value", "dropped7"}});
  h.push_back("dropped8");
  const std::string msg = Build(ev);
  ExpectWellFormed(msg);
  feedback::MimePart root = feedback::ParseMimeTree(msg);
  const feedback::MimePart* part = FindPart(root, "text/rfc822-headers");
  ASSERT_NE(part, nullptr);
  EXPECT_NE(part->body.find("X-Good: kept"), std::string_view::npos);
  for (const char* d : {"dropped1", "dropped2", "dropped3", "dropped4", "dropped5", "dropped6",
                        "dropped7", "dropped8"}) {
    EXPECT_EQ(msg.find(d), std::string::npos) << d;
  }
}

TEST(FeedbackForwardTest, BoundaryTextInTheContentDoesNotBreakTheStructure) {
  const std::string first = Build(BounceEvent());
  const std::string boundary = BoundaryOf(first);
  ASSERT_FALSE(boundary.empty());
  ASSERT_NE(first.find("\r\n--" + boundary + "--\r\n"), std::string::npos);

  // Same options (so the same first candidate), with that boundary all over the content.
  for (bool bounce : {true, false}) {
    SCOPED_TRACE(bounce ? "bounce" : "complaint");
    json ev = bounce ? BounceEvent() : ComplaintEvent();
    const std::string close = "--" + boundary + "--";
    ev["mail"]["headers"].push_back({{"name", "X-Trap"}, {"value", close}});
    ev["mail"]["commonHeaders"]["subject"] = "Re: " + close;
    if (bounce) {
      ev["bounce"]["bouncedRecipients"][0]["diagnosticCode"] = "smtp; 550 5.1.1 " + close;
    }
    // A long run so that wrapping would put the trap at the start of a line.
    ev["mail"]["headers"].push_back({{"name", "X-Long"}, {"value", std::string(990, 'a') + close}});
    const std::string msg = Build(ev);
    ExpectWellFormed(msg);
    const std::string chosen = BoundaryOf(msg);
    ASSERT_FALSE(chosen.empty());
    EXPECT_NE(chosen, boundary);
    EXPECT_EQ(msg.find("--" + chosen + "--"), msg.rfind("--" + chosen + "--"));
    feedback::MimePart root = feedback::ParseMimeTree(msg);
    EXPECT_EQ(PartTypes(root).size(), 3u);
    feedback::Report r = feedback::ParseFeedback(msg);
    if (bounce) {
      EXPECT_EQ(r.kind, FeedbackKind::kBounce);
      ASSERT_EQ(r.recipients.size(), 2u);
      EXPECT_EQ(r.recipients[0].verdict.status, "5.1.1");
    } else {
      EXPECT_EQ(r.kind, FeedbackKind::kComplaint);
      EXPECT_EQ(r.complaint.original_rcpt_to.size(), 2u);
    }
  }
}

TEST(FeedbackForwardTest, LongValuesAreFoldedOrCutWithin998) {
  json ev = BounceEvent();
  std::string words;
  for (int i = 0; i < 400; ++i) words += "word" + std::to_string(i) + " ";
  words.pop_back();
  ev["mail"]["headers"].push_back({{"name", "X-Words"}, {"value", words}});
  ev["mail"]["headers"].push_back({{"name", "X-Blob"}, {"value", std::string(20000, 'b')}});
  ev["mail"]["headers"].push_back(
      {{"name", "X-Utf8"},
       {"value", std::string(3000, 'c') + "\xC3\xA9" + std::string(3000, 'd')}});
  ev["bounce"]["bouncedRecipients"][0]["diagnosticCode"] = "smtp; 550 " + std::string(5000, 'z');
  ev["mail"]["commonHeaders"]["subject"] = std::string(3000, 's');
  const std::string msg = Build(ev);
  ExpectWellFormed(msg);
  feedback::MimePart root = feedback::ParseMimeTree(msg);
  const feedback::MimePart* part = FindPart(root, "text/rfc822-headers");
  ASSERT_NE(part, nullptr);
  ASSERT_EQ(part->children.size(), 1u);
  // A value with spaces is folded, not cut: it reads back whole.
  EXPECT_EQ(part->children[0].Header("X-Words"), words);
  EXPECT_FALSE(part->children[0].Header("X-Blob").empty());
  EXPECT_TRUE(mail::IsValidUtf8(msg));
  feedback::Report r = feedback::ParseFeedback(msg);
  EXPECT_EQ(r.kind, FeedbackKind::kBounce);
  EXPECT_EQ(r.recipients.size(), 2u);
}

// ---------------------------------------------------------------------------------------
// The returned header's sources.

TEST(FeedbackForwardTest, WithoutAHeaderListTheCommonHeadersAreReturned) {
  for (bool empty_list : {false, true}) {
    SCOPED_TRACE(empty_list ? "empty list" : "no list");
    json ev = BounceEvent();
    if (empty_list) {
      ev["mail"]["headers"] = json::array();
    } else {
      ev["mail"].erase("headers");
    }
    ev["mail"]["commonHeaders"]["date"] = "Sun, 01 Mar 2026 09:59:58 +0000";
    ev["mail"]["commonHeaders"]["subject"] = "From the common headers";
    const std::string msg = Build(ev);
    ExpectWellFormed(msg);
    feedback::Report r = feedback::ParseFeedback(msg);
    EXPECT_EQ(r.kind, FeedbackKind::kBounce);
    EXPECT_EQ(r.original.message_id, "client-1@example.com");
    EXPECT_EQ(r.original.subject, "From the common headers");
    EXPECT_EQ(r.original.from, "Sender <sender@example.com>");
    EXPECT_EQ(r.original.to, "gone@dest.example, full@dest.example");
    EXPECT_EQ(r.original.date, "Sun, 01 Mar 2026 09:59:58 +0000");
  }
}

TEST(FeedbackForwardTest, WithNeitherTheMailObjectGivesFromAndMessageId) {
  for (bool bounce : {true, false}) {
    SCOPED_TRACE(bounce ? "bounce" : "complaint");
    json ev = bounce ? BounceEvent() : ComplaintEvent();
    ev["mail"].erase("headers");
    ev["mail"].erase("commonHeaders");
    std::string msg = Build(ev);
    ExpectWellFormed(msg);
    feedback::MimePart root = feedback::ParseMimeTree(msg);
    ASSERT_NE(FindPart(root, "text/rfc822-headers"), nullptr);
    feedback::Report r = feedback::ParseFeedback(msg);
    // herald's own Message-ID for a message whose client gave none: <id@hostname>.
    EXPECT_EQ(r.original.message_id, "0100018e-abc@mx.herald.test");
    EXPECT_EQ(r.original.from, "sender@example.com");

    ev["mail"]["messageId"] = "already@elsewhere.example";
    msg = Build(ev);
    EXPECT_EQ(feedback::ParseFeedback(msg).original.message_id, "already@elsewhere.example");

    // Nothing known at all: the part is still there, empty.
    ev["mail"] = json::object();
    msg = Build(ev);
    ExpectWellFormed(msg);
    root = feedback::ParseMimeTree(msg);
    EXPECT_NE(FindPart(root, "text/rfc822-headers"), nullptr);
  }
}

// ---------------------------------------------------------------------------------------
// What is refused, and what is not.

TEST(FeedbackForwardTest, RefusesEventsThatAreNotForwardable) {
  std::vector<std::pair<std::string, json>> bad;
  bad.emplace_back("array", json::array({BounceEvent()}));
  bad.emplace_back("string", "Bounce");
  {
    json ev = BounceEvent();
    ev["eventType"] = "Delivery";
    bad.emplace_back("Delivery", ev);
    ev["eventType"] = "bounce";
    bad.emplace_back("lower-case type", ev);
    ev.erase("eventType");
    bad.emplace_back("no type", ev);
  }
  {
    json ev = BounceEvent();
    ev.erase("mail");
    bad.emplace_back("no mail", ev);
    ev["mail"] = "not an object";
    bad.emplace_back("mail not an object", ev);
  }
  {
    json ev = BounceEvent();
    ev["bounce"]["bouncedRecipients"] = json::array();
    bad.emplace_back("no bounced recipients", ev);
    ev["bounce"]["bouncedRecipients"] = json::array(
        {{{"emailAddress", "not an address"}}, {{"emailAddress", 5}}, 7, {{"status", "5.1.1"}}});
    bad.emplace_back("no usable bounced recipient", ev);
    ev["bounce"].erase("bouncedRecipients");
    bad.emplace_back("bouncedRecipients missing", ev);
    ev.erase("bounce");
    bad.emplace_back("bounce missing", ev);
  }
  {
    json ev = ComplaintEvent();
    ev["complaint"]["complainedRecipients"] = json::array();
    bad.emplace_back("no complained recipients", ev);
    ev["complaint"]["complainedRecipients"] = "a@dest.example";
    bad.emplace_back("complainedRecipients not a list", ev);
    ev["complaint"] = json::array();
    bad.emplace_back("complaint not an object", ev);
  }
  {
    json ev = BounceEvent();  // a Bounce with only a complaint object
    ev["complaint"] = ComplaintEvent()["complaint"];
    ev.erase("bounce");
    bad.emplace_back("detail of the other kind", ev);
  }
  for (const auto& [name, ev] : bad) {
    SCOPED_TRACE(name);
    StatusOr<std::string> msg = BuildFeedbackForward(ev, Options());
    ASSERT_FALSE(msg.ok());
    EXPECT_EQ(msg.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(FeedbackForwardTest, RefusesUnusableOptions) {
  std::vector<std::pair<std::string, ForwardOptions>> bad;
  for (const char* to : {"", "not an address", "a@b.example\r\nBcc: evil@x", "<>"}) {
    ForwardOptions o = Options();
    o.to = to;
    bad.emplace_back(std::string("to=") + to, o);
  }
  for (const char* host : {"", "bad host", "a..b", "-a.example", "h\r\nBcc: x"}) {
    ForwardOptions o = Options();
    o.hostname = host;
    bad.emplace_back(std::string("hostname=") + host, o);
  }
  for (const char* id : {"no-at-sign", "<a@b>", "a@b\r\nBcc: evil@x", "a b@c", "a@b@c"}) {
    ForwardOptions o = Options();
    o.message_id = id;
    bad.emplace_back(std::string("message_id=") + id, o);
  }
  for (const auto& [name, o] : bad) {
    SCOPED_TRACE(name);
    for (const json& ev : {BounceEvent(), ComplaintEvent()}) {
      StatusOr<std::string> msg = BuildFeedbackForward(ev, o);
      ASSERT_FALSE(msg.ok());
      EXPECT_EQ(msg.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(FeedbackForwardTest, AcceptsWhatItShould) {
  // A display name in `to`, SES's identity-notification spelling, an unusable address
  // among usable ones.
  ForwardOptions o = Options();
  o.to = "Sender Team <team@example.com>";
  json ev = BounceEvent();
  ev["notificationType"] = ev["eventType"];
  ev.erase("eventType");
  ev["bounce"]["bouncedRecipients"].push_back({{"emailAddress", "not an address"}});
  const std::string msg = Build(ev, o);
  ExpectWellFormed(msg);
  StatusOr<mail::ParsedMessage> p = mail::ParseMessage(msg);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Find("To")->value, "Sender Team <team@example.com>");
  EXPECT_EQ(feedback::ParseFeedback(msg).recipients.size(), 2u);
  EXPECT_EQ(msg.find("not an address"), std::string::npos);
}

TEST(FeedbackForwardTest, OutputIsAFunctionOfTheInput) {
  ForwardOptions o = Options();
  EXPECT_EQ(Build(BounceEvent(), o), Build(BounceEvent(), o));
  EXPECT_EQ(Build(ComplaintEvent(), o), Build(ComplaintEvent(), o));
  // Without a message id, one is derived: stable, well formed, and per event.
  o.message_id.clear();
  const std::string a = Build(BounceEvent(), o);
  ExpectWellFormed(a);
  json other = BounceEvent();
  other["bounce"]["feedbackId"] = "fb-other";
  const std::string b = Build(other, o);
  StatusOr<mail::ParsedMessage> pa = mail::ParseMessage(a), pb = mail::ParseMessage(b);
  ASSERT_TRUE(pa.ok() && pb.ok());
  const std::string id_a = pa->Find("Message-ID")->value;
  EXPECT_TRUE(id_a.size() > 2 && id_a.front() == '<' && id_a.back() == '>');
  EXPECT_NE(id_a.find("@mx.herald.test>"), std::string::npos);
  EXPECT_NE(id_a, pb->Find("Message-ID")->value);
  EXPECT_EQ(a, Build(BounceEvent(), o));
}

}  // namespace
}  // namespace herald::sending
