#include "events/event_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace herald::events {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using Json = nlohmann::json;
using Labels = std::map<std::string, std::string>;

// One sample line of the text exposition format, parsed back.
struct Sample {
  std::string name;
  Labels labels;
  std::string value;  // as written
};

// Parses every sample line (comments skipped); fails the test on a line it cannot read.
std::vector<Sample> ParseSamples(const std::string& text) {
  std::vector<Sample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name.push_back(line[i++]);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::string key;
        while (i < line.size() && line[i] != '=') key.push_back(line[i++]);
        EXPECT_EQ(line.substr(i, 2), "=\"") << line;
        i += 2;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value.push_back(line[i] == 'n' ? '\n' : line[i]);
          } else {
            value.push_back(line[i]);
          }
          ++i;
        }
        ++i;  // closing quote
        s.labels[key] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // '}'
    }
    EXPECT_EQ(line.substr(i, 1), " ") << line;
    s.value = line.substr(i + 1);
    out.push_back(std::move(s));
  }
  return out;
}

// name -> (labels -> value) for the family `name`.
std::map<Labels, double> Series(const std::string& text, const std::string& name) {
  std::map<Labels, double> out;
  for (const Sample& s : ParseSamples(text)) {
    if (s.name == name) out[s.labels] = std::stod(s.value);
  }
  return out;
}

std::vector<std::string> SampleLines(const std::string& text, const std::string& name) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + "{", 0) == 0 || line.rfind(name + " ", 0) == 0) out.push_back(line);
  }
  return out;
}

struct EventSpec {
  std::string type = "Send";
  std::string account = "111122223333";
  std::string set = "marketing";
  std::map<std::string, std::vector<std::string>> tags;
  std::vector<std::pair<std::string, std::string>> headers;
  std::map<std::string, std::vector<std::string>> link_tags;  // written when non-empty
};

std::string MakeEvent(const EventSpec& spec) {
  Json tags = Json::object();
  if (!spec.set.empty()) tags["ses:configuration-set"] = {spec.set};
  for (const auto& [k, v] : spec.tags) tags[k] = v;
  Json headers = Json::array();
  for (const auto& [n, v] : spec.headers) headers.push_back({{"name", n}, {"value", v}});
  Json event = {{"eventType", spec.type},
                {"mail",
                 {{"timestamp", "2024-05-01T10:00:00.000Z"},
                  {"messageId", "0100018f-abc"},
                  {"sendingAccountId", spec.account},
                  {"source", "sender@example.com"},
                  {"headersTruncated", false},
                  {"headers", headers},
                  {"tags", tags}}}};
  if (!spec.link_tags.empty()) {
    event["click"] = {{"link", "https://example.com/"}, {"linkTags", spec.link_tags}};
  }
  return event.dump();
}

Labels L(std::string set, std::string dest, std::string type,
         std::map<std::string, std::string> dims = {}, std::string account = "111122223333") {
  Labels l = {{"account_id", std::move(account)},
              {"configuration_set", std::move(set)},
              {"destination", std::move(dest)},
              {"event_type", std::move(type)}};
  for (auto& [k, v] : dims) l[k] = v;
  return l;
}

const std::vector<std::string> kAllTypes = {
    "SEND",           "REJECT",      "BOUNCE", "COMPLAINT",
    "DELIVERY",       "OPEN",        "CLICK",  "RENDERING_FAILURE",
    "DELIVERY_DELAY", "SUBSCRIPTION"};

constexpr char kEvents[] = "herald_ses_events_total";

TEST(EventMetricsTest, TwoDestinationsWithTheirOwnDimensionsAndFilters) {
  EventMetrics m;
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "by-campaign",
                               {{"campaign", DimensionValueSource::kMessageTag, "none"}},
                               {"SEND", "DELIVERY"})
                  .ok());
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "by-team",
                               {{"X-Team", DimensionValueSource::kEmailHeader, "unknown"},
                                {"campaign", DimensionValueSource::kMessageTag, "none"}},
                               {"BOUNCE", "DELIVERY"})
                  .ok());

  EventSpec spring;
  spring.tags = {{"campaign", {"spring"}}};
  spring.headers = {{"X-Team", "ops"}};
  for (const char* type : {"Send", "Send", "Delivery", "Bounce", "Open"}) {
    spring.type = type;
    m.Observe(MakeEvent(spring));
  }
  const std::string text = m.Serialize();
  EXPECT_THAT(
      SampleLines(text, kEvents),
      UnorderedElementsAre(
          "herald_ses_events_total{account_id=\"111122223333\",configuration_set=\"marketing\","
          "destination=\"by-campaign\",dim_campaign=\"spring\",event_type=\"Send\"} 2",
          "herald_ses_events_total{account_id=\"111122223333\",configuration_set=\"marketing\","
          "destination=\"by-campaign\",dim_campaign=\"spring\",event_type=\"Delivery\"} 1",
          "herald_ses_events_total{account_id=\"111122223333\",configuration_set=\"marketing\","
          "destination=\"by-team\",dim_X_Team=\"ops\",dim_campaign=\"spring\","
          "event_type=\"Delivery\"} 1",
          "herald_ses_events_total{account_id=\"111122223333\",configuration_set=\"marketing\","
          "destination=\"by-team\",dim_X_Team=\"ops\",dim_campaign=\"spring\","
          "event_type=\"Bounce\"} 1"))
      << text;
  EXPECT_NE(text.find("# TYPE herald_ses_events_total counter\n"), std::string::npos) << text;
}

TEST(EventMetricsTest, EveryEventTypeGetsItsCloudWatchMetricName) {
  EventMetrics m;
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "all", {}, kAllTypes).ok());
  const std::vector<std::pair<std::string, std::string>> types = {
      {"Send", "Send"},
      {"Reject", "Reject"},
      {"Bounce", "Bounce"},
      {"Complaint", "Complaint"},
      {"Delivery", "Delivery"},
      {"Open", "Open"},
      {"Click", "Click"},
      {"Rendering Failure", "RenderingFailure"},
      {"DeliveryDelay", "DeliveryDelay"},
      {"Subscription", "Subscription"}};
  for (const auto& [json_name, metric_name] : types) {
    EventSpec e;
    e.type = json_name;
    m.Observe(MakeEvent(e));
  }
  std::map<Labels, double> want;
  for (const auto& [json_name, metric_name] : types) {
    want[L("marketing", "all", metric_name)] = 1;
  }
  EventSpec alias;  // the metric name is accepted as an eventType too
  alias.type = "RenderingFailure";
  m.Observe(MakeEvent(alias));
  want[L("marketing", "all", "RenderingFailure")] = 2;
  EXPECT_EQ(Series(m.Serialize(), kEvents), want);
}

TEST(EventMetricsTest, DefaultsWhenTheTagOrHeaderIsMissing) {
  EventMetrics m;
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "d",
                               {{"campaign", DimensionValueSource::kMessageTag, "no-campaign"},
                                {"X-Team", DimensionValueSource::kEmailHeader, "no-team"}},
                               {"SEND"})
                  .ok());
  EventSpec bare;
  m.Observe(MakeEvent(bare));
  EventSpec empty_values;  // empty values count as absent (Prometheus cannot tell them apart)
  empty_values.tags = {{"campaign", {""}}};
  empty_values.headers = {{"X-Team", ""}};
  m.Observe(MakeEvent(empty_values));
  EventSpec other_names;
  other_names.tags = {{"Campaign", {"wrong-case-tag"}}};
  other_names.headers = {{"X-Teams", "not-this"}};
  m.Observe(MakeEvent(other_names));
  EventSpec tag_only;
  tag_only.tags = {{"campaign", {"fall", "second-value"}}};
  m.Observe(MakeEvent(tag_only));
  EventSpec header_only;
  header_only.headers = {{"Subject", "hi"}, {"x-team", "billing"}, {"X-Team", "later"}};
  m.Observe(MakeEvent(header_only));

  EXPECT_EQ(
      Series(m.Serialize(), kEvents),
      (std::map<Labels, double>{
          {L("marketing", "d", "Send",
             {{"dim_campaign", "no-campaign"}, {"dim_X_Team", "no-team"}}),
           3},
          {L("marketing", "d", "Send", {{"dim_campaign", "fall"}, {"dim_X_Team", "no-team"}}), 1},
          {L("marketing", "d", "Send",
             {{"dim_campaign", "no-campaign"}, {"dim_X_Team", "billing"}}),
           1}}));
}

TEST(EventMetricsTest, LinkTagsCountForClicksOnly) {
  EventMetrics m;
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "links",
                               {{"button", DimensionValueSource::kLinkTag, "no-link-tag"}},
                               {"CLICK", "OPEN"})
                  .ok());
  EventSpec click;
  click.type = "Click";
  click.link_tags = {{"button", {"buy-now"}}};
  m.Observe(MakeEvent(click));
  m.Observe(MakeEvent(click));
  EventSpec open = click;  // an Open that (wrongly) carries a click object is not read
  open.type = "Open";
  m.Observe(MakeEvent(open));
  EventSpec tagged_message;  // a message tag of the same name is not a link tag
  tagged_message.type = "Click";
  tagged_message.tags = {{"button", {"message-tag"}}};
  m.Observe(MakeEvent(tagged_message));

  EXPECT_EQ(Series(m.Serialize(), kEvents),
            (std::map<Labels, double>{
                {L("marketing", "links", "Click", {{"dim_button", "buy-now"}}), 2},
                {L("marketing", "links", "Click", {{"dim_button", "no-link-tag"}}), 1},
                {L("marketing", "links", "Open", {{"dim_button", "no-link-tag"}}), 1}}));
}

TEST(EventMetricsTest, InvalidDimensionsAndEventTypesAreRejected) {
  EventMetrics m;
  auto add = [&](std::vector<Dimension> dims, std::vector<std::string> types = {"SEND"}) {
    return m.AddDestination("111122223333", "marketing", "d", std::move(dims), types).code();
  };
  const auto tag = DimensionValueSource::kMessageTag;
  EXPECT_EQ(add({{"", tag, "x"}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(add({{std::string(256, 'a'), tag, "x"}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(add({{"has space", tag, "x"}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(add({{"dotted.name", tag, "x"}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(add({{"caf\xc3\xa9", tag, "x"}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(add({{"new\nline", tag, "x"}}), StatusCode::kInvalidArgument);
  std::vector<Dimension> eleven;
  for (int i = 0; i < 11; ++i) eleven.push_back({"d" + std::to_string(i), tag, "x"});
  EXPECT_EQ(add(eleven), StatusCode::kInvalidArgument);
  EXPECT_EQ(add({}, {"SEND", "OPENED"}), StatusCode::kInvalidArgument);
  EXPECT_EQ(add({}, {"send"}), StatusCode::kInvalidArgument);
  EXPECT_EQ(add({}, {"Send"}), StatusCode::kInvalidArgument);

  // Nothing was registered by the failures: a Send counts nowhere.
  m.Observe(MakeEvent({}));
  EXPECT_THAT(Series(m.Serialize(), kEvents), IsEmpty());

  eleven.pop_back();
  EXPECT_EQ(add(eleven), StatusCode::kOk);
  EXPECT_EQ(add({{std::string(255, 'a'), tag, "x"}}), StatusCode::kOk);
  EXPECT_EQ(add({{"a-b:c_9", tag, "x"}}), StatusCode::kOk);
  EXPECT_EQ(add({}, kAllTypes), StatusCode::kOk);
}

TEST(EventMetricsTest, LabelNamesAreMappedAndCollisionsRejected) {
  EXPECT_EQ(EventMetrics::LabelNameForDimension("campaign"), "dim_campaign");
  EXPECT_EQ(EventMetrics::LabelNameForDimension("ses:from-domain"), "dim_ses_from_domain");
  EXPECT_EQ(EventMetrics::LabelNameForDimension("9lives"), "dim_9lives");
  EXPECT_EQ(EventMetrics::LabelNameForDimension("event_type"), "dim_event_type");

  EventMetrics m;
  const auto tag = DimensionValueSource::kMessageTag;
  const auto header = DimensionValueSource::kEmailHeader;
  auto add = [&](std::vector<Dimension> dims) {
    return m.AddDestination("111122223333", "marketing", "d", std::move(dims), {"SEND"}).code();
  };
  EXPECT_EQ(add({{"a-b", tag, "x"}, {"a:b", tag, "y"}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(add({{"a-b", tag, "x"}, {"a_b", header, "y"}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(add({{"same", tag, "x"}, {"same", header, "y"}}), StatusCode::kInvalidArgument);

  // Names that look like herald's own labels do not clash with them.
  ASSERT_EQ(add({{"event_type", tag, "e"},
                 {"destination", tag, "d"},
                 {"ses:from-domain", tag, "none"},
                 {"9lives", header, "cat"}}),
            StatusCode::kOk);
  EventSpec e;
  e.tags = {{"event_type", {"mine"}}, {"ses:from-domain", {"example.com"}}};
  m.Observe(MakeEvent(e));
  EXPECT_THAT(SampleLines(m.Serialize(), kEvents),
              ElementsAre("herald_ses_events_total{account_id=\"111122223333\","
                          "configuration_set=\"marketing\",destination=\"d\",dim_9lives=\"cat\","
                          "dim_destination=\"d\",dim_event_type=\"mine\","
                          "dim_ses_from_domain=\"example.com\",event_type=\"Send\"} 1"));
}

TEST(EventMetricsTest, BeyondTheBoundEventsCountUnderOther) {
  EventMetrics m(EventMetricsOptions{.max_series_per_destination = 2});
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "d",
                               {{"campaign", DimensionValueSource::kMessageTag, "none"},
                                {"X-Team", DimensionValueSource::kEmailHeader, "nobody"}},
                               kAllTypes)
                  .ok());
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "small",
                               {{"campaign", DimensionValueSource::kMessageTag, "none"}}, {"SEND"})
                  .ok());
  auto send = [&](const std::string& type, const std::string& campaign) {
    EventSpec e;
    e.type = type;
    e.tags = {{"campaign", {campaign}}};
    m.Observe(MakeEvent(e));
  };
  send("Send", "a");
  send("Send", "b");
  send("Send", "c");      // third label set of each destination: overflow
  send("Send", "a");      // known label sets keep counting
  send("Delivery", "a");  // new label set (other event type): overflow too
  send("Send", "d");      // overflow again, same __other__ series
  const std::string text = m.Serialize();
  const auto other = [](const std::string& dest, const std::string& type, bool two_dims) {
    std::map<std::string, std::string> dims = {{"dim_campaign", "__other__"}};
    if (two_dims) dims["dim_X_Team"] = "__other__";
    return L("marketing", dest, type, dims);
  };
  EXPECT_EQ(Series(text, kEvents),
            (std::map<Labels, double>{
                {L("marketing", "d", "Send", {{"dim_campaign", "a"}, {"dim_X_Team", "nobody"}}), 2},
                {L("marketing", "d", "Send", {{"dim_campaign", "b"}, {"dim_X_Team", "nobody"}}), 1},
                {other("d", "Send", true), 2},
                {other("d", "Delivery", true), 1},
                {L("marketing", "small", "Send", {{"dim_campaign", "a"}}), 2},
                {L("marketing", "small", "Send", {{"dim_campaign", "b"}}), 1},
                {other("small", "Send", false), 2}}))
      << text;
  EXPECT_EQ(Series(text, "herald_ses_events_overflow_total"),
            (std::map<Labels, double>{{{{"account_id", "111122223333"},
                                        {"configuration_set", "marketing"},
                                        {"destination", "d"}},
                                       3},
                                      {{{"account_id", "111122223333"},
                                        {"configuration_set", "marketing"},
                                        {"destination", "small"}},
                                       2}}));
}

TEST(EventMetricsTest, RemovingADestinationStopsItsCountingAndDropsItsSeries) {
  EventMetrics m(EventMetricsOptions{.max_series_per_destination = 1});
  const std::vector<Dimension> dims = {{"campaign", DimensionValueSource::kMessageTag, "none"}};
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "gone", dims, {"SEND"}).ok());
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "kept", {}, {"SEND"}).ok());
  EventSpec a;
  a.tags = {{"campaign", {"a"}}};
  EventSpec b;
  b.tags = {{"campaign", {"b"}}};
  m.Observe(MakeEvent(a));
  m.Observe(MakeEvent(b));  // overflow of "gone"
  std::string text = m.Serialize();
  EXPECT_EQ(Series(text, kEvents).size(), 3u) << text;
  EXPECT_EQ(Series(text, "herald_ses_events_overflow_total").size(), 1u) << text;

  ASSERT_TRUE(m.RemoveDestination("111122223333", "marketing", "gone").ok());
  EXPECT_EQ(m.RemoveDestination("111122223333", "marketing", "gone").code(), StatusCode::kNotFound);
  EXPECT_EQ(m.RemoveDestination("111122223333", "other-set", "kept").code(), StatusCode::kNotFound);
  m.Observe(MakeEvent(a));
  text = m.Serialize();
  EXPECT_EQ(text.find("destination=\"gone\""), std::string::npos) << text;
  EXPECT_EQ(Series(text, kEvents), (std::map<Labels, double>{{L("marketing", "kept", "Send"), 3}}));
  EXPECT_THAT(Series(text, "herald_ses_events_overflow_total"), IsEmpty());

  // Added again, it starts from zero with a fresh bound.
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "gone", dims, {"SEND"}).ok());
  m.Observe(MakeEvent(b));
  EXPECT_EQ(
      Series(m.Serialize(), kEvents),
      (std::map<Labels, double>{{L("marketing", "kept", "Send"), 4},
                                {L("marketing", "gone", "Send", {{"dim_campaign", "b"}}), 1}}));
}

TEST(EventMetricsTest, ReAddingReplacesTheDestination) {
  EventMetrics m;
  const std::vector<Dimension> dims = {{"campaign", DimensionValueSource::kMessageTag, "none"}};
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "d", dims, {"SEND"}).ok());
  m.Observe(MakeEvent({}));
  EventSpec bounce;
  bounce.type = "Bounce";
  m.Observe(MakeEvent(bounce));

  // Same dimensions, other event types: the counts stay, the filter changes.
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "d", dims, {"BOUNCE"}).ok());
  m.Observe(MakeEvent({}));
  m.Observe(MakeEvent(bounce));
  EXPECT_EQ(
      Series(m.Serialize(), kEvents),
      (std::map<Labels, double>{{L("marketing", "d", "Send", {{"dim_campaign", "none"}}), 1},
                                {L("marketing", "d", "Bounce", {{"dim_campaign", "none"}}), 1}}));

  // Other dimensions: the old series go.
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "d",
                               {{"campaign", DimensionValueSource::kMessageTag, "unset"}},
                               {"BOUNCE"})
                  .ok());
  m.Observe(MakeEvent(bounce));
  EXPECT_EQ(
      Series(m.Serialize(), kEvents),
      (std::map<Labels, double>{{L("marketing", "d", "Bounce", {{"dim_campaign", "unset"}}), 1}}));
}

TEST(EventMetricsTest, EmptyEventTypeListCountsNothing) {
  EventMetrics m;
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "d", {}, {}).ok());
  m.Observe(MakeEvent({}));
  EXPECT_THAT(Series(m.Serialize(), kEvents), IsEmpty());
}

TEST(EventMetricsTest, AccountsAndSetsAreKeptApart) {
  EventMetrics m;
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "d", {}, {"SEND"}).ok());
  ASSERT_TRUE(m.AddDestination("444455556666", "marketing", "d", {}, {"SEND"}).ok());
  EventSpec mine;
  m.Observe(MakeEvent(mine));
  EventSpec theirs;
  theirs.account = "444455556666";
  m.Observe(MakeEvent(theirs));
  m.Observe(MakeEvent(theirs));
  EventSpec other_set;
  other_set.set = "transactional";
  m.Observe(MakeEvent(other_set));
  EventSpec other_account;
  other_account.account = "999999999999";
  m.Observe(MakeEvent(other_account));
  EXPECT_EQ(Series(m.Serialize(), kEvents),
            (std::map<Labels, double>{{L("marketing", "d", "Send"), 1},
                                      {L("marketing", "d", "Send", {}, "444455556666"), 2}}));
}

TEST(EventMetricsTest, UnattributableEventsAreCountedAsIgnored) {
  EventMetrics m;
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "d", {}, kAllTypes).ok());
  std::map<Labels, double> want = {{{{"reason", "malformed"}}, 0},
                                   {{{"reason", "unknown_event_type"}}, 0},
                                   {{{"reason", "no_account"}}, 0},
                                   {{{"reason", "no_configuration_set"}}, 0}};
  EXPECT_EQ(Series(m.Serialize(), "herald_ses_events_ignored_total"), want);

  m.Observe("");
  m.Observe("{\"eventType\":\"Send\",");
  m.Observe("[1,2]");
  m.Observe("\"Send\"");
  EventSpec unknown;
  unknown.type = "Opened";
  m.Observe(MakeEvent(unknown));
  m.Observe(R"({"mail":{"sendingAccountId":"111122223333"}})");
  EventSpec no_account;
  no_account.account = "";
  m.Observe(MakeEvent(no_account));
  EventSpec no_set;
  no_set.set = "";
  m.Observe(MakeEvent(no_set));
  m.Observe(R"({"eventType":"Send","mail":{"sendingAccountId":"111122223333",)"
            R"("tags":{"ses:configuration-set":[7]}}})");
  m.Observe(R"({"eventType":"Send","mail":{"sendingAccountId":"111122223333","tags":[]}})");

  want[{{"reason", "malformed"}}] = 4;
  want[{{"reason", "unknown_event_type"}}] = 2;
  want[{{"reason", "no_account"}}] = 1;
  want[{{"reason", "no_configuration_set"}}] = 3;
  const std::string text = m.Serialize();
  EXPECT_EQ(Series(text, "herald_ses_events_ignored_total"), want);
  EXPECT_THAT(Series(text, kEvents), IsEmpty());
}

TEST(EventMetricsTest, LabelValuesAreCutAtACharacterBoundaryAndEscaped) {
  EventMetrics m;
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "d",
                               {{"v", DimensionValueSource::kMessageTag, "none"}}, {"SEND"})
                  .ok());
  auto send = [&](const std::string& value) {
    EventSpec e;
    e.tags = {{"v", {value}}};
    m.Observe(MakeEvent(e));
  };
  std::string e_acute;  // 200 x U+00E9, 400 bytes
  for (int i = 0; i < 200; ++i) e_acute += "\xc3\xa9";
  send(e_acute);
  send(std::string(255, 'a') + "\xc3\xa9");  // the 2-byte character would straddle byte 256
  send(std::string(300, 'b'));
  send(std::string(256, 'b') + "tail");  // same first 256 bytes: same series
  send("quote\" back\\slash\nnewline \xe2\x9c\x89");

  std::string cut_e_acute;
  for (int i = 0; i < 128; ++i) cut_e_acute += "\xc3\xa9";
  EXPECT_EQ(
      Series(m.Serialize(), kEvents),
      (std::map<Labels, double>{
          {L("marketing", "d", "Send", {{"dim_v", cut_e_acute}}), 1},
          {L("marketing", "d", "Send", {{"dim_v", std::string(255, 'a')}}), 1},
          {L("marketing", "d", "Send", {{"dim_v", std::string(256, 'b')}}), 2},
          {L("marketing", "d", "Send", {{"dim_v", "quote\" back\\slash\nnewline \xe2\x9c\x89"}}),
           1}}));
  EXPECT_NE(m.Serialize().find("dim_v=\"quote\\\" back\\\\slash\\nnewline \xe2\x9c\x89\""),
            std::string::npos);
}

TEST(EventMetricsTest, ConcurrentObserversAndChangesLoseNoCount) {
  EventMetrics m(EventMetricsOptions{.max_series_per_destination = 50});
  ASSERT_TRUE(m.AddDestination("111122223333", "marketing", "d",
                               {{"campaign", DimensionValueSource::kMessageTag, "none"}}, {"SEND"})
                  .ok());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < kPerThread; ++i) {
        EventSpec e;
        e.tags = {{"campaign", {"c" + std::to_string((t * kPerThread + i) % 100)}}};
        m.Observe(MakeEvent(e));
      }
    });
  }
  threads.emplace_back([&m] {
    for (int i = 0; i < 200; ++i) {
      (void)m.Serialize();
      m.AddDestination("111122223333", "marketing", "churn", {}, {"SEND"}).IgnoreError();
      m.RemoveDestination("111122223333", "marketing", "churn").IgnoreError();
    }
  });
  for (std::thread& t : threads) t.join();

  double total = 0;
  size_t series = 0;
  for (const auto& [labels, value] : Series(m.Serialize(), kEvents)) {
    if (labels.at("destination") != "d") continue;
    total += value;
    ++series;
  }
  EXPECT_EQ(total, kThreads * kPerThread);
  EXPECT_EQ(series, 51u);  // 50 campaigns of their own plus __other__
}

}  // namespace
}  // namespace herald::events
