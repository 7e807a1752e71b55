#include "smtp/server_session.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/crypto.h"

namespace herald::smtp {
namespace {

using namespace std::string_literals;

class FakeHandler : public SessionHandler {
 public:
  bool Authenticate(std::string_view user, std::string_view password) override {
    ++auth_calls;
    last_user = std::string(user);
    return user == "AKID" && password == "secret";
  }
  std::string Deliver(Transaction& txn) override {
    delivered.push_back(txn);
    return reply;
  }
  int auth_calls = 0;
  std::string last_user;
  std::vector<Transaction> delivered;
  std::string reply = "250 Ok 0100-id";
};

std::string PlainInitial(std::string_view authzid, std::string_view user, std::string_view pw) {
  std::string raw;
  raw.append(authzid);
  raw.push_back('\0');
  raw.append(user);
  raw.push_back('\0');
  raw.append(pw);
  return Base64Encode(raw);
}

const std::string kAuthLine = "AUTH PLAIN " + PlainInitial("", "AKID", "secret") + "\r\n";

SessionOptions DefaultOptions() {
  SessionOptions o;
  o.hostname = "mx.test";
  o.tls_available = true;
  o.allow_insecure_auth = true;
  return o;
}

class SessionTest : public ::testing::Test {
 protected:
  void Make(const SessionOptions& o = DefaultOptions()) {
    session_ = std::make_unique<ServerSession>(o, handler_);
  }
  std::string Feed(std::string_view bytes) {
    SessionOutput out = session_->Feed(bytes);
    last_ = out;
    return out.bytes;
  }
  // Feeds `bytes` one byte at a time, concatenating the output.
  std::string FeedBytewise(std::string_view bytes) {
    std::string all;
    for (char c : bytes) {
      SessionOutput out = session_->Feed(std::string_view(&c, 1));
      all += out.bytes;
      last_.close = last_.close || out.close;
    }
    return all;
  }
  void Authed() {
    Make();
    ASSERT_EQ(Feed("EHLO client\r\n" + kAuthLine).substr(0, 4), "250-");
    ASSERT_TRUE(session_->authenticated());
  }

  FakeHandler handler_;
  std::unique_ptr<ServerSession> session_;
  SessionOutput last_;
};

TEST_F(SessionTest, GreetingNamesHost) {
  Make();
  EXPECT_EQ(session_->Greeting().bytes, "220 mx.test ESMTP herald\r\n");
}

TEST_F(SessionTest, EhloAdvertisesStartTlsButNotAuthBeforeTls) {
  SessionOptions o = DefaultOptions();
  o.allow_insecure_auth = false;
  o.limits.max_message_bytes = 1000;
  Make(o);
  EXPECT_EQ(Feed("EHLO client\r\n"),
            "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n"
            "250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n");
}

TEST_F(SessionTest, EhloAdvertisesAuthWhenInsecureAuthAllowed) {
  Make();
  const std::string r = Feed("ehlo client\r\n");
  EXPECT_NE(r.find("250-STARTTLS\r\n"), std::string::npos);
  EXPECT_NE(r.find("250 AUTH PLAIN LOGIN\r\n"), std::string::npos);
}

TEST_F(SessionTest, EhloUnderImplicitTlsOffersAuthNotStartTls) {
  SessionOptions o = DefaultOptions();
  o.allow_insecure_auth = false;
  o.tls_active = true;
  Make(o);
  const std::string r = Feed("EHLO client\r\n");
  EXPECT_EQ(r.find("STARTTLS"), std::string::npos);
  EXPECT_NE(r.find("250 AUTH PLAIN LOGIN\r\n"), std::string::npos);
}

TEST_F(SessionTest, HeloWorks) {
  Make();
  EXPECT_EQ(Feed("HELO client\r\n"), "250 mx.test\r\n");
  EXPECT_EQ(Feed(kAuthLine), "235 Authentication successful\r\n");
}

// One table: the state to reach first, a command, the exact reply, whether it closes.
enum class Setup { kFresh, kGreeted, kAuthed, kInMail, kNoInsecureAuth, kNoTls };
struct BadInput {
  const char* name;
  Setup setup;
  std::string input;
  std::string reply;
  bool closes = false;
};

class BadInputTest : public SessionTest, public ::testing::WithParamInterface<BadInput> {};

TEST_P(BadInputTest, RepliesExactly) {
  const BadInput& c = GetParam();
  SessionOptions o = DefaultOptions();
  if (c.setup == Setup::kNoInsecureAuth) o.allow_insecure_auth = false;
  if (c.setup == Setup::kNoTls) o.tls_available = false;
  Make(o);
  std::string setup;
  if (c.setup != Setup::kFresh) setup += "EHLO client\r\n";
  if (c.setup == Setup::kAuthed || c.setup == Setup::kInMail) setup += kAuthLine;
  if (c.setup == Setup::kInMail) setup += "MAIL FROM:<from@example.com>\r\n";
  Feed(setup);
  ASSERT_FALSE(last_.close);
  EXPECT_EQ(Feed(c.input), c.reply + "\r\n");
  EXPECT_EQ(last_.close, c.closes);
  EXPECT_TRUE(handler_.delivered.empty());
}

const std::string kLongLine = "NOOP " + std::string(600, 'x') + "\r\n";

INSTANTIATE_TEST_SUITE_P(
    Table, BadInputTest,
    ::testing::Values(
        BadInput{"MailBeforeEhlo", Setup::kFresh, "MAIL FROM:<a@b.com>\r\n",
                 "503 5.5.1 Error: send HELO/EHLO first"},
        BadInput{"MailBeforeAuth", Setup::kGreeted, "MAIL FROM:<a@b.com>\r\n",
                 "530 Authentication required"},
        BadInput{"RcptBeforeMail", Setup::kAuthed, "RCPT TO:<a@b.com>\r\n",
                 "503 5.5.1 Error: need MAIL command"},
        BadInput{"DataBeforeMail", Setup::kAuthed, "DATA\r\n",
                 "503 5.5.1 Error: need MAIL command"},
        BadInput{"DataBeforeRcpt", Setup::kInMail, "DATA\r\n",
                 "503 5.5.1 Error: need RCPT command"},
        BadInput{"DataWithArgument", Setup::kInMail, "DATA now\r\n", "501 5.5.4 Syntax: DATA"},
        BadInput{"MailNoBrackets", Setup::kAuthed, "MAIL FROM:a@b.com\r\n",
                 "501 5.5.4 Syntax: MAIL FROM:<address>"},
        BadInput{"MailNoFrom", Setup::kAuthed, "MAIL <a@b.com>\r\n",
                 "501 5.5.4 Syntax: MAIL FROM:<address>"},
        BadInput{"MailBadAddress", Setup::kAuthed, "MAIL FROM:<a@@b.com>\r\n",
                 "553 a@@b.com Invalid email address"},
        BadInput{"MailSizeTooBig", Setup::kAuthed, "MAIL FROM:<a@b.com> SIZE=999999999999\r\n",
                 "552 Message is too long."},
        BadInput{"MailSizeHuge", Setup::kAuthed,
                 "MAIL FROM:<a@b.com> SIZE=99999999999999999999\r\n", "552 Message is too long."},
        BadInput{"MailSizeNotNumber", Setup::kAuthed, "MAIL FROM:<a@b.com> SIZE=12x\r\n",
                 "501 5.5.4 Bad SIZE parameter"},
        BadInput{"MailSmtpUtf8", Setup::kAuthed, "MAIL FROM:<a@b.com> SMTPUTF8\r\n",
                 "555 5.5.4 SMTPUTF8 is not supported"},
        BadInput{"MailUnknownParam", Setup::kAuthed, "MAIL FROM:<a@b.com> FOO=bar\r\n",
                 "555 5.5.4 Unsupported option: FOO"},
        BadInput{"MailBadBody", Setup::kAuthed, "MAIL FROM:<a@b.com> BODY=BINARYMIME\r\n",
                 "555 5.5.4 Unsupported BODY type"},
        BadInput{"MailDuplicateParam", Setup::kAuthed, "MAIL FROM:<a@b.com> SIZE=1 SIZE=2\r\n",
                 "501 5.5.4 Syntax error in parameters"},
        BadInput{"MailNested", Setup::kInMail, "MAIL FROM:<a@b.com>\r\n",
                 "503 5.5.1 Error: nested MAIL command"},
        BadInput{"RcptNullPath", Setup::kInMail, "RCPT TO:<>\r\n", "553 <> Invalid email address"},
        BadInput{"RcptNoDomain", Setup::kInMail, "RCPT TO:<postmaster>\r\n",
                 "553 postmaster Invalid email address"},
        BadInput{"RcptAddressLiteral", Setup::kInMail, "RCPT TO:<a@[192.0.2.1]>\r\n",
                 "553 a@[192.0.2.1] Invalid email address"},
        BadInput{"RcptParam", Setup::kInMail, "RCPT TO:<a@b.com> NOTIFY=NEVER\r\n",
                 "555 5.5.4 Unsupported option: NOTIFY"},
        BadInput{"RcptSyntax", Setup::kInMail, "RCPT <a@b.com>\r\n",
                 "501 5.5.4 Syntax: RCPT TO:<address>"},
        BadInput{"EhloWithoutName", Setup::kFresh, "EHLO\r\n", "501 5.5.4 Syntax: EHLO hostname"},
        BadInput{"UnknownCommand", Setup::kGreeted, "FROB\r\n",
                 "500 5.5.2 Error: command not recognized"},
        BadInput{"Bdat", Setup::kAuthed, "BDAT 10 LAST\r\n", "502 5.5.1 Error: BDAT not supported"},
        BadInput{"Expn", Setup::kGreeted, "EXPN staff\r\n", "502 5.5.1 Error: EXPN not supported"},
        BadInput{"Vrfy", Setup::kGreeted, "VRFY someone\r\n",
                 "252 2.5.2 Cannot verify the user; send mail to try delivery"},
        BadInput{"RsetWithArgument", Setup::kGreeted, "RSET now\r\n", "501 5.5.4 Syntax: RSET"},
        BadInput{"AuthUnknownMechanism", Setup::kGreeted, "AUTH CRAM-MD5\r\n",
                 "504 5.5.4 Unrecognized authentication type"},
        BadInput{"AuthBeforeEhlo", Setup::kFresh, kAuthLine, "503 5.5.1 Error: send EHLO first"},
        BadInput{"AuthWithoutTls", Setup::kNoInsecureAuth, "AUTH LOGIN\r\n",
                 "530 Must issue a STARTTLS command first"},
        BadInput{"AuthTwice", Setup::kAuthed, kAuthLine, "503 5.5.1 Error: already authenticated"},
        BadInput{"AuthInMail", Setup::kInMail, "AUTH LOGIN\r\n",
                 "503 5.5.1 Error: already authenticated"},
        BadInput{"AuthNotBase64", Setup::kGreeted, "AUTH PLAIN !!!!\r\n",
                 "501 5.5.2 Cannot decode response"},
        BadInput{"AuthPlainOneNul", Setup::kGreeted,
                 "AUTH PLAIN " + Base64Encode("user\0pass"s) + "\r\n",
                 "501 5.5.2 Invalid AUTH PLAIN response"},
        BadInput{"AuthPlainWrongPassword", Setup::kGreeted,
                 "AUTH PLAIN " + PlainInitial("", "AKID", "wrong") + "\r\n",
                 "535 Authentication Credentials Invalid"},
        BadInput{"AuthPlainAuthzidMismatch", Setup::kGreeted,
                 "AUTH PLAIN " + PlainInitial("other", "AKID", "secret") + "\r\n",
                 "535 Authentication Credentials Invalid"},
        BadInput{"AuthEmptyInitialResponse", Setup::kGreeted, "AUTH PLAIN =\r\n",
                 "501 5.5.2 Invalid AUTH PLAIN response"},
        BadInput{"StartTlsArgument", Setup::kGreeted, "STARTTLS now\r\n",
                 "501 5.5.4 Syntax: STARTTLS"},
        BadInput{"StartTlsUnavailable", Setup::kNoTls, "STARTTLS\r\n",
                 "454 4.7.0 TLS not available"},
        BadInput{"StartTlsInTransaction", Setup::kInMail, "STARTTLS\r\n",
                 "503 5.5.1 Error: MAIL transaction in progress"},
        BadInput{"NulInCommand", Setup::kGreeted, "NOOP a\0b\r\n"s,
                 "500 5.5.2 Error: invalid characters in command"},
        BadInput{"EightBitInCommand", Setup::kAuthed, "MAIL FROM:<\xc3\xa9@b.com>\r\n",
                 "500 5.5.2 Error: invalid characters in command"},
        BadInput{"LineTooLong", Setup::kGreeted, kLongLine, "500 5.5.0 Line too long"},
        BadInput{"HttpRequest", Setup::kFresh, "GET / HTTP/1.1\r\n",
                 "500 5.5.1 Error: HTTP requests are not SMTP", true},
        BadInput{"BareLfInCommand", Setup::kGreeted, "NOOP\n",
                 "500 5.5.2 Bare <CR> or <LF> in command", true},
        BadInput{"BareCrInCommand", Setup::kGreeted, "NO\rOP\r\n",
                 "500 5.5.2 Bare <CR> or <LF> in command", true},
        BadInput{"BareCrPartialLine", Setup::kGreeted, "NOOP\rX",
                 "500 5.5.2 Bare <CR> or <LF> in command", true},
        BadInput{"LfOnlyLine", Setup::kGreeted, "\n", "500 5.5.2 Bare <CR> or <LF> in command",
                 true}),
    [](const ::testing::TestParamInfo<BadInput>& info) { return info.param.name; });

TEST_F(SessionTest, PipelinedTransactionInOneChunk) {
  Make();
  const std::string in = "EHLO client\r\n" + kAuthLine +
                         "MAIL FROM:<from@example.com> BODY=8BITMIME SIZE=100\r\n"
                         "RCPT TO:<a@example.com>\r\nRCPT TO:<b@EXAMPLE.com>\r\nDATA\r\n"
                         "Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n";
  const std::string out = Feed(in);
  const size_t ehlo_end = out.find("250 AUTH PLAIN LOGIN\r\n");
  ASSERT_NE(ehlo_end, std::string::npos);
  EXPECT_EQ(out.substr(ehlo_end + 22),
            "235 Authentication successful\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
            "354 End data with <CR><LF>.<CR><LF>\r\n250 Ok 0100-id\r\n221 2.0.0 Bye\r\n");
  EXPECT_TRUE(last_.close);
  ASSERT_EQ(handler_.delivered.size(), 1u);
  const Transaction& t = handler_.delivered[0];
  EXPECT_EQ(t.mail_from, "from@example.com");
  EXPECT_EQ(t.recipients, (std::vector<std::string>{"a@example.com", "b@example.com"}));
  EXPECT_EQ(t.message, "Subject: hi\r\n\r\nbody\r\n");
  EXPECT_TRUE(t.body_8bitmime);
  EXPECT_EQ(session_->messages_accepted(), 1);
  EXPECT_TRUE(Feed("NOOP\r\n").empty());  // closed: nothing more is read
}

TEST_F(SessionTest, BytewiseFeedingGivesSameResult) {
  const std::string in = "EHLO client\r\n" + kAuthLine +
                         "MAIL FROM:<from@example.com>\r\nRCPT TO:<a@example.com>\r\nDATA\r\n"
                         "..dot\r\nline\r\n.\r\nRSET\r\n";
  Make();
  const std::string whole = Feed(in);
  FakeHandler first = handler_;
  handler_ = FakeHandler();
  Make();
  EXPECT_EQ(FeedBytewise(in), whole);
  ASSERT_EQ(handler_.delivered.size(), 1u);
  ASSERT_EQ(first.delivered.size(), 1u);
  EXPECT_EQ(handler_.delivered[0].message, first.delivered[0].message);
  EXPECT_EQ(handler_.delivered[0].message, ".dot\r\nline\r\n");
}

TEST_F(SessionTest, DotUnstuffing) {
  Authed();
  Feed("MAIL FROM:<f@example.com>\r\nRCPT TO:<t@example.com>\r\nDATA\r\n");
  EXPECT_EQ(Feed("..\r\n...x\r\n.y\r\nz.\r\n \r\n.\r\n"), "250 Ok 0100-id\r\n");
  ASSERT_EQ(handler_.delivered.size(), 1u);
  EXPECT_EQ(handler_.delivered[0].message, ".\r\n..x\r\ny\r\nz.\r\n \r\n");
}

TEST_F(SessionTest, EmptyMessageIsHandedOver) {
  Authed();
  Feed("MAIL FROM:<> \r\nRCPT TO:<t@example.com>\r\nDATA\r\n");
  EXPECT_EQ(Feed(".\r\n"), "250 Ok 0100-id\r\n");
  ASSERT_EQ(handler_.delivered.size(), 1u);
  EXPECT_EQ(handler_.delivered[0].mail_from, "");
  EXPECT_EQ(handler_.delivered[0].message, "");
}

TEST_F(SessionTest, AuthPlainContinuation) {
  Make();
  Feed("EHLO c\r\n");
  EXPECT_EQ(Feed("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(Feed(PlainInitial("AKID", "AKID", "secret") + "\r\n"),
            "235 Authentication successful\r\n");
  EXPECT_TRUE(session_->authenticated());
  EXPECT_EQ(handler_.last_user, "AKID");
}

TEST_F(SessionTest, AuthLoginSuccessAndFailure) {
  Make();
  Feed("EHLO c\r\n");
  EXPECT_EQ(Feed("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(Feed(Base64Encode("AKID") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(Feed(Base64Encode("nope") + "\r\n"), "535 Authentication Credentials Invalid\r\n");
  EXPECT_FALSE(session_->authenticated());
  EXPECT_EQ(Feed("AUTH LOGIN " + Base64Encode("AKID") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(Feed(Base64Encode("secret") + "\r\n"), "235 Authentication successful\r\n");
  EXPECT_TRUE(session_->authenticated());
}

TEST_F(SessionTest, AuthCancel) {
  Make();
  Feed("EHLO c\r\n");
  EXPECT_EQ(Feed("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(Feed("*\r\n"), "501 5.7.0 Authentication aborted\r\n");
  EXPECT_EQ(Feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(handler_.auth_calls, 0);
}

TEST_F(SessionTest, ThreeAuthFailuresClose) {
  Make();
  Feed("EHLO c\r\n");
  const std::string bad = "AUTH PLAIN " + PlainInitial("", "AKID", "x") + "\r\n";
  EXPECT_EQ(Feed(bad), "535 Authentication Credentials Invalid\r\n");
  EXPECT_EQ(Feed(bad), "535 Authentication Credentials Invalid\r\n");
  EXPECT_EQ(Feed(bad + kAuthLine),
            "535 Authentication Credentials Invalid\r\n"
            "421 4.7.0 Too many authentication failures, closing connection\r\n");
  EXPECT_TRUE(last_.close);
  EXPECT_FALSE(session_->authenticated());
}

TEST_F(SessionTest, LongAuthLineIsAllowed) {
  Make();
  Feed("EHLO c\r\n");
  // Longer than 512 but within the AUTH bound: judged on content, not length.
  const std::string user(700, 'u');
  EXPECT_EQ(Feed("AUTH PLAIN " + PlainInitial("", user, "secret") + "\r\n"),
            "535 Authentication Credentials Invalid\r\n");
  const std::string huge(13000, 'A');
  EXPECT_EQ(Feed("AUTH PLAIN " + huge + "\r\n"), "500 5.5.0 Line too long\r\n");
  EXPECT_EQ(Feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST_F(SessionTest, StartTlsDiscardsPipelinedCommandsAndResetsState) {
  SessionOptions o = DefaultOptions();
  o.allow_insecure_auth = false;
  Make(o);
  Feed("EHLO c\r\n");
  // CVE-2011-0411: commands injected after STARTTLS in the same packet.
  EXPECT_EQ(Feed("STARTTLS\r\nEHLO evil\r\n" + kAuthLine + "MAIL FROM:<a@b.com>\r\n"),
            "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_TRUE(last_.start_tls);
  EXPECT_FALSE(last_.close);
  EXPECT_TRUE(Feed("MAIL FROM:<a@b.com>\r\n").empty());  // still waiting for the handshake
  session_->TlsStarted();
  EXPECT_TRUE(session_->tls_active());
  EXPECT_EQ(Feed("MAIL FROM:<a@b.com>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  const std::string ehlo = Feed("EHLO c\r\n");
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);
  EXPECT_NE(ehlo.find("AUTH PLAIN LOGIN"), std::string::npos);
  EXPECT_EQ(Feed("STARTTLS\r\n"), "554 5.5.1 Error: TLS already active\r\n");
  EXPECT_EQ(handler_.auth_calls, 0);
}

TEST_F(SessionTest, AuthDoesNotSurviveStartTls) {
  Authed();
  Feed("STARTTLS\r\n");
  session_->TlsStarted();
  Feed("EHLO c\r\n");
  EXPECT_FALSE(session_->authenticated());
  EXPECT_EQ(Feed("MAIL FROM:<a@b.com>\r\n"), "530 Authentication required\r\n");
}

// Bare CR/LF family inside DATA: refused with 554 and the connection closed, never
// delivered, whatever comes after.
TEST_F(SessionTest, SmugglingVariantsInDataAreRefused) {
  const std::string variants[] = {
      "\n.\r\n",  "\r\n.\n", "\n.\n",       "\r.\r",       "\r\n.\rMAIL", "\n.\r\nMAIL",
      "x\ry\r\n", "x\n",     "\r\n.\r\r\n", "\r\r\n.\r\n", "\n\r\n.\r\n",
  };
  for (const std::string& v : variants) {
    handler_ = FakeHandler();
    Authed();
    Feed("MAIL FROM:<f@example.com>\r\nRCPT TO:<t@example.com>\r\nDATA\r\n");
    const std::string smuggled =
        "MAIL FROM:<x@example.com>\r\nRCPT TO:<v@example.com>\r\n"
        "DATA\r\nevil\r\n.\r\n";
    const std::string out = Feed("Subject: a\r\n\r\nbody" + v + smuggled + ".\r\n");
    EXPECT_EQ(out, "554 5.6.11 Bare <CR> or <LF> in message data; message refused\r\n")
        << "variant " << ::testing::PrintToString(v);
    EXPECT_TRUE(last_.close);
    EXPECT_TRUE(handler_.delivered.empty());
  }
}

TEST_F(SessionTest, BareLfDotAtStartOfData) {
  Authed();
  Feed("MAIL FROM:<f@example.com>\r\nRCPT TO:<t@example.com>\r\nDATA\r\n");
  EXPECT_EQ(Feed(".\n"), "554 5.6.11 Bare <CR> or <LF> in message data; message refused\r\n");
  EXPECT_TRUE(last_.close);
}

TEST_F(SessionTest, BareCrSplitAcrossFeeds) {
  Authed();
  Feed("MAIL FROM:<f@example.com>\r\nRCPT TO:<t@example.com>\r\nDATA\r\n");
  EXPECT_EQ(Feed("line\r"), "");
  EXPECT_EQ(Feed(".\r\n"), "554 5.6.11 Bare <CR> or <LF> in message data; message refused\r\n");
  EXPECT_TRUE(handler_.delivered.empty());
}

TEST_F(SessionTest, CrLfSplitAcrossFeedsIsFine) {
  Authed();
  Feed("MAIL FROM:<f@example.com>\r\nRCPT TO:<t@example.com>\r\nDATA\r\n");
  EXPECT_EQ(Feed("line\r"), "");
  EXPECT_EQ(Feed("\n.\r"), "");
  EXPECT_EQ(Feed("\n"), "250 Ok 0100-id\r\n");
  ASSERT_EQ(handler_.delivered.size(), 1u);
  EXPECT_EQ(handler_.delivered[0].message, "line\r\n");
}

TEST_F(SessionTest, MessageOverSizeLimitIsReadToTheEndThenRefused) {
  SessionOptions o = DefaultOptions();
  o.limits.max_message_bytes = 100;
  Make(o);
  Feed("EHLO c\r\n" + kAuthLine +
       "MAIL FROM:<f@example.com> SIZE=100\r\n"
       "RCPT TO:<t@example.com>\r\nDATA\r\n");
  const std::string line(48, 'a');
  EXPECT_EQ(Feed(line + "\r\n" + line + "\r\n"), "");  // exactly 100 bytes: fine so far
  EXPECT_EQ(Feed("b\r\n"), "");                        // now over the limit, keep reading
  EXPECT_EQ(Feed(".\r\nNOOP\r\n"), "552 Message is too long.\r\n250 2.0.0 Ok\r\n");
  EXPECT_TRUE(handler_.delivered.empty());
  EXPECT_FALSE(last_.close);
  EXPECT_EQ(session_->messages_refused(), 1);
  // Exactly at the limit is accepted.
  Feed("MAIL FROM:<f@example.com>\r\nRCPT TO:<t@example.com>\r\nDATA\r\n");
  EXPECT_EQ(Feed(line + "\r\n" + line + "\r\n.\r\n"), "250 Ok 0100-id\r\n");
  ASSERT_EQ(handler_.delivered.size(), 1u);
  EXPECT_EQ(handler_.delivered[0].message.size(), 100u);
}

TEST_F(SessionTest, DataLineBeyondBufferBoundIsRefused) {
  SessionOptions o = DefaultOptions();
  o.limits.max_data_line = 100;
  Make(o);
  Feed("EHLO c\r\n" + kAuthLine +
       "MAIL FROM:<f@example.com>\r\nRCPT TO:<t@example.com>\r\n"
       "DATA\r\n");
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Feed(std::string(60, 'x')), "");
  EXPECT_EQ(Feed("\r\n.\r\n"), "554 5.6.0 Message line too long\r\n");
  EXPECT_TRUE(handler_.delivered.empty());
  EXPECT_FALSE(last_.close);
}

TEST_F(SessionTest, RecipientCountFollowsSes) {
  SessionOptions o = DefaultOptions();
  o.limits.max_recipients = 2;
  o.limits.max_recipients_hard = 3;
  Make(o);
  Feed("EHLO c\r\n" + kAuthLine + "MAIL FROM:<f@example.com>\r\n");
  EXPECT_EQ(Feed("RCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
                 "RCPT TO:<c@example.com>\r\nRCPT TO:<d@example.com>\r\n"),
            "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
            "452 4.5.3 Error: too many recipients\r\n");
  Feed("DATA\r\n");
  EXPECT_EQ(Feed("x\r\n.\r\n"), "554 Transaction failed: Recipient count exceeds 2.\r\n");
  EXPECT_TRUE(handler_.delivered.empty());
}

TEST_F(SessionTest, RsetClearsTransactionButKeepsAuth) {
  Authed();
  Feed("MAIL FROM:<f@example.com>\r\nRCPT TO:<t@example.com>\r\n");
  EXPECT_TRUE(session_->InTransaction());
  EXPECT_EQ(Feed("RSET\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_FALSE(session_->InTransaction());
  EXPECT_EQ(Feed("RCPT TO:<t@example.com>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(Feed("MAIL FROM:<g@example.com>\r\nRCPT TO:<u@example.com>\r\nDATA\r\nx\r\n.\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
            "250 Ok 0100-id\r\n");
  ASSERT_EQ(handler_.delivered.size(), 1u);
  EXPECT_EQ(handler_.delivered[0].mail_from, "g@example.com");
  EXPECT_EQ(handler_.delivered[0].recipients, std::vector<std::string>{"u@example.com"});
}

TEST_F(SessionTest, EhloResetsTransaction) {
  Authed();
  Feed("MAIL FROM:<f@example.com>\r\n");
  Feed("EHLO again\r\n");
  EXPECT_EQ(Feed("RCPT TO:<t@example.com>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_TRUE(session_->authenticated());
}

TEST_F(SessionTest, TooManyCommandsCloses) {
  SessionOptions o = DefaultOptions();
  o.limits.max_commands = 3;
  Make(o);
  EXPECT_EQ(Feed("NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n"),
            "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n"
            "421 4.7.0 Too many commands, closing connection\r\n");
  EXPECT_TRUE(last_.close);
}

TEST_F(SessionTest, RejectionReplyFromHandlerIsPassedAndCounted) {
  Authed();
  handler_.reply = "554 Message rejected: Email address is not verified.";
  Feed("MAIL FROM:<f@example.com>\r\nRCPT TO:<t@example.com>\r\nDATA\r\n");
  EXPECT_EQ(Feed("x\r\n.\r\n"), "554 Message rejected: Email address is not verified.\r\n");
  EXPECT_EQ(session_->messages_refused(), 1);
  EXPECT_EQ(session_->messages_accepted(), 0);
}

TEST_F(SessionTest, MalformedHandlerReplyIsSanitized) {
  Authed();
  handler_.reply = "oops";
  Feed("MAIL FROM:<f@example.com>\r\nRCPT TO:<t@example.com>\r\nDATA\r\n");
  EXPECT_EQ(Feed("x\r\n.\r\n"), "451 Temporary service failure\r\n");
  handler_.reply = "250 Ok id\r\n250 forged";
  Feed("MAIL FROM:<f@example.com>\r\nRCPT TO:<t@example.com>\r\nDATA\r\n");
  EXPECT_EQ(Feed("x\r\n.\r\n"), "250 Ok id  250 forged\r\n");
}

TEST_F(SessionTest, OverlongCommandLineIsSkippedInPieces) {
  Make();
  Feed("EHLO c\r\n");
  EXPECT_EQ(Feed(std::string(400, 'x')), "");
  EXPECT_EQ(Feed(std::string(400, 'x')), "500 5.5.0 Line too long\r\n");
  EXPECT_EQ(Feed(std::string(4000, 'x')), "");
  EXPECT_EQ(Feed("tail\r\nNOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST_F(SessionTest, TimeoutAndShutdownReplies) {
  Make();
  EXPECT_EQ(session_->Timeout().bytes, "421 4.4.2 mx.test Error: timeout exceeded\r\n");
  EXPECT_TRUE(session_->closed());
  Make();
  SessionOutput out = session_->Shutdown();
  EXPECT_EQ(out.bytes, "421 4.3.2 mx.test Service shutting down\r\n");
  EXPECT_TRUE(out.close);
  EXPECT_EQ(ServerSession::TooManyConnectionsReply(),
            "421 Too many concurrent SMTP connections\r\n");
}

TEST_F(SessionTest, InTransactionDuringData) {
  Authed();
  EXPECT_FALSE(session_->InTransaction());
  Feed("MAIL FROM:<f@example.com>\r\nRCPT TO:<t@example.com>\r\nDATA\r\npartial");
  EXPECT_TRUE(session_->InTransaction());
  Feed("\r\n.\r\n");
  EXPECT_FALSE(session_->InTransaction());
}

TEST_F(SessionTest, TrustedClientSendsWithoutAuthButOthersMayNot) {
  SessionOptions o = DefaultOptions();
  o.pre_authenticated = true;
  Make(o);
  Feed("EHLO relay\r\n");
  EXPECT_EQ(Feed("MAIL FROM:<a@example.com>\r\n").substr(0, 3), "250");
  EXPECT_EQ(Feed("RCPT TO:<b@example.org>\r\n").substr(0, 3), "250");
  EXPECT_EQ(Feed("DATA\r\n").substr(0, 3), "354");
  EXPECT_EQ(Feed("Subject: x\r\n\r\nhi\r\n.\r\n"), "250 Ok 0100-id\r\n");
  ASSERT_EQ(handler_.delivered.size(), 1u);
  EXPECT_EQ(handler_.auth_calls, 0);

  Make();  // the same client without trust must authenticate
  Feed("EHLO client\r\n");
  EXPECT_EQ(Feed("MAIL FROM:<a@example.com>\r\n"), "530 Authentication required\r\n");
}

// Inbound MX mode (the feedback MX).

SessionOptions MxOptions(std::vector<std::string>* asked) {
  SessionOptions o;
  o.hostname = "feedback.test";
  o.tls_available = true;
  o.allow_insecure_auth = true;  // must not bring AUTH back in MX mode
  o.inbound_mx = true;
  o.accept_recipient = [asked](const std::string& address) -> std::string {
    asked->push_back(address);
    const size_t at = address.rfind('@');
    const std::string domain = address.substr(at + 1);
    if (domain == "bounces.herald.test") return "";
    if (domain == "temp.herald.test") return "451 4.3.0 try later";
    if (domain == "weird.herald.test") return "250 sure";  // not a refusal: made a 451
    return "550 5.7.1 <" + address + ">: Relay access denied";
  };
  return o;
}

TEST_F(SessionTest, MxModeTakesBouncesWithoutAuth) {
  std::vector<std::string> asked;
  Make(MxOptions(&asked));
  const std::string ehlo = Feed("EHLO mta.example.org\r\n");
  EXPECT_EQ(ehlo.find("AUTH"), std::string::npos) << ehlo;
  EXPECT_NE(ehlo.find("250 STARTTLS\r\n"), std::string::npos) << ehlo;
  EXPECT_EQ(Feed("AUTH PLAIN " + PlainInitial("", "AKID", "secret") + "\r\n"),
            "503 5.5.1 Error: authentication not enabled\r\n");
  EXPECT_EQ(handler_.auth_calls, 0);
  EXPECT_EQ(Feed("MAIL FROM:<>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(Feed("RCPT TO:<b-abc@Bounces.Herald.Test>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(Feed("DATA\r\n").substr(0, 3), "354");
  EXPECT_EQ(Feed("Subject: Undelivered Mail\r\n\r\nreport\r\n.\r\n"), "250 Ok 0100-id\r\n");
  ASSERT_EQ(handler_.delivered.size(), 1u);
  EXPECT_EQ(handler_.delivered[0].mail_from, "");
  // The session hands over the address as parsed (domain lower-cased by the path parser).
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(handler_.delivered[0].recipients, asked);
  EXPECT_EQ(handler_.delivered[0].message, "Subject: Undelivered Mail\r\n\r\nreport\r\n");
}

TEST_F(SessionTest, MxModeRefusesForeignDomainsAndKeepsOnlyAccepted) {
  std::vector<std::string> asked;
  Make(MxOptions(&asked));
  Feed("EHLO mta.example.org\r\n");
  EXPECT_EQ(Feed("MAIL FROM:<someone@example.org>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(Feed("RCPT TO:<victim@example.com>\r\n"),
            "550 5.7.1 <victim@example.com>: Relay access denied\r\n");
  EXPECT_EQ(Feed("RCPT TO:<x@temp.herald.test>\r\n"), "451 4.3.0 try later\r\n");
  EXPECT_EQ(Feed("RCPT TO:<x@weird.herald.test>\r\n"), "451 Temporary service failure\r\n");
  EXPECT_EQ(Feed("DATA\r\n"), "503 5.5.1 Error: need RCPT command\r\n");
  EXPECT_EQ(Feed("RCPT TO:<fbl@bounces.herald.test>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(Feed("DATA\r\n").substr(0, 3), "354");
  EXPECT_EQ(Feed("\r\nbody\r\n.\r\n"), "250 Ok 0100-id\r\n");
  ASSERT_EQ(handler_.delivered.size(), 1u);
  EXPECT_EQ(handler_.delivered[0].recipients, std::vector<std::string>{"fbl@bounces.herald.test"});
  EXPECT_EQ(asked.size(), 4u);
}

TEST_F(SessionTest, MxModeWithoutCallbackRefusesEverything) {
  SessionOptions o;
  o.inbound_mx = true;
  Make(o);
  Feed("EHLO mta\r\nMAIL FROM:<>\r\n");
  EXPECT_EQ(Feed("RCPT TO:<a@anything.test>\r\n"), "550 5.7.1 Relaying denied\r\n");
}

TEST_F(SessionTest, MxModeStillRefusesBareLineEnds) {
  std::vector<std::string> asked;
  Make(MxOptions(&asked));
  EXPECT_EQ(Feed("EHLO mta\nMAIL FROM:<>\r\n"), "500 5.5.2 Bare <CR> or <LF> in command\r\n");
  EXPECT_TRUE(last_.close);

  Make(MxOptions(&asked));
  Feed("EHLO mta\r\nMAIL FROM:<>\r\nRCPT TO:<b@bounces.herald.test>\r\nDATA\r\n");
  EXPECT_EQ(Feed("Subject: x\r\n\r\nsmuggled\n.\r\n"),
            "554 5.6.11 Bare <CR> or <LF> in message data; message refused\r\n");
  EXPECT_TRUE(last_.close);
  EXPECT_TRUE(handler_.delivered.empty());
}

TEST_F(SessionTest, SubmissionIgnoresTheRecipientCallback) {
  std::vector<std::string> asked;
  SessionOptions o = MxOptions(&asked);
  o.inbound_mx = false;
  Make(o);
  Feed("EHLO client\r\n");
  EXPECT_EQ(Feed("MAIL FROM:<>\r\n"), "530 Authentication required\r\n");
  Feed(kAuthLine);
  Feed("MAIL FROM:<a@example.com>\r\n");
  EXPECT_EQ(Feed("RCPT TO:<victim@example.com>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_TRUE(asked.empty());
}

}  // namespace
}  // namespace herald::smtp
