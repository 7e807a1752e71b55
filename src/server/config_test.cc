#include "server/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>

namespace herald::server {
namespace {

std::string WriteTemp(const std::string& text) {
  char path[] = "/tmp/herald-config-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, DefaultsAreValid) {
  Config c;
  EXPECT_TRUE(ValidateConfig(c).ok());
}

TEST(ConfigTest, LoadsEveryKind) {
  std::string p = WriteTemp(
      "region = \"eu-west-1\"\nhostname = \"mx.test\"\n[http]\nlisten = \"127.0.0.1:0\"\n"
      "[smtp]\nallow_insecure_auth_on_loopback = true\ntrusted_networks = [\"127.0.0.0/8\"]\n"
      "trusted_account = \"bench\"\n[sending]\nsandbox_max_send_rate = 2.5\n"
      "production_max_24h_send = 1000\n");
  Config c;
  ASSERT_TRUE(LoadConfigFile(p, &c).ok());
  EXPECT_EQ(c.region, "eu-west-1");
  EXPECT_EQ(c.http_listen, "127.0.0.1:0");
  EXPECT_TRUE(c.smtp_allow_insecure_auth_on_loopback);
  EXPECT_EQ(c.smtp_trusted_networks, std::vector<std::string>{"127.0.0.0/8"});
  EXPECT_DOUBLE_EQ(c.sandbox_max_send_rate, 2.5);
  EXPECT_EQ(c.production_max_24h_send, 1000);
  EXPECT_TRUE(ValidateConfig(c).ok());
  std::remove(p.c_str());
}

TEST(ConfigTest, RejectsUnknownKeysWithTheirName) {
  std::string p = WriteTemp("[smtp]\nlisten = \"127.0.0.1:25\"\nlisten_typo = 1\n");
  Config c;
  Status s = LoadConfigFile(p, &c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("unknown configuration key 'smtp.listen_typo'"), std::string::npos);
  EXPECT_NE(s.message().find("line 3"), std::string::npos);
  std::remove(p.c_str());
}

TEST(ConfigTest, RejectsOutOfRangeAndWrongTypes) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"[sending]\nmax_recipients = 51\n", "sending.max_recipients = 51 is out of range [1, 50]"},
      {"[sending]\nsandbox_max_send_rate = 0\n", "out of range"},
      {"[http]\nthreads = \"many\"\n", "http.threads must be an integer"},
      {"region = 5\n", "region must be a string"},
      {"[smtp]\ntrusted_networks = [1]\n", "must be an array of strings"},
      {"this is not toml\n", "line 1"},
  };
  for (const auto& tc : cases) {
    std::string p = WriteTemp(tc.text);
    Config c;
    Status s = LoadConfigFile(p, &c);
    EXPECT_FALSE(s.ok()) << tc.text;
    EXPECT_NE(s.message().find(tc.expect), std::string::npos) << s.message();
    std::remove(p.c_str());
  }
}

TEST(ConfigTest, CrossFieldChecks) {
  Config c;
  c.http_listen = "nope";
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = Config();
  c.smtp_trusted_networks = {"127.0.0.1/32"};
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = Config();
  c.log_level = "loud";
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = Config();
  c.region = "US EAST";
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = Config();
  c.smtp_listen = "127.0.0.1:99999";
  EXPECT_FALSE(ValidateConfig(c).ok());
}

TEST(ConfigTest, FeedbackSection) {
  std::string p = WriteTemp(
      "[feedback]\nlisten = \"127.0.0.1:0\"\ndomains = [\"fbl.example.net\"]\n"
      "max_orphans = 0\ncorrelation_window_seconds = 86400\n");
  Config c;
  ASSERT_TRUE(LoadConfigFile(p, &c).ok());
  EXPECT_EQ(c.feedback_listen, "127.0.0.1:0");
  EXPECT_EQ(c.feedback_domains, std::vector<std::string>{"fbl.example.net"});
  EXPECT_EQ(c.feedback_max_orphans, 0);
  EXPECT_EQ(c.feedback_correlation_window_seconds, 86400);
  EXPECT_TRUE(ValidateConfig(c).ok());
  std::remove(p.c_str());

  p = WriteTemp("[feedback]\ncorrelation_window_seconds = 60\n");
  Status s = LoadConfigFile(p, &c);
  EXPECT_NE(s.message().find("feedback.correlation_window_seconds = 60 is out of range"),
            std::string::npos)
      << s.ToString();
  std::remove(p.c_str());

  Config bad;
  bad.feedback_listen = "nowhere";
  EXPECT_FALSE(ValidateConfig(bad).ok());
  bad = Config();
  bad.feedback_domains = {"not a domain"};
  EXPECT_NE(ValidateConfig(bad).message().find("feedback.domains"), std::string::npos);
}

TEST(ConfigTest, ReputationSection) {
  std::string p = WriteTemp(
      "[reputation]\nmin_sends = 10\npause_grace_hours = 0\nreview_bounce_rate = 0.04\n"
      "fbl_domains = [\"fbl.example.net\"]\nguard_enabled = false\n");
  Config c;
  ASSERT_TRUE(LoadConfigFile(p, &c).ok());
  EXPECT_EQ(c.reputation_min_sends, 10);
  EXPECT_EQ(c.reputation_pause_grace_hours, 0);
  EXPECT_DOUBLE_EQ(c.reputation_review_bounce_rate, 0.04);
  EXPECT_EQ(c.reputation_fbl_domains, std::vector<std::string>{"fbl.example.net"});
  EXPECT_FALSE(c.reputation_guard_enabled);
  EXPECT_TRUE(ValidateConfig(c).ok());
  std::remove(p.c_str());

  Config bad;
  bad.reputation_review_bounce_rate = 0.2;  // above the pause rate
  EXPECT_NE(ValidateConfig(bad).message().find("review <= pause <= severe"), std::string::npos);
  bad = Config();
  bad.reputation_pause_complaint_rate = 0.5;  // above the severe rate
  EXPECT_FALSE(ValidateConfig(bad).ok());
  bad = Config();
  bad.reputation_fbl_domains = {"a b"};
  EXPECT_NE(ValidateConfig(bad).message().find("reputation.fbl_domains"), std::string::npos);
  p = WriteTemp("[reputation]\nreview_bounce_rate = 2\n");
  EXPECT_FALSE(LoadConfigFile(p, &c).ok());
  std::remove(p.c_str());
}

TEST(ConfigTest, ReferenceListsEveryKey) {
  std::string md = ConfigReferenceMarkdown();
  EXPECT_NE(md.find("| `smtp.allow_insecure_auth_on_loopback` | boolean | `false` |"),
            std::string::npos);
  EXPECT_NE(md.find("| `sending.max_recipients` | integer | `50` | 1 to 50 |"), std::string::npos);
}

// docs/configuration.md embeds the generated reference; this keeps the docs true.
TEST(ConfigTest, DocsMatchTheKeyTable) {
  std::ifstream in(std::string(HERALD_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(in.good());
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(doc.find(ConfigReferenceMarkdown()), std::string::npos)
      << "regenerate the table with: herald config reference";
}

TEST(ConfigTest, RouteSpecs) {
  auto r = ParseRouteSpec("Example.COM [::1]:2525 require_tls auth=user:p:w");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->domain, "example.com");
  EXPECT_EQ(r->host, "::1");
  EXPECT_EQ(r->port, 2525);
  EXPECT_TRUE(r->require_tls);
  EXPECT_EQ(r->auth_user, "user");
  EXPECT_EQ(r->auth_password, "p:w");
  auto w = ParseRouteSpec("* smtp.example.net:587");
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(w->require_tls);
  EXPECT_TRUE(w->auth_user.empty());
  for (const char* bad : {"", "example.com", "example.com host", "example.com host:25 tls",
                          "example.com host:25 auth=nocolon", "example.com :25"}) {
    EXPECT_FALSE(ParseRouteSpec(bad).ok()) << bad;
  }
}

TEST(ConfigTest, DurationLists) {
  auto d = ParseDurationList("30s 5m  2h 7");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, (std::vector<int64_t>{30, 300, 7200, 7}));
  for (const char* bad : {"", "   ", "5x", "m", "0s", "-5m", "1.5m", "99999999s"}) {
    EXPECT_FALSE(ParseDurationList(bad).ok()) << bad;
  }
}

TEST(ConfigTest, DeliveryKeysAreValidated) {
  Config c;
  c.delivery_tls = "sometimes";
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = Config();
  c.delivery_retry_schedule = "soon";
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = Config();
  c.delivery_routes = {"example.com 127.0.0.1:25", "broken"};
  EXPECT_FALSE(ValidateConfig(c).ok());
  c.delivery_routes = {"example.com 127.0.0.1:25"};
  EXPECT_TRUE(ValidateConfig(c).ok());
}

TEST(ConfigTest, SuppressionSection) {
  Config defaults;
  EXPECT_TRUE(defaults.suppression_global_enabled);
  EXPECT_EQ(defaults.suppression_global_first_listing_hours, 24);
  EXPECT_EQ(defaults.suppression_global_max_listing_days, 14);

  std::string p = WriteTemp(
      "[suppression]\nglobal_enabled = false\nglobal_first_listing_hours = 6\n"
      "global_max_listing_days = 30\n");
  Config c;
  ASSERT_TRUE(LoadConfigFile(p, &c).ok());
  EXPECT_FALSE(c.suppression_global_enabled);
  EXPECT_EQ(c.suppression_global_first_listing_hours, 6);
  EXPECT_EQ(c.suppression_global_max_listing_days, 30);
  EXPECT_TRUE(ValidateConfig(c).ok());
  std::remove(p.c_str());

  for (const char* text :
       {"[suppression]\nglobal_first_listing_hours = 0\n",
        "[suppression]\nglobal_max_listing_days = 366\n",
        "[suppression]\nglobal_enabled = \"yes\"\n", "[suppression]\nglobal_period = 1\n"}) {
    std::string bad = WriteTemp(text);
    Config b;
    EXPECT_FALSE(LoadConfigFile(bad, &b).ok()) << text;
    std::remove(bad.c_str());
  }
  // The first listing may not outlast the cap.
  c = Config();
  c.suppression_global_first_listing_hours = 49;
  c.suppression_global_max_listing_days = 2;
  Status st = ValidateConfig(c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("suppression.global_first_listing_hours"), std::string::npos);
  c.suppression_global_first_listing_hours = 48;
  EXPECT_TRUE(ValidateConfig(c).ok());
}

}  // namespace
}  // namespace herald::server
