#include "delivery/smtp_client.h"

#include <gtest/gtest.h>

#include "tests/fakes/fake_dialer.h"

namespace herald::delivery {
namespace {

using net::FakeDialer;
using net::ScriptedReply;
using net::ScriptedSmtpPeer;
using net::SmtpStep;
using std::chrono::milliseconds;
using Kind = SendOutcome::Kind;

// Distinct values, so a test can tell which deadline a step used.
SmtpClientOptions Options() {
  SmtpClientOptions o;
  o.helo_name = "client.herald.test";
  o.greeting = milliseconds(1001);
  o.command = milliseconds(1002);
  o.data_block = milliseconds(1003);
  o.data_done = milliseconds(1004);
  return o;
}

Envelope Env(std::vector<std::string> recipients, std::string from = "sender@herald.test") {
  Envelope e;
  e.mail_from = std::move(from);
  e.recipients = std::move(recipients);
  return e;
}

const char kBody[] = "Subject: hi\r\n\r\nHello.\r\n";

// EHLO replies used by several tests.
const ScriptedReply kEhloPlain{"250-mx.test", "250-SIZE", "250 8BITMIME"};
const ScriptedReply kEhloTls{"250-mx.test", "250-PIPELINING", "250-STARTTLS", "250 8BITMIME"};

std::vector<int> Codes(const std::vector<SmtpReply>& replies) {
  std::vector<int> out;
  for (const SmtpReply& r : replies) out.push_back(r.code);
  return out;
}

bool Contains(const std::vector<std::string>& v, std::string_view prefix) {
  for (const std::string& s : v) {
    if (s.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------- reply reader

TEST(SmtpReplyReaderTest, SingleMultiLineAndBareLf) {
  SmtpReplyReader reader(1024);
  SmtpReply reply;
  std::string error;
  reader.Feed("250-mx.test greets you\r\n250-PIPELINING\n250 SIZE 100\r\n220 next\r\n");
  ASSERT_EQ(reader.Next(&reply, &error), SmtpReplyReader::Result::kReply);
  EXPECT_EQ(reply.code, 250);
  EXPECT_EQ(reply.text, "mx.test greets you\nPIPELINING\nSIZE 100");
  EXPECT_EQ(reply.Line(), "250 mx.test greets you PIPELINING SIZE 100");
  ASSERT_EQ(reader.Next(&reply, &error), SmtpReplyReader::Result::kReply);
  EXPECT_EQ(reply.code, 220);
  EXPECT_EQ(reply.text, "next");
  EXPECT_EQ(reader.Next(&reply, &error), SmtpReplyReader::Result::kNeedMore);
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(SmtpReplyReaderTest, CodeWithoutTextAndByteByByteFeeding) {
  SmtpReplyReader reader(1024);
  SmtpReply reply;
  std::string error;
  const std::string wire = "354\r\n550-a\r\n550 b\r\n";
  std::vector<SmtpReply> got;
  for (char c : wire) {
    reader.Feed(std::string_view(&c, 1));
    while (reader.Next(&reply, &error) == SmtpReplyReader::Result::kReply) got.push_back(reply);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].code, 354);
  EXPECT_EQ(got[0].text, "");
  EXPECT_EQ(got[0].Line(), "354");
  EXPECT_EQ(got[1].text, "a\nb");
}

TEST(SmtpReplyReaderTest, RejectsMalformedLinesStickily) {
  for (const char* bad : {"25\r\n", "abc def\r\n", "250x\r\n", "199 low\r\n", "600 high\r\n",
                          "2500 ok\r\n", "\r\n", "250-a\r\n251 b\r\n"}) {
    SmtpReplyReader reader(1024);
    SmtpReply reply;
    std::string error;
    reader.Feed(bad);
    EXPECT_EQ(reader.Next(&reply, &error), SmtpReplyReader::Result::kError) << bad;
    EXPECT_FALSE(error.empty());
    reader.Feed("250 fine\r\n");
    EXPECT_EQ(reader.Next(&reply, &error), SmtpReplyReader::Result::kError) << bad;
  }
}

TEST(SmtpReplyReaderTest, BoundsReplyLength) {
  {
    SmtpReplyReader reader(16);
    SmtpReply reply;
    std::string error;
    reader.Feed("250 0123456789\r\n");  // exactly 16 bytes
    EXPECT_EQ(reader.Next(&reply, &error), SmtpReplyReader::Result::kReply);
    reader.Feed("250 01234567890\r\n");  // 17
    EXPECT_EQ(reader.Next(&reply, &error), SmtpReplyReader::Result::kError);
  }
  {
    SmtpReplyReader reader(16);
    SmtpReply reply;
    std::string error;
    reader.Feed("250-0123\r\n250-45");  // no end of line yet, within bounds
    EXPECT_EQ(reader.Next(&reply, &error), SmtpReplyReader::Result::kNeedMore);
    reader.Feed("6789");  // a partial reply past the bound is refused before it ends
    EXPECT_EQ(reader.Next(&reply, &error), SmtpReplyReader::Result::kError);
    EXPECT_NE(error.find("longer"), std::string::npos);
  }
}

// ---------------------------------------------------------------------------- Open

TEST(SmtpClientTest, OpenParsesTheEhloReply) {
  ScriptedSmtpPeer peer;
  peer.Greet({"220-mx.test ESMTP", "220 no UCE"})
      .OnEhlo({"250-mx.test hello", "250-PIPELINING", "250-SIZE 35882577", "250-8bitmime",
               "250-SMTPUTF8", "250-ENHANCEDSTATUSCODES", "250-AUTH PLAIN login",
               "250 AUTH=CRAM-MD5"});
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  const ServerInfo& s = client.server();
  EXPECT_EQ(s.banner, "mx.test ESMTP\nno UCE");
  EXPECT_TRUE(s.esmtp);
  EXPECT_TRUE(s.pipelining);
  EXPECT_FALSE(s.starttls);
  EXPECT_TRUE(s.eightbitmime);
  EXPECT_TRUE(s.smtputf8);
  EXPECT_TRUE(s.enhancedstatuscodes);
  EXPECT_EQ(s.size_limit, 35882577u);
  EXPECT_EQ(s.auth_mechanisms, (std::vector<std::string>{"PLAIN", "LOGIN", "CRAM-MD5"}));
  EXPECT_FALSE(s.tls);
  EXPECT_EQ(peer.commands(), std::vector<std::string>{"EHLO client.herald.test"});
  EXPECT_EQ(peer.last_read_timeout(), milliseconds(1002));
  EXPECT_TRUE(client.Usable());
}

TEST(SmtpClientTest, EhloRefusedFallsBackToHelo) {
  ScriptedSmtpPeer peer;
  peer.OnEhlo("502 5.5.2 Error: command not recognized");
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  EXPECT_FALSE(client.server().esmtp);
  EXPECT_FALSE(client.server().pipelining);
  const SendOutcome out = client.Send(Env({"a@x.test"}), kBody);
  EXPECT_EQ(out.kind, Kind::kCompleted);
  // Plain SMTP: no MAIL parameters, one command at a time.
  EXPECT_EQ(peer.commands(), (std::vector<std::string>{
                                 "EHLO client.herald.test", "HELO client.herald.test",
                                 "MAIL FROM:<sender@herald.test>", "RCPT TO:<a@x.test>", "DATA"}));
  EXPECT_EQ(peer.out_of_turn_commands(), 0);
}

TEST(SmtpClientTest, EhloTemporaryRefusalDoesNotTryHelo) {
  ScriptedSmtpPeer peer;
  peer.OnEhlo("421 4.3.2 shutting down");
  SmtpClient client(peer, Options());
  SmtpReply refusal;
  EXPECT_EQ(client.Open(&refusal).code(), StatusCode::kUnavailable);
  EXPECT_EQ(refusal.code, 421);
  EXPECT_FALSE(Contains(peer.commands(), "HELO"));
}

TEST(SmtpClientTest, GreetingRefusals) {
  {
    ScriptedSmtpPeer peer;
    peer.Greet("554 5.7.1 go away");
    SmtpClient client(peer, Options());
    SmtpReply refusal;
    EXPECT_EQ(client.Open(&refusal).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(refusal.Line(), "554 5.7.1 go away");
    EXPECT_TRUE(peer.commands().empty());
    EXPECT_EQ(client.Send(Env({"a@x.test"}), kBody).kind, Kind::kBroken);
    client.Quit();
    EXPECT_EQ(peer.commands(), std::vector<std::string>{"QUIT"});
  }
  {
    ScriptedSmtpPeer peer;
    peer.Greet("421 4.7.0 try later");
    SmtpClient client(peer, Options());
    SmtpReply refusal;
    EXPECT_EQ(client.Open(&refusal).code(), StatusCode::kUnavailable);
    EXPECT_EQ(refusal.code, 421);
  }
}

TEST(SmtpClientTest, RejectsABadHeloName) {
  ScriptedSmtpPeer peer;
  SmtpClientOptions o = Options();
  o.helo_name = "a\r\nMAIL FROM:<x>";
  SmtpClient client(peer, o);
  EXPECT_EQ(client.Open(nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(peer.commands().empty());
}

// ---------------------------------------------------------------------------- STARTTLS

TEST(SmtpClientTest, OpportunisticTlsWhenOffered) {
  ScriptedSmtpPeer peer;
  peer.OnEhlo(kEhloTls);
  SmtpClientOptions o = Options();
  o.tls_server_name = "mx1.example.test";
  SmtpClient client(peer, o);
  ASSERT_TRUE(client.Open(nullptr).ok());
  EXPECT_TRUE(peer.IsTls());
  EXPECT_EQ(peer.tls_server_name(), "mx1.example.test");
  EXPECT_TRUE(client.server().tls);
  EXPECT_FALSE(client.server().starttls);  // what was learnt before TLS is forgotten
  EXPECT_TRUE(client.server().pipelining);
  EXPECT_EQ(peer.commands(), (std::vector<std::string>{"EHLO client.herald.test", "STARTTLS",
                                                       "EHLO client.herald.test"}));
  EXPECT_EQ(client.Send(Env({"a@x.test"}), kBody).kind, Kind::kCompleted);
}

TEST(SmtpClientTest, OpportunisticTlsNotOfferedStaysPlain) {
  ScriptedSmtpPeer peer;
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  EXPECT_FALSE(client.server().tls);
  EXPECT_FALSE(Contains(peer.commands(), "STARTTLS"));
}

TEST(SmtpClientTest, OpportunisticTlsRefusedStaysPlain) {
  ScriptedSmtpPeer peer;
  peer.OnEhlo(kEhloTls).OnStartTls("454 4.7.0 TLS not available");
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  EXPECT_FALSE(client.server().tls);
  EXPECT_EQ(client.Send(Env({"a@x.test"}), kBody).kind, Kind::kCompleted);
}

TEST(SmtpClientTest, TlsOffNeverStartsTls) {
  ScriptedSmtpPeer peer;
  peer.OnEhlo(kEhloTls);
  SmtpClientOptions o = Options();
  o.tls = TlsMode::kOff;
  SmtpClient client(peer, o);
  ASSERT_TRUE(client.Open(nullptr).ok());
  EXPECT_TRUE(client.server().starttls);
  EXPECT_FALSE(peer.IsTls());
  EXPECT_FALSE(Contains(peer.commands(), "STARTTLS"));
}

TEST(SmtpClientTest, RequiredTls) {
  SmtpClientOptions o = Options();
  o.tls = TlsMode::kRequire;
  {
    ScriptedSmtpPeer peer;
    peer.OnEhlo(kEhloTls);
    SmtpClient client(peer, o);
    ASSERT_TRUE(client.Open(nullptr).ok());
    EXPECT_TRUE(client.server().tls);
  }
  {
    ScriptedSmtpPeer peer;  // not offered
    SmtpClient client(peer, o);
    SmtpReply refusal;
    EXPECT_EQ(client.Open(&refusal).code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(refusal.code, 0);
    EXPECT_FALSE(Contains(peer.commands(), "MAIL"));
  }
  {
    ScriptedSmtpPeer peer;
    peer.OnEhlo(kEhloTls).OnStartTls("454 4.7.0 TLS not available");
    SmtpClient client(peer, o);
    SmtpReply refusal;
    EXPECT_EQ(client.Open(&refusal).code(), StatusCode::kUnavailable);
    EXPECT_EQ(refusal.code, 454);
  }
}

TEST(SmtpClientTest, TlsHandshakeFailure) {
  ScriptedSmtpPeer peer;
  peer.OnEhlo(kEhloTls).FailTlsHandshake();
  SmtpClient client(peer, Options());
  const Status s = client.Open(nullptr);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("handshake"), std::string::npos) << s.message();
  EXPECT_FALSE(client.Usable());
}

TEST(SmtpClientTest, RefusesDataSentAheadOfTheStartTlsReply) {
  ScriptedSmtpPeer peer;
  peer.OnEhlo(kEhloTls).OnStartTls(ScriptedReply::Raw("220 go ahead\r\n250 injected\r\n"));
  SmtpClient client(peer, Options());
  EXPECT_EQ(client.Open(nullptr).code(), StatusCode::kUnavailable);
  EXPECT_FALSE(peer.IsTls());
}

// ---------------------------------------------------------------------------- AUTH

TEST(SmtpClientTest, AuthPlainAfterTls) {
  ScriptedSmtpPeer peer;
  peer.OnEhlo(kEhloTls).OnEhloAfterTls({"250-mx.test", "250-AUTH LOGIN PLAIN", "250 8BITMIME"});
  SmtpClientOptions o = Options();
  o.auth_user = "AKIAEXAMPLE";
  o.auth_password = "s3cret/pw";
  SmtpClient client(peer, o);
  ASSERT_TRUE(client.Open(nullptr).ok());
  EXPECT_EQ(peer.auth_mechanism(), "PLAIN");
  EXPECT_EQ(peer.auth_user(), "AKIAEXAMPLE");
  EXPECT_EQ(peer.auth_password(), "s3cret/pw");
  EXPECT_EQ(peer.commands().size(), 4u);  // EHLO, STARTTLS, EHLO, AUTH PLAIN <response>
}

TEST(SmtpClientTest, AuthLoginWhenOnlyLoginIsOffered) {
  ScriptedSmtpPeer peer;
  peer.OnEhlo({"250-mx.test", "250 AUTH LOGIN"});
  SmtpClientOptions o = Options();
  o.auth_user = "user";
  o.auth_password = "pass word";
  o.allow_auth_without_tls = true;
  SmtpClient client(peer, o);
  ASSERT_TRUE(client.Open(nullptr).ok());
  EXPECT_EQ(peer.auth_mechanism(), "LOGIN");
  EXPECT_EQ(peer.auth_user(), "user");
  EXPECT_EQ(peer.auth_password(), "pass word");
}

TEST(SmtpClientTest, AuthRefusedOrImpossible) {
  SmtpClientOptions o = Options();
  o.auth_user = "user";
  o.auth_password = "wrong";
  {
    ScriptedSmtpPeer peer;  // credentials never go over plaintext
    peer.OnEhlo({"250-mx.test", "250 AUTH PLAIN"});
    SmtpClient client(peer, o);
    EXPECT_EQ(client.Open(nullptr).code(), StatusCode::kFailedPrecondition);
    EXPECT_FALSE(Contains(peer.commands(), "AUTH"));
  }
  o.allow_auth_without_tls = true;
  {
    ScriptedSmtpPeer peer;
    peer.OnEhlo({"250-mx.test", "250 AUTH PLAIN"})
        .OnAuth("535 5.7.8 Authentication credentials invalid");
    SmtpClient client(peer, o);
    SmtpReply refusal;
    EXPECT_EQ(client.Open(&refusal).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(refusal.code, 535);
  }
  {
    ScriptedSmtpPeer peer;
    peer.OnEhlo({"250-mx.test", "250 AUTH PLAIN"}).OnAuth("454 4.7.0 Temporary failure");
    SmtpClient client(peer, o);
    EXPECT_EQ(client.Open(nullptr).code(), StatusCode::kUnavailable);
  }
  {
    ScriptedSmtpPeer peer;
    peer.OnEhlo({"250-mx.test", "250 AUTH CRAM-MD5"});
    SmtpClient client(peer, o);
    EXPECT_EQ(client.Open(nullptr).code(), StatusCode::kFailedPrecondition);
  }
}

// ---------------------------------------------------------------------------- transactions

TEST(SmtpClientTest, PipelinedTransaction) {
  ScriptedSmtpPeer peer;
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  Envelope env = Env({"a@x.test", "b@y.test"});
  env.eightbit = true;
  const SendOutcome out = client.Send(env, kBody);
  ASSERT_EQ(out.kind, Kind::kCompleted) << out.error;
  EXPECT_EQ(out.mail.code, 250);
  EXPECT_EQ(Codes(out.rcpt), (std::vector<int>{250, 250}));
  EXPECT_EQ(out.data.Line(), "250 2.0.0 Ok: queued as TEST");
  EXPECT_TRUE(out.after_data_sent);
  const std::string mail =
      "MAIL FROM:<sender@herald.test> SIZE=" + std::to_string(sizeof(kBody) - 1) +
      " BODY=8BITMIME\r\n";
  const std::vector<std::string> writes = peer.writes();
  ASSERT_GE(writes.size(), 3u);
  EXPECT_EQ(writes[1], mail + "RCPT TO:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
  EXPECT_EQ(peer.messages(), std::vector<std::string>{kBody});
  EXPECT_EQ(peer.out_of_turn_commands(), 0);
  EXPECT_EQ(peer.last_read_timeout(), milliseconds(1004));  // the final reply
  EXPECT_TRUE(client.Usable());
}

TEST(SmtpClientTest, NonPipelinedTransaction) {
  ScriptedSmtpPeer peer;
  peer.OnEhlo(kEhloPlain);
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  const SendOutcome out = client.Send(Env({"a@x.test", "b@y.test"}), kBody);
  ASSERT_EQ(out.kind, Kind::kCompleted) << out.error;
  const std::vector<std::string> writes = peer.writes();
  ASSERT_EQ(writes.size(), 6u);  // EHLO, MAIL, RCPT, RCPT, DATA, body
  EXPECT_EQ(writes[1], "MAIL FROM:<sender@herald.test> SIZE=" + std::to_string(sizeof(kBody) - 1) +
                           "\r\n");  // no BODY= unasked
  EXPECT_EQ(writes[2], "RCPT TO:<a@x.test>\r\n");
  EXPECT_EQ(writes[4], "DATA\r\n");
  EXPECT_EQ(peer.out_of_turn_commands(), 0);
  EXPECT_EQ(peer.messages(), std::vector<std::string>{kBody});
}

TEST(SmtpClientTest, NullSenderAndSmtpUtf8) {
  ScriptedSmtpPeer peer;
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  Envelope env = Env({"j\xc3\xb6rg@x.test"}, "");
  const SendOutcome out = client.Send(env, kBody);
  ASSERT_EQ(out.kind, Kind::kCompleted) << out.error;
  EXPECT_TRUE(Contains(peer.commands(), "MAIL FROM:<> SIZE="));
  EXPECT_NE(peer.commands()[1].find(" SMTPUTF8"), std::string::npos);
}

TEST(SmtpClientTest, SmtpUtf8NeededButNotOffered) {
  ScriptedSmtpPeer peer;
  peer.OnEhlo(kEhloPlain);
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  Envelope env = Env({"a@x.test"});
  env.smtputf8 = true;
  const SendOutcome out = client.Send(env, kBody);
  EXPECT_EQ(out.kind, Kind::kRejected);
  EXPECT_EQ(out.mail.Line(), "553 5.6.7 The server does not support SMTPUTF8");
  EXPECT_FALSE(Contains(peer.commands(), "MAIL"));
  EXPECT_TRUE(client.Usable());
}

TEST(SmtpClientTest, SizeOverTheAdvertisedLimit) {
  ScriptedSmtpPeer peer;
  peer.OnEhlo({"250-mx.test", "250 SIZE 1000"});
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  const SendOutcome out = client.Send(Env({"a@x.test"}), std::string(1001, 'x'));
  EXPECT_EQ(out.kind, Kind::kRejected);
  EXPECT_EQ(out.mail.code, 552);
  EXPECT_EQ(out.mail.text.rfind("5.3.4 ", 0), 0u);
  EXPECT_EQ(Codes(out.rcpt), std::vector<int>{0});
  EXPECT_FALSE(Contains(peer.commands(), "MAIL"));
  EXPECT_TRUE(client.Usable());
  // At the limit it goes.
  EXPECT_EQ(client.Send(Env({"a@x.test"}), std::string(998, 'x') + "\r\n").kind, Kind::kCompleted);
}

TEST(SmtpClientTest, MixedRecipientResults) {
  ScriptedSmtpPeer peer;
  peer.OnRcpt("bad@x.test", "550 5.1.1 <bad@x.test>: Recipient address rejected")
      .OnRcpt("later@x.test", {"450-4.2.0 greylisted,", "450 4.2.0 come back later"});
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  const SendOutcome out = client.Send(
      Env({"ok@x.test", "bad@x.test", "evil>@x.test", "later@x.test", "OK2@x.test"}), kBody);
  ASSERT_EQ(out.kind, Kind::kCompleted) << out.error;
  EXPECT_EQ(Codes(out.rcpt), (std::vector<int>{250, 550, 501, 450, 250}));
  EXPECT_EQ(out.rcpt[2].text, "5.1.3 Bad recipient address syntax");
  EXPECT_EQ(out.rcpt[3].Line(), "450 4.2.0 greylisted, 4.2.0 come back later");
  EXPECT_FALSE(Contains(peer.commands(), "RCPT TO:<evil"));
  EXPECT_EQ(peer.messages().size(), 1u);
}

TEST(SmtpClientTest, BadSenderAddressIsRefusedLocally) {
  ScriptedSmtpPeer peer;
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  const SendOutcome out = client.Send(Env({"a@x.test"}, "a@x.test>\r\nRCPT TO:<c@d"), kBody);
  EXPECT_EQ(out.kind, Kind::kRejected);
  EXPECT_EQ(out.mail.code, 501);
  EXPECT_EQ(peer.commands().size(), 1u);  // EHLO only
}

TEST(SmtpClientTest, AllRecipientsRefused) {
  for (bool pipelining : {true, false}) {
    ScriptedSmtpPeer peer;
    if (!pipelining) peer.OnEhlo(kEhloPlain);
    peer.OnAnyRcpt("550 5.1.1 no such user");
    SmtpClient client(peer, Options());
    ASSERT_TRUE(client.Open(nullptr).ok());
    const SendOutcome out = client.Send(Env({"a@x.test", "b@x.test"}), kBody);
    EXPECT_EQ(out.kind, Kind::kRejected);
    EXPECT_EQ(Codes(out.rcpt), (std::vector<int>{550, 550}));
    EXPECT_TRUE(peer.messages().empty());
    // Only a pipelining client sends DATA (the server refuses it: no valid recipients).
    EXPECT_EQ(Contains(peer.commands(), "DATA"), pipelining);
    EXPECT_TRUE(client.Usable());
    EXPECT_TRUE(client.Reset().ok());
  }
}

TEST(SmtpClientTest, DataAcceptedWithoutRecipientsIsEndedEmpty) {
  ScriptedSmtpPeer peer;
  peer.OnAnyRcpt("550 5.1.1 no such user").Then(SmtpStep::kData, "354 go ahead");
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  const SendOutcome out = client.Send(Env({"a@x.test"}), kBody);
  EXPECT_EQ(out.kind, Kind::kRejected);
  EXPECT_EQ(peer.messages(), std::vector<std::string>{""});  // a lone dot, no body
  EXPECT_TRUE(client.Usable());
}

TEST(SmtpClientTest, MailRefused) {
  for (bool pipelining : {true, false}) {
    ScriptedSmtpPeer peer;
    if (!pipelining) peer.OnEhlo(kEhloPlain);
    peer.OnMail("550 5.7.1 sender rejected");
    SmtpClient client(peer, Options());
    ASSERT_TRUE(client.Open(nullptr).ok());
    const SendOutcome out = client.Send(Env({"a@x.test"}), kBody);
    EXPECT_EQ(out.kind, Kind::kRejected);
    EXPECT_EQ(out.mail.Line(), "550 5.7.1 sender rejected");
    // Pipelined RCPTs were answered 503 by the server; otherwise none was sent.
    EXPECT_EQ(Codes(out.rcpt), std::vector<int>{pipelining ? 503 : 0});
    EXPECT_EQ(out.data.code, 0);
    EXPECT_TRUE(peer.messages().empty());
    EXPECT_TRUE(client.Usable());
  }
}

TEST(SmtpClientTest, DataRefused) {
  for (bool pipelining : {true, false}) {
    ScriptedSmtpPeer peer;
    if (!pipelining) peer.OnEhlo(kEhloPlain);
    peer.OnData("451 4.3.0 try again later");
    SmtpClient client(peer, Options());
    ASSERT_TRUE(client.Open(nullptr).ok());
    const SendOutcome out = client.Send(Env({"a@x.test"}), kBody);
    EXPECT_EQ(out.kind, Kind::kRejected);
    EXPECT_EQ(out.data.code, 451);
    EXPECT_EQ(Codes(out.rcpt), std::vector<int>{250});
    EXPECT_FALSE(out.after_data_sent);
    EXPECT_TRUE(client.Usable());
  }
}

TEST(SmtpClientTest, FinalDotRefused) {
  ScriptedSmtpPeer peer;
  peer.OnDataDone("554 5.7.1 message looks like spam");
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  const SendOutcome out = client.Send(Env({"a@x.test"}), kBody);
  EXPECT_EQ(out.kind, Kind::kCompleted);
  EXPECT_EQ(out.data.code, 554);
  EXPECT_TRUE(out.after_data_sent);
}

TEST(SmtpClientTest, ServerClosingWith421) {
  ScriptedSmtpPeer peer;
  peer.OnRcpt("b@x.test", "421 4.7.0 too many errors, closing").CloseAt(SmtpStep::kRcpt, 3);
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  const SendOutcome out = client.Send(Env({"a@x.test", "b@x.test", "c@x.test"}), kBody);
  EXPECT_EQ(out.kind, Kind::kRejected);
  EXPECT_EQ(Codes(out.rcpt), (std::vector<int>{250, 421, 0}));
  EXPECT_FALSE(client.Usable());
  EXPECT_FALSE(client.Reset().ok());
}

// ---------------------------------------------------------------------------- the body

struct StuffingCase {
  std::string body;
  std::string received;  // what the server has after un-stuffing
  std::string wire;      // what went over the wire after DATA
};

TEST(SmtpClientTest, DotStuffing) {
  const std::vector<StuffingCase> cases = {
      {"a\r\n.b\r\n..c\r\n.\r\nend\r\n", "a\r\n.b\r\n..c\r\n.\r\nend\r\n",
       "a\r\n..b\r\n...c\r\n..\r\nend\r\n.\r\n"},
      {"no final newline", "no final newline\r\n", "no final newline\r\n.\r\n"},
      {".", ".\r\n", "..\r\n.\r\n"},
      {".\r\n", ".\r\n", "..\r\n.\r\n"},
      {"", "", ".\r\n"},
      {"x\r\n", "x\r\n", "x\r\n.\r\n"},
      // Bare LF and CR go out as CRLF, so "\n.\n" cannot end the message early.
      {"a\n.\nb", "a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"},
      {"a\r.\rb\r", "a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"},
  };
  for (const StuffingCase& c : cases) {
    ScriptedSmtpPeer peer;
    SmtpClient client(peer, Options());
    ASSERT_TRUE(client.Open(nullptr).ok());
    const SendOutcome out = client.Send(Env({"a@x.test"}), c.body);
    ASSERT_EQ(out.kind, Kind::kCompleted) << out.error;
    EXPECT_EQ(peer.messages(), std::vector<std::string>{c.received}) << c.body;
    EXPECT_EQ(peer.data_wire(), c.wire) << c.body;
  }
}

TEST(SmtpClientTest, LargeBodyGoesInBoundedChunks) {
  std::string body;
  for (int i = 0; body.size() < 300 * 1024; ++i) {
    body += (i % 3 == 0 ? "." : "") + std::string(70, static_cast<char>('a' + i % 26)) + "\r\n";
  }
  ScriptedSmtpPeer peer;
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  const SendOutcome out = client.Send(Env({"a@x.test"}), body);
  ASSERT_EQ(out.kind, Kind::kCompleted) << out.error;
  EXPECT_EQ(peer.messages(), std::vector<std::string>{body});
  const std::vector<std::string> writes = peer.writes();
  ASSERT_GT(writes.size(), 6u);  // EHLO, MAIL..DATA, then at least five body chunks
  for (size_t i = 2; i < writes.size(); ++i) EXPECT_LE(writes[i].size(), 65 * 1024u);
  EXPECT_EQ(peer.last_write_timeout(), milliseconds(1003));
}

// ---------------------------------------------------------------------------- failures

TEST(SmtpClientTest, DropInTheMiddleOfData) {
  ScriptedSmtpPeer peer;
  peer.DropAfterBodyBytes(10);
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  const SendOutcome out = client.Send(Env({"a@x.test"}), std::string(100, 'x') + "\r\n");
  EXPECT_EQ(out.kind, Kind::kBroken);
  EXPECT_FALSE(out.after_data_sent);
  EXPECT_EQ(Codes(out.rcpt), std::vector<int>{250});
  EXPECT_FALSE(out.error.empty());
  EXPECT_FALSE(client.Usable());
  EXPECT_EQ(client.Send(Env({"a@x.test"}), kBody).kind, Kind::kBroken);
  client.Quit();  // no QUIT on a broken connection
  EXPECT_FALSE(Contains(peer.commands(), "QUIT"));
}

TEST(SmtpClientTest, DropAfterTheDot) {
  ScriptedSmtpPeer peer;
  peer.CloseAt(SmtpStep::kDataDone);
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  const SendOutcome out = client.Send(Env({"a@x.test"}), kBody);
  EXPECT_EQ(out.kind, Kind::kBroken);
  EXPECT_TRUE(out.after_data_sent);
  EXPECT_EQ(out.error, "connection closed waiting for end of data reply");
  EXPECT_EQ(peer.messages(), std::vector<std::string>{kBody});
}

TEST(SmtpClientTest, TimeoutsDuringOpen) {
  struct Case {
    SmtpStep step;
    milliseconds expected;
    std::string error;
  };
  const std::vector<Case> cases = {
      {SmtpStep::kGreeting, milliseconds(1001), "timeout waiting for greeting reply"},
      {SmtpStep::kEhlo, milliseconds(1002), "timeout waiting for EHLO reply"},
      {SmtpStep::kStartTls, milliseconds(1002), "timeout waiting for STARTTLS reply"},
      {SmtpStep::kAuth, milliseconds(1002), "timeout waiting for AUTH PLAIN reply"},
  };
  for (const Case& c : cases) {
    ScriptedSmtpPeer peer;
    peer.OnEhlo(kEhloTls).OnEhloAfterTls({"250-mx.test", "250 AUTH PLAIN"}).TimeoutAt(c.step);
    SmtpClientOptions o = Options();
    o.auth_user = "u";
    o.auth_password = "p";
    SmtpClient client(peer, o);
    const Status s = client.Open(nullptr);
    EXPECT_EQ(s.code(), StatusCode::kUnavailable);
    EXPECT_EQ(s.message(), c.error);
    EXPECT_EQ(peer.last_read_timeout(), c.expected) << c.error;
    EXPECT_FALSE(client.Usable());
  }
}

TEST(SmtpClientTest, TimeoutsDuringATransaction) {
  struct Case {
    SmtpStep step;
    int occurrence;
    bool pipelining;
    milliseconds expected;
    std::string error;
    bool after_data_sent;
  };
  const std::vector<Case> cases = {
      {SmtpStep::kMail, 1, true, milliseconds(1002), "timeout waiting for MAIL reply", false},
      {SmtpStep::kRcpt, 2, true, milliseconds(1002), "timeout waiting for RCPT reply", false},
      {SmtpStep::kData, 1, true, milliseconds(1002), "timeout waiting for DATA reply", false},
      {SmtpStep::kMail, 1, false, milliseconds(1002), "timeout waiting for MAIL reply", false},
      {SmtpStep::kRcpt, 1, false, milliseconds(1002), "timeout waiting for RCPT reply", false},
      {SmtpStep::kData, 1, false, milliseconds(1002), "timeout waiting for DATA reply", false},
      {SmtpStep::kDataDone, 1, true, milliseconds(1004), "timeout waiting for end of data reply",
       true},
  };
  for (const Case& c : cases) {
    ScriptedSmtpPeer peer;
    if (!c.pipelining) peer.OnEhlo(kEhloPlain);
    peer.TimeoutAt(c.step, c.occurrence);
    SmtpClient client(peer, Options());
    ASSERT_TRUE(client.Open(nullptr).ok());
    const SendOutcome out = client.Send(Env({"a@x.test", "b@x.test"}), kBody);
    EXPECT_EQ(out.kind, Kind::kBroken) << c.error;
    EXPECT_EQ(out.error, c.error);
    EXPECT_EQ(out.after_data_sent, c.after_data_sent) << c.error;
    EXPECT_EQ(peer.last_read_timeout(), c.expected) << c.error;
    EXPECT_FALSE(client.Usable());
  }
}

TEST(SmtpClientTest, TimeoutWritingTheBody) {
  ScriptedSmtpPeer peer;
  peer.StallAfterBodyBytes(5);
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  const SendOutcome out = client.Send(Env({"a@x.test"}), kBody);
  EXPECT_EQ(out.kind, Kind::kBroken);
  EXPECT_FALSE(out.after_data_sent);
  EXPECT_EQ(out.error, "timeout sending the end of the message");
  EXPECT_EQ(peer.last_write_timeout(), milliseconds(1003));
}

TEST(SmtpClientTest, TimeoutOnRset) {
  ScriptedSmtpPeer peer;
  peer.TimeoutAt(SmtpStep::kRset);
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  ASSERT_EQ(client.Send(Env({"a@x.test"}), kBody).kind, Kind::kCompleted);
  const Status s = client.Reset();
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(client.Usable());
}

TEST(SmtpClientTest, ReplyOverTheLimitBreaksTheSession) {
  ScriptedSmtpPeer peer;
  peer.OnRcpt("a@x.test", {"250-" + std::string(200, 'x'), "250 ok"});
  SmtpClientOptions o = Options();
  o.max_reply_bytes = 200;
  SmtpClient client(peer, o);
  ASSERT_TRUE(client.Open(nullptr).ok());
  const SendOutcome out = client.Send(Env({"a@x.test"}), kBody);
  EXPECT_EQ(out.kind, Kind::kBroken);
  EXPECT_NE(out.error.find("longer than 200 bytes"), std::string::npos) << out.error;
  EXPECT_FALSE(client.Usable());
}

TEST(SmtpClientTest, ReplyWithMismatchedCodesBreaksTheSession) {
  ScriptedSmtpPeer peer;
  peer.OnMail({"250-2.1.0 fine", "550 5.1.0 or not"});
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  const SendOutcome out = client.Send(Env({"a@x.test"}), kBody);
  EXPECT_EQ(out.kind, Kind::kBroken);
  EXPECT_NE(out.error.find("bad MAIL reply"), std::string::npos) << out.error;
  EXPECT_NE(out.error.find("different codes"), std::string::npos) << out.error;
}

TEST(SmtpClientTest, RepliesTricklingInOneByteAtATime) {
  ScriptedSmtpPeer peer;
  peer.ReadChunk(1).OnDataDone({"250-2.0.0 queued", "250 2.0.0 as ABC"});
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  const SendOutcome out = client.Send(Env({"a@x.test", "b@x.test"}), kBody);
  ASSERT_EQ(out.kind, Kind::kCompleted) << out.error;
  EXPECT_EQ(out.data.text, "2.0.0 queued\n2.0.0 as ABC");
}

// ---------------------------------------------------------------------------- reuse

TEST(SmtpClientTest, ThreeMessagesOnOneConnectionWithRset) {
  for (bool pipelining : {true, false}) {
    ScriptedSmtpPeer peer;
    if (!pipelining) peer.OnEhlo(kEhloPlain);
    peer.Then(SmtpStep::kDataDone, "250 2.0.0 first")
        .Then(SmtpStep::kDataDone, "451 4.3.0 second deferred")
        .Then(SmtpStep::kDataDone, "250 2.0.0 third");
    SmtpClient client(peer, Options());
    ASSERT_TRUE(client.Open(nullptr).ok());
    std::vector<std::string> finals;
    for (int i = 0; i < 3; ++i) {
      if (i > 0) {
        ASSERT_TRUE(client.Reset().ok());
      }
      const SendOutcome out =
          client.Send(Env({"r" + std::to_string(i) + "@x.test"}), "Body " + std::to_string(i));
      ASSERT_EQ(out.kind, Kind::kCompleted) << out.error;
      finals.push_back(out.data.Line());
    }
    EXPECT_EQ(finals, (std::vector<std::string>{"250 2.0.0 first", "451 4.3.0 second deferred",
                                                "250 2.0.0 third"}));
    EXPECT_EQ(peer.messages(),
              (std::vector<std::string>{"Body 0\r\n", "Body 1\r\n", "Body 2\r\n"}));
    EXPECT_EQ(peer.reached(SmtpStep::kRset), 2);
    EXPECT_EQ(peer.out_of_turn_commands(), 0);
    client.Quit();
    EXPECT_EQ(peer.commands().back(), "QUIT");
    EXPECT_TRUE(peer.closed());
    EXPECT_FALSE(client.Usable());
  }
}

TEST(SmtpClientTest, RsetRefusedBreaksTheSession) {
  ScriptedSmtpPeer peer;
  peer.OnRset("500 5.5.1 what?");
  SmtpClient client(peer, Options());
  ASSERT_TRUE(client.Open(nullptr).ok());
  EXPECT_EQ(client.Reset().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(client.Usable());
}

// ---------------------------------------------------------------------------- with FakeDialer

TEST(SmtpClientTest, GreylistedThenAcceptedOnALaterConnection) {
  FakeDialer dialer;
  dialer.AddPeer("192.0.2.1", 25).OnAnyRcpt("451 4.7.1 greylisted, try again in 5 minutes");
  dialer.AddPeer("192.0.2.1", 25);
  dialer.TimeoutNext("192.0.2.2", 25);
  dialer.RefuseNext("2001:db8::1", 25);

  std::vector<int> rcpt_codes;
  for (int attempt = 0; attempt < 2; ++attempt) {
    StatusOr<std::unique_ptr<net::Transport>> t = dialer.Dial("192.0.2.1", 25, milliseconds(30000));
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ((*t)->PeerAddress(), "192.0.2.1");
    SmtpClient client(**t, Options());
    ASSERT_TRUE(client.Open(nullptr).ok());
    const SendOutcome out = client.Send(Env({"a@x.test"}), kBody);
    rcpt_codes.push_back(out.rcpt.at(0).code);
    client.Quit();
  }
  EXPECT_EQ(rcpt_codes, (std::vector<int>{451, 250}));
  EXPECT_EQ(dialer.Dial("192.0.2.2", 25, milliseconds(5)).status().code(),
            StatusCode::kDeadlineExceeded);
  EXPECT_EQ(dialer.last_timeout(), milliseconds(5));
  EXPECT_EQ(dialer.Dial("2001:db8::1", 25, milliseconds(5)).status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(dialer.Dial("192.0.2.1", 25, milliseconds(5)).status().code(),
            StatusCode::kUnavailable);  // nothing queued any more
  EXPECT_EQ(dialer.dials(), 5);
  EXPECT_EQ(dialer.dials("192.0.2.1", 25), 3);
  EXPECT_EQ(dialer.dial_log()[3], "[2001:db8::1]:25");
  const auto peers = dialer.peers("192.0.2.1", 25);
  ASSERT_EQ(peers.size(), 2u);
  EXPECT_TRUE(peers[0]->released());
  EXPECT_TRUE(peers[0]->messages().empty());
  EXPECT_EQ(peers[1]->messages(), std::vector<std::string>{kBody});
}

TEST(SmtpClientTest, FakeDialerFactoryMakesPeersOnDemand) {
  FakeDialer dialer;
  int made = 0;
  dialer.SetFactory("192.0.2.9", 2525, [&made] {
    ++made;
    auto peer = std::make_shared<ScriptedSmtpPeer>();
    peer->Greet("220 factory.test");
    return peer;
  });
  for (int i = 0; i < 3; ++i) {
    StatusOr<std::unique_ptr<net::Transport>> t =
        dialer.Dial("192.0.2.9", 2525, milliseconds(1000));
    ASSERT_TRUE(t.ok());
    SmtpClient client(**t, Options());
    ASSERT_TRUE(client.Open(nullptr).ok());
    EXPECT_EQ(client.server().banner, "factory.test");
  }
  EXPECT_EQ(made, 3);
  EXPECT_EQ(dialer.peers("192.0.2.9", 2525).size(), 3u);
}

}  // namespace
}  // namespace herald::delivery
