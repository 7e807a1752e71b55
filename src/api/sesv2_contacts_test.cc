// SESv2 contact lists and contacts through SesV2Api::Handle with signed requests.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "api/api_test_util.h"
#include "api/sesv2_api.h"
#include "api/sesv2_internal.h"

namespace herald::api {
namespace {

using nlohmann::json;
using testing::ApiHarness;
using testing::Body;
using testing::Header;

constexpr char kLists[] = "/v2/email/contact-lists";
constexpr char kBr[] = "BadRequestException";
constexpr char kNf[] = "NotFoundException";

void ExpectError(const HttpResponse& r, int status, const std::string& code,
                 const std::string& message) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(Header(r, "x-amzn-ErrorType"), code) << r.body;
  json body = Body(r);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body.value("message", ""), message) << r.body;
  EXPECT_EQ(Header(r, "Content-Type"), "application/json");
  EXPECT_FALSE(Header(r, "x-amzn-RequestId").empty());
}

json Ok(const HttpResponse& r) {
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Header(r, "Content-Type"), "application/json");
  EXPECT_FALSE(Header(r, "x-amzn-RequestId").empty());
  return Body(r);
}

// `j` with the members of `extra` added.
json With(json j, const json& extra) {
  j.update(extra);
  return j;
}

double NowSeconds(ApiHarness& h) { return static_cast<double>(UnixMillis(h.clock.Now())) / 1000; }

const char kListBody[] =
    R"({"ContactListName":"customers","Description":"Our customers",)"
    R"("Topics":[{"TopicName":"news","DisplayName":"Weekly news","Description":"What happened",)"
    R"("DefaultSubscriptionStatus":"OPT_IN"},{"TopicName":"offers","DisplayName":"Offers",)"
    R"("DefaultSubscriptionStatus":"OPT_OUT"}],"Tags":[{"Key":"team","Value":"growth"}]})";

// A harness with the list above.
struct ContactsHarness : ApiHarness {
  ContactsHarness() { Ok(Call("POST", kLists, kListBody)); }
  HttpResponse AddContact(const std::string& email, const std::string& extra = "") {
    return Call("POST", std::string(kLists) + "/customers/contacts",
                R"({"EmailAddress":")" + email + "\"" + extra + "}");
  }
  HttpResponse List(const std::string& body) {
    return Call("POST", std::string(kLists) + "/customers/contacts/list", body);
  }
};

// Every contact address of every page of ListContacts with `filter` (a JSON member list,
// may be empty), `page` at a time; also checks that only the last page lacks NextToken.
std::vector<std::string> AllPages(ContactsHarness& h, const std::string& filter, int page,
                                  int* pages = nullptr) {
  std::vector<std::string> out;
  std::string token;
  int n = 0;
  do {
    std::string body = "{\"PageSize\":" + std::to_string(page);
    if (!filter.empty()) body += "," + filter;
    if (!token.empty()) body += R"(,"NextToken":")" + token + "\"";
    body += "}";
    json r = Ok(h.List(body));
    EXPECT_LE(r["Contacts"].size(), static_cast<size_t>(page));
    for (const json& c : r["Contacts"]) out.push_back(c["EmailAddress"]);
    token = r.value("NextToken", "");
    EXPECT_TRUE(token.empty() || r["Contacts"].size() == static_cast<size_t>(page));
    if (++n > 20) break;
  } while (!token.empty());
  if (pages != nullptr) *pages = n;
  return out;
}

// ---------------------------------------------------------------- contact lists

TEST(ContactListApiTest, CreateGetUpdateDelete) {
  ContactsHarness h;
  const double created = NowSeconds(h);
  json got = Ok(h.Call("GET", std::string(kLists) + "/customers"));
  EXPECT_EQ(got["ContactListName"], "customers");
  EXPECT_EQ(got["Description"], "Our customers");
  EXPECT_EQ(got["Topics"], json::parse(R"([
      {"TopicName":"news","DisplayName":"Weekly news","Description":"What happened",
       "DefaultSubscriptionStatus":"OPT_IN"},
      {"TopicName":"offers","DisplayName":"Offers","DefaultSubscriptionStatus":"OPT_OUT"}])"));
  EXPECT_EQ(got["Tags"], json::parse(R"([{"Key":"team","Value":"growth"}])"));
  EXPECT_EQ(got["CreatedTimestamp"], created);
  EXPECT_EQ(got["LastUpdatedTimestamp"], created);

  // Update replaces topics and description; tags and creation time stay.
  h.clock.Advance(std::chrono::seconds(30));
  Ok(h.Call("PUT", std::string(kLists) + "/customers",
            R"({"Topics":[{"TopicName":"events","DisplayName":"Events",)"
            R"("DefaultSubscriptionStatus":"OPT_OUT"}]})"));
  got = Ok(h.Call("GET", std::string(kLists) + "/customers"));
  EXPECT_FALSE(got.contains("Description"));
  EXPECT_EQ(got["Topics"], json::parse(R"([{"TopicName":"events","DisplayName":"Events",
                                            "DefaultSubscriptionStatus":"OPT_OUT"}])"));
  EXPECT_EQ(got["Tags"].size(), 1u);
  EXPECT_EQ(got["CreatedTimestamp"], created);
  EXPECT_EQ(got["LastUpdatedTimestamp"], created + 30);
  // An empty update: no topics, no description.
  Ok(h.Call("PUT", std::string(kLists) + "/customers", ""));
  got = Ok(h.Call("GET", std::string(kLists) + "/customers"));
  EXPECT_EQ(got["Topics"], json::array());

  Ok(h.Call("DELETE", std::string(kLists) + "/customers"));
  ExpectError(h.Call("GET", std::string(kLists) + "/customers"), 404, kNf,
              "List with name customers does not exist.");
  ExpectError(h.Call("DELETE", std::string(kLists) + "/customers"), 404, kNf,
              "List with name customers does not exist.");
  ExpectError(h.Call("PUT", std::string(kLists) + "/customers", "{}"), 404, kNf,
              "List with name customers does not exist.");
}

TEST(ContactListApiTest, MinimalListHasEmptyTopicsAndTags) {
  ApiHarness h;
  Ok(h.Call("POST", kLists, R"({"ContactListName":"bare"})"));
  json got = Ok(h.Call("GET", std::string(kLists) + "/bare"));
  EXPECT_EQ(got["Topics"], json::array());
  EXPECT_EQ(got["Tags"], json::array());
  EXPECT_FALSE(got.contains("Description"));
  EXPECT_EQ(h.store.GetContactList(h.account_id, "bare")->tags_json, "");
}

TEST(ContactListApiTest, CreateErrors) {
  ContactsHarness h;
  ExpectError(h.Call("POST", kLists, kListBody), 400, "AlreadyExistsException",
              "Contact list customers already exists.");
  ExpectError(h.Call("POST", kLists, R"({"ContactListName":"second"})"), 400,
              "LimitExceededException",
              "An account can have at most 1 contact list; delete the existing one first.");
  // The limit is per account, and a deleted list frees it.
  Ok(h.Call("DELETE", std::string(kLists) + "/customers"));

  const std::string name_rule =
      "Invalid value for ContactListName: 1 to 64 ASCII letters, digits, '_' or '-' are "
      "required.";
  const std::string topic0 = R"({"ContactListName":"l","Topics":[)";
  struct Case {
    std::string body;
    std::string message;
  } cases[] = {
      {"{}", "Missing required parameter: ContactListName."},
      {R"({"ContactListName":7})",
       "Invalid type for parameter ContactListName: expected a string."},
      {R"({"ContactListName":""})", name_rule},
      {R"({"ContactListName":"has space"})", name_rule},
      {R"({"ContactListName":")" + std::string(65, 'n') + "\"}", name_rule},
      {R"({"ContactListName":"l","Topics":{}})",
       "Invalid type for parameter Topics: expected a list."},
      {topic0 + "5]}", "Invalid type for parameter Topics[0]: expected a structure."},
      {topic0 + R"({"DisplayName":"D","DefaultSubscriptionStatus":"OPT_IN"}]})",
       "Missing required parameter: Topics[0].TopicName."},
      {topic0 + R"({"TopicName":"t","DefaultSubscriptionStatus":"OPT_IN"}]})",
       "Missing required parameter: Topics[0].DisplayName."},
      {topic0 + R"({"TopicName":"t","DisplayName":"D"}]})",
       "Missing required parameter: Topics[0].DefaultSubscriptionStatus."},
      {topic0 + R"({"TopicName":"t","DisplayName":"D","DefaultSubscriptionStatus":"opt_in"}]})",
       "Invalid value for Topics[0].DefaultSubscriptionStatus: must be OPT_IN or OPT_OUT."},
      {topic0 + R"({"TopicName":"a b","DisplayName":"D","DefaultSubscriptionStatus":"OPT_IN"}]})",
       "Invalid value for Topics[0].TopicName: 1 to 64 ASCII letters, digits, '_' or '-' are "
       "required."},
      {topic0 + R"({"TopicName":"t","DisplayName":"D","DefaultSubscriptionStatus":"OPT_IN"},)"
                R"({"TopicName":"t","DisplayName":"E","DefaultSubscriptionStatus":"OPT_IN"}]})",
       "Invalid value for Topics[1].TopicName: topic t appears more than once."},
      {topic0 + R"({"TopicName":"t","DisplayName":"","DefaultSubscriptionStatus":"OPT_IN"}]})",
       "Invalid value for Topics[0].DisplayName: 1 to 128 characters (no NUL) are required."},
      {topic0 + R"({"TopicName":"t","DisplayName":")" + std::string(129, 'd') +
           R"(","DefaultSubscriptionStatus":"OPT_IN"}]})",
       "Invalid value for Topics[0].DisplayName: 1 to 128 characters (no NUL) are required."},
      {topic0 + R"({"TopicName":"t","DisplayName":"D","Description":")" + std::string(501, 'x') +
           R"(","DefaultSubscriptionStatus":"OPT_IN"}]})",
       "Invalid value for Topics[0].Description: at most 500 characters (no NUL) are required."},
      {R"({"ContactListName":"l","Description":")" + std::string(501, 'x') + "\"}",
       "Invalid value for Description: at most 500 characters (no NUL) are required."},
      {R"({"ContactListName":"l","Tags":[{"Key":""}]})",
       "Invalid parameter Tags[0]: Key and Value strings are required."},
  };
  for (const Case& c : cases) {
    ExpectError(h.Call("POST", kLists, c.body), 400, kBr, c.message);
  }
  std::string many = topic0;
  for (int i = 0; i < 21; ++i) {
    many += std::string(i == 0 ? "" : ",") + R"({"TopicName":"t)" + std::to_string(i) +
            R"(","DisplayName":"D","DefaultSubscriptionStatus":"OPT_IN"})";
  }
  ExpectError(h.Call("POST", kLists, many + "]}"), 400, kBr,
              "Invalid value for Topics: a contact list has at most 20 topics.");
  EXPECT_TRUE(h.store.ListContactLists(h.account_id)->empty());

  // 20 topics and 128-character display names (counted in characters) are fine.
  std::string twenty = topic0;
  std::string euros;
  for (int i = 0; i < 128; ++i) euros += "\xe2\x82\xac";
  for (int i = 0; i < 20; ++i) {
    twenty += std::string(i == 0 ? "" : ",") + R"({"TopicName":"t)" + std::to_string(i) +
              R"(","DisplayName":")" + euros + R"(","DefaultSubscriptionStatus":"OPT_IN"})";
  }
  Ok(h.Call("POST", kLists, twenty + "]}"));
  EXPECT_EQ(h.store.GetContactList(h.account_id, "l")->topics.size(), 20u);
}

TEST(ContactListApiTest, NamesOutsideTheRuleAreNotFound) {
  ContactsHarness h;
  const std::string bad = std::string(kLists) + "/no%20such";
  ExpectError(h.Call("GET", bad), 404, kNf, "List with name no such does not exist.");
  ExpectError(h.Call("DELETE", bad), 404, kNf, "List with name no such does not exist.");
  ExpectError(h.Call("PUT", bad, "{}"), 404, kNf, "List with name no such does not exist.");
  ExpectError(h.Call("GET", std::string(kLists) + "/Customers"), 404, kNf,
              "List with name Customers does not exist.");
  // An invalid body is BadRequestException even for a list that does not exist.
  ExpectError(h.Call("PUT", std::string(kLists) + "/missing", R"({"Topics":"x"})"), 400, kBr,
              "Invalid type for parameter Topics: expected a list.");
  // Another account sees none of it.
  store::Account other = h.store.CreateAccount("other", h.clock.Now()).value();
  sending::CredentialLookup::Key key;
  key.secret = testing::kSecret;
  key.active = true;
  key.principal.account_id = other.id;
  key.principal.account_name = "other";
  h.credentials.keys["AKIAOTHERACCOUNT0001"] = key;
  HttpRequest r = h.Unsigned("GET", std::string(kLists) + "/customers");
  h.Sign(r, testing::Sdk::kBoto3, "AKIAOTHERACCOUNT0001");
  ExpectError(h.api().Handle(r), 404, kNf, "List with name customers does not exist.");
  r = h.Unsigned("GET", kLists);
  h.Sign(r, testing::Sdk::kBoto3, "AKIAOTHERACCOUNT0001");
  EXPECT_EQ(Ok(h.api().Handle(r))["ContactLists"], json::array());
  Ok(h.Call("GET", std::string(kLists) + "/customers"));
}

TEST(ContactListApiTest, ListContactListsPages) {
  ApiHarness h;
  json r = Ok(h.Call("GET", kLists));
  EXPECT_EQ(r, json({{"ContactLists", json::array()}}));
  Ok(h.Call("POST", kLists, R"({"ContactListName":"customers"})"));
  r = Ok(h.Call("GET", std::string(kLists) + "?PageSize=1"));
  ASSERT_EQ(r["ContactLists"].size(), 1u);
  EXPECT_EQ(r["ContactLists"][0]["ContactListName"], "customers");
  EXPECT_EQ(r["ContactLists"][0]["LastUpdatedTimestamp"], NowSeconds(h));
  EXPECT_FALSE(r.contains("NextToken"));
  // A token after the last name: an empty page.
  r = Ok(h.Call("GET", std::string(kLists) + "?NextToken=" + EncodeNextToken("customers")));
  EXPECT_EQ(r["ContactLists"], json::array());
  r = Ok(h.Call("GET", std::string(kLists) + "?NextToken=" + EncodeNextToken("a")));
  EXPECT_EQ(r["ContactLists"].size(), 1u);
  ExpectError(h.Call("GET", std::string(kLists) + "?PageSize=1001"), 400, kBr,
              "Invalid value for PageSize: must be an integer from 0 to 1000.");
  ExpectError(h.Call("GET", std::string(kLists) + "?NextToken=%25%25"), 400, kBr,
              "Invalid NextToken.");
}

// ---------------------------------------------------------------- contacts

TEST(ContactApiTest, CreateGetUpdateDelete) {
  ContactsHarness h;
  const double created = NowSeconds(h);
  Ok(h.AddContact("Ana@Example.com",
                  R"(,"TopicPreferences":[{"TopicName":"offers","SubscriptionStatus":"OPT_IN"}],)"
                  R"("AttributesData":"{\"plan\":\"pro\"}")"));
  // Found by any case, through a percent-encoded path.
  json got = Ok(h.Call("GET", std::string(kLists) + "/customers/contacts/ana%40example.COM"));
  EXPECT_EQ(got, With(json::parse(R"({
      "ContactListName":"customers","EmailAddress":"Ana@Example.com",
      "TopicPreferences":[{"TopicName":"offers","SubscriptionStatus":"OPT_IN"}],
      "TopicDefaultPreferences":[{"TopicName":"news","SubscriptionStatus":"OPT_IN"},
                                 {"TopicName":"offers","SubscriptionStatus":"OPT_OUT"}],
      "UnsubscribeAll":false,"AttributesData":"{\"plan\":\"pro\"}"})"),
                      {{"CreatedTimestamp", created}, {"LastUpdatedTimestamp", created}}));

  // Update replaces preferences and UnsubscribeAll; AttributesData stays when absent.
  h.clock.Advance(std::chrono::seconds(7));
  Ok(h.Call("PUT", std::string(kLists) + "/customers/contacts/ANA@example.com",
            R"({"TopicPreferences":[{"TopicName":"news","SubscriptionStatus":"OPT_OUT"}],)"
            R"("UnsubscribeAll":true})"));
  got = Ok(h.Call("GET", std::string(kLists) + "/customers/contacts/ana@example.com"));
  EXPECT_EQ(got["EmailAddress"], "Ana@Example.com");
  EXPECT_EQ(got["TopicPreferences"],
            json::parse(R"([{"TopicName":"news","SubscriptionStatus":"OPT_OUT"}])"));
  EXPECT_EQ(got["UnsubscribeAll"], true);
  EXPECT_EQ(got["AttributesData"], "{\"plan\":\"pro\"}");
  EXPECT_EQ(got["CreatedTimestamp"], created);
  EXPECT_EQ(got["LastUpdatedTimestamp"], created + 7);
  Ok(h.Call("PUT", std::string(kLists) + "/customers/contacts/ana@example.com",
            R"({"AttributesData":""})"));
  got = Ok(h.Call("GET", std::string(kLists) + "/customers/contacts/ana@example.com"));
  EXPECT_EQ(got["TopicPreferences"], json::array());
  EXPECT_EQ(got["UnsubscribeAll"], false);
  EXPECT_FALSE(got.contains("AttributesData"));

  Ok(h.Call("DELETE", std::string(kLists) + "/customers/contacts/aNa%40EXAMPLE.com"));
  ExpectError(h.Call("GET", std::string(kLists) + "/customers/contacts/ana@example.com"), 404, kNf,
              "Contact ana@example.com does not exist in contact list customers.");
  ExpectError(h.Call("DELETE", std::string(kLists) + "/customers/contacts/ana@example.com"), 404,
              kNf, "Contact ana@example.com does not exist in contact list customers.");
  ExpectError(h.Call("PUT", std::string(kLists) + "/customers/contacts/ana@example.com", "{}"), 404,
              kNf, "Contact ana@example.com does not exist in contact list customers.");
}

TEST(ContactApiTest, AddressesTakeTheSendPathForm) {
  ContactsHarness h;
  // A plus sign and an upper-case IDN domain: the domain is kept in lower-case Punycode.
  Ok(h.AddContact("a+tag@B\\u00dcCHER.example"));
  json got = Ok(
      h.Call("GET", std::string(kLists) + "/customers/contacts/a%2Btag%40xn--bcher-kva.example"));
  EXPECT_EQ(got["EmailAddress"], "a+tag@xn--bcher-kva.example");
  // A topic the list dropped is not shown, though the store keeps it.
  Ok(h.AddContact("b@example.com",
                  R"(,"TopicPreferences":[{"TopicName":"news","SubscriptionStatus":"OPT_OUT"}])"));
  Ok(h.Call("PUT", std::string(kLists) + "/customers",
            R"({"Topics":[{"TopicName":"offers","DisplayName":"O",)"
            R"("DefaultSubscriptionStatus":"OPT_IN"}]})"));
  got = Ok(h.Call("GET", std::string(kLists) + "/customers/contacts/b@example.com"));
  EXPECT_EQ(got["TopicPreferences"], json::array());
  EXPECT_EQ(got["TopicDefaultPreferences"],
            json::parse(R"([{"TopicName":"offers","SubscriptionStatus":"OPT_IN"}])"));
  EXPECT_EQ(
      h.store.GetContact(h.account_id, "customers", "b@example.com")->topic_preferences.size(), 1u);
}

TEST(ContactApiTest, Errors) {
  ContactsHarness h;
  Ok(h.AddContact("ana@example.com"));
  const std::string contacts = std::string(kLists) + "/customers/contacts";
  ExpectError(h.AddContact("ANA@example.com"), 400, "AlreadyExistsException",
              "Contact ANA@example.com already exists in contact list customers.");
  ExpectError(h.Call("POST", std::string(kLists) + "/missing/contacts",
                     R"({"EmailAddress":"b@example.com"})"),
              404, kNf, "List with name missing does not exist.");
  ExpectError(h.Call("POST", std::string(kLists) + "/bad%20name/contacts",
                     R"({"EmailAddress":"b@example.com"})"),
              404, kNf, "List with name bad name does not exist.");
  struct Case {
    std::string body;
    std::string message;
  } cases[] = {
      {"{}", "Missing required parameter: EmailAddress."},
      {R"({"EmailAddress":["b@example.com"]})",
       "Invalid type for parameter EmailAddress: expected a string."},
      {R"({"EmailAddress":""})", "Invalid value for EmailAddress: the address is empty."},
      {R"({"EmailAddress":"Bea <b@example.com>"})",
       "Invalid value for EmailAddress: Bea <b@example.com> is not an email address (a display "
       "name is not allowed)."},
      {R"({"EmailAddress":"b@example.com","UnsubscribeAll":"yes"})",
       "Invalid type for parameter UnsubscribeAll: expected a boolean."},
      {R"({"EmailAddress":"b@example.com","AttributesData":"[1]"})",
       "Invalid value for AttributesData: must be a JSON object."},
      {R"({"EmailAddress":"b@example.com","AttributesData":")" + std::string(1001, 'x') + "\"}",
       "Invalid value for AttributesData: at most 1000 bytes are allowed."},
      {R"({"EmailAddress":"b@example.com","TopicPreferences":{}})",
       "Invalid type for parameter TopicPreferences: expected a list."},
      {R"({"EmailAddress":"b@example.com","TopicPreferences":[{"TopicName":"news"}]})",
       "Missing required parameter: TopicPreferences[0].SubscriptionStatus."},
      {R"({"EmailAddress":"b@example.com","TopicPreferences":[{"SubscriptionStatus":"OPT_IN"}]})",
       "Missing required parameter: TopicPreferences[0].TopicName."},
      {R"({"EmailAddress":"b@example.com","TopicPreferences":[)"
       R"({"TopicName":"news","SubscriptionStatus":"IN"}]})",
       "Invalid value for TopicPreferences[0].SubscriptionStatus: must be OPT_IN or OPT_OUT."},
      {R"({"EmailAddress":"b@example.com","TopicPreferences":[)"
       R"({"TopicName":"sports","SubscriptionStatus":"OPT_IN"}]})",
       "Invalid value for TopicPreferences[0].TopicName: contact list customers has no topic "
       "sports."},
      {R"({"EmailAddress":"b@example.com","TopicPreferences":[)"
       R"({"TopicName":"news","SubscriptionStatus":"OPT_IN"},)"
       R"({"TopicName":"news","SubscriptionStatus":"OPT_OUT"}]})",
       "Invalid value for TopicPreferences[1].TopicName: topic news appears more than once."},
  };
  for (const Case& c : cases) {
    ExpectError(h.Call("POST", contacts, c.body), 400, kBr, c.message);
  }
  HttpResponse bad = h.Call("POST", contacts, R"({"EmailAddress":"not-an-address"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Header(bad, "x-amzn-ErrorType"), kBr);
  EXPECT_EQ(h.store.ListContacts(h.account_id, "customers", "", 10)->size(), 1u);

  // Path addresses are checked too; a missing list wins over a missing contact.
  ExpectError(h.Call("GET", contacts + "/Bea%20%3Cb%40example.com%3E"), 400, kBr,
              "Invalid value for EmailAddress: Bea <b@example.com> is not an email address (a "
              "display name is not allowed).");
  ExpectError(h.Call("GET", std::string(kLists) + "/missing/contacts/ana@example.com"), 404, kNf,
              "List with name missing does not exist.");
  ExpectError(h.Call("DELETE", std::string(kLists) + "/missing/contacts/ana@example.com"), 404, kNf,
              "List with name missing does not exist.");
  ExpectError(h.Call("DELETE", std::string(kLists) + "/bad%20name/contacts/ana@example.com"), 404,
              kNf, "List with name bad name does not exist.");
  ExpectError(h.Call("PUT", std::string(kLists) + "/missing/contacts/ana@example.com", "{}"), 404,
              kNf, "List with name missing does not exist.");
  ExpectError(h.Call("PUT", contacts + "/ana@example.com",
                     R"({"TopicPreferences":[{"TopicName":"x","SubscriptionStatus":"OPT_IN"}]})"),
              400, kBr,
              "Invalid value for TopicPreferences[0].TopicName: contact list customers has no "
              "topic x.");
}

TEST(ContactApiTest, DeletingTheListDeletesItsContacts) {
  ContactsHarness h;
  Ok(h.AddContact("ana@example.com"));
  Ok(h.Call("DELETE", std::string(kLists) + "/customers"));
  Ok(h.Call("POST", kLists, kListBody));
  ExpectError(h.Call("GET", std::string(kLists) + "/customers/contacts/ana@example.com"), 404, kNf,
              "Contact ana@example.com does not exist in contact list customers.");
  EXPECT_EQ(Ok(h.List("{}"))["Contacts"], json::array());
}

// ---------------------------------------------------------------- ListContacts

TEST(ListContactsApiTest, PagesInAddressOrder) {
  ContactsHarness h;
  for (const char* e :
       {"e@example.com", "C@example.com", "a@example.com", "D@example.com", "b@example.com"}) {
    Ok(h.AddContact(e));
  }
  int pages = 0;
  EXPECT_EQ(AllPages(h, "", 2, &pages),
            (std::vector<std::string>{"a@example.com", "b@example.com", "C@example.com",
                                      "D@example.com", "e@example.com"}));
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(AllPages(h, "", 5, &pages).size(), 5u);
  EXPECT_EQ(pages, 1);
  // Absent or 0: 100 per page.
  json r = Ok(h.List("{}"));
  EXPECT_EQ(r["Contacts"].size(), 5u);
  EXPECT_FALSE(r.contains("NextToken"));
  r = Ok(h.List(R"({"PageSize":0})"));
  EXPECT_EQ(r["Contacts"].size(), 5u);
  // The summary shape.
  r = Ok(h.List(R"({"PageSize":1})"));
  h.clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(r["Contacts"][0],
            With(json::parse(R"({"EmailAddress":"a@example.com","TopicPreferences":[],
                "TopicDefaultPreferences":[{"TopicName":"news","SubscriptionStatus":"OPT_IN"},
                {"TopicName":"offers","SubscriptionStatus":"OPT_OUT"}],"UnsubscribeAll":false})"),
                 {{"LastUpdatedTimestamp", NowSeconds(h) - 1}}));
  EXPECT_EQ(DecodeBase64UrlToken(r["NextToken"].get<std::string>()), "a@example.com");
}

TEST(ListContactsApiTest, Filters) {
  ContactsHarness h;
  // news defaults to OPT_IN, offers to OPT_OUT.
  Ok(h.AddContact("in-news@example.com",
                  R"(,"TopicPreferences":[{"TopicName":"news","SubscriptionStatus":"OPT_IN"}])"));
  Ok(h.AddContact("out-news@example.com",
                  R"(,"TopicPreferences":[{"TopicName":"news","SubscriptionStatus":"OPT_OUT"}])"));
  Ok(h.AddContact("no-pref@example.com"));
  Ok(h.AddContact("gone@example.com", R"(,"UnsubscribeAll":true,"TopicPreferences":[)"
                                      R"({"TopicName":"news","SubscriptionStatus":"OPT_IN"}])"));
  Ok(h.AddContact("in-offers@example.com",
                  R"(,"TopicPreferences":[{"TopicName":"offers","SubscriptionStatus":"OPT_IN"}])"));
  using V = std::vector<std::string>;
  auto list = [&](const std::string& filter) { return AllPages(h, filter, 2); };
  EXPECT_EQ(list(R"("Filter":{"FilteredStatus":"OPT_OUT"})"), V({"gone@example.com"}));
  EXPECT_EQ(list(R"("Filter":{"FilteredStatus":"OPT_IN"})"),
            V({"in-news@example.com", "in-offers@example.com", "no-pref@example.com",
               "out-news@example.com"}));
  // By a topic: explicit preferences only...
  EXPECT_EQ(list(R"("Filter":{"FilteredStatus":"OPT_IN","TopicFilter":{"TopicName":"news"}})"),
            V({"in-news@example.com"}));
  EXPECT_EQ(list(R"("Filter":{"FilteredStatus":"OPT_OUT","TopicFilter":{"TopicName":"news"}})"),
            V({"gone@example.com", "out-news@example.com"}));
  // ...or with the topic's default for those without one.
  EXPECT_EQ(list(R"("Filter":{"FilteredStatus":"OPT_IN","TopicFilter":{"TopicName":"news",)"
                 R"("UseDefaultIfPreferenceUnavailable":true}})"),
            V({"in-news@example.com", "in-offers@example.com", "no-pref@example.com"}));
  EXPECT_EQ(list(R"("Filter":{"FilteredStatus":"OPT_OUT","TopicFilter":{"TopicName":"offers",)"
                 R"("UseDefaultIfPreferenceUnavailable":true}})"),
            V({"gone@example.com", "in-news@example.com", "no-pref@example.com",
               "out-news@example.com"}));
  // A topic without a status filter: everyone with a status for it.
  EXPECT_EQ(list(R"("Filter":{"TopicFilter":{"TopicName":"offers"}})"),
            V({"in-offers@example.com"}));
  EXPECT_EQ(list(R"("Filter":{})").size(), 5u);
}

TEST(ListContactsApiTest, FilterSkipsAcrossStoreBatches) {
  ContactsHarness h;
  // More contacts than one store batch, of which only a few match.
  for (int i = 0; i < 1100; ++i) {
    char email[32];
    std::snprintf(email, sizeof(email), "c%04d@example.com", i);
    const bool out = i % 500 == 7;
    Ok(h.AddContact(email, out ? R"(,"UnsubscribeAll":true)" : ""));
  }
  EXPECT_EQ(
      AllPages(h, R"("Filter":{"FilteredStatus":"OPT_OUT"})", 1),
      (std::vector<std::string>{"c0007@example.com", "c0507@example.com", "c1007@example.com"}));
  int pages = 0;
  EXPECT_EQ(AllPages(h, "", 1000, &pages).size(), 1100u);
  EXPECT_EQ(pages, 2);
}

// Older botocore models (Debian 12's, AWS CLI 2.9) send ListContacts as GET .../contacts
// with PageSize and NextToken in the query string and Filter in the body.
TEST(ListContactsApiTest, OlderModelsGetWithQueryString) {
  ContactsHarness h;
  for (const char* e : {"c@example.com", "a@example.com", "b@example.com"}) {
    Ok(h.AddContact(e, std::string(e)[0] == 'b' ? R"(,"UnsubscribeAll":true)" : ""));
  }
  const std::string path = std::string(kLists) + "/customers/contacts";
  json r = Ok(h.Call("GET", path + "?PageSize=2"));
  ASSERT_EQ(r["Contacts"].size(), 2u);
  EXPECT_EQ(r["Contacts"][1]["EmailAddress"], "b@example.com");
  const std::string token = r["NextToken"];
  r = Ok(h.Call("GET", path + "?PageSize=2&NextToken=" + token));
  ASSERT_EQ(r["Contacts"].size(), 1u);
  EXPECT_EQ(r["Contacts"][0]["EmailAddress"], "c@example.com");
  EXPECT_FALSE(r.contains("NextToken"));
  r = Ok(h.Call("GET", path, R"({"Filter":{"FilteredStatus":"OPT_OUT"}})"));
  ASSERT_EQ(r["Contacts"].size(), 1u);
  EXPECT_EQ(r["Contacts"][0]["EmailAddress"], "b@example.com");
  ExpectError(h.Call("GET", path + "?PageSize=ten"), 400, kBr,
              "Invalid value for PageSize: must be an integer from 0 to 1000.");
  ExpectError(h.Call("GET", path + "?PageSize=1001"), 400, kBr,
              "Invalid value for PageSize: must be an integer from 0 to 1000.");
  ExpectError(h.Call("GET", path + "?NextToken=%21"), 400, kBr, "Invalid NextToken.");
  ExpectError(h.Call("GET", std::string(kLists) + "/missing/contacts"), 404, kNf,
              "List with name missing does not exist.");
}

TEST(ListContactsApiTest, Errors) {
  ContactsHarness h;
  ExpectError(h.Call("POST", std::string(kLists) + "/missing/contacts/list", "{}"), 404, kNf,
              "List with name missing does not exist.");
  struct Case {
    std::string body;
    std::string message;
  } cases[] = {
      {R"({"PageSize":1001})", "Invalid value for PageSize: must be an integer from 0 to 1000."},
      {R"({"PageSize":-1})", "Invalid value for PageSize: must be an integer from 0 to 1000."},
      {R"({"PageSize":"10"})", "Invalid type for parameter PageSize: expected an integer."},
      {R"({"NextToken":"%%"})", "Invalid NextToken."},
      {R"({"NextToken":")" + EncodeNextToken("Upper@example.com") + "\"}", "Invalid NextToken."},
      {R"({"NextToken":7})", "Invalid type for parameter NextToken: expected a string."},
      {R"({"Filter":[]})", "Invalid type for parameter Filter: expected a structure."},
      {R"({"Filter":{"FilteredStatus":"IN"}})",
       "Invalid value for Filter.FilteredStatus: must be OPT_IN or OPT_OUT."},
      {R"({"Filter":{"TopicFilter":{"UseDefaultIfPreferenceUnavailable":1}}})",
       "Invalid type for parameter Filter.TopicFilter.UseDefaultIfPreferenceUnavailable: "
       "expected a boolean."},
      {R"({"Filter":{"TopicFilter":{"TopicName":"sports"}}})",
       "Invalid value for Filter.TopicFilter.TopicName: contact list customers has no topic "
       "sports."},
  };
  for (const Case& c : cases) {
    ExpectError(h.List(c.body), 400, kBr, c.message);
  }
}

// ---------------------------------------------------------------- routing and failures

TEST(ContactRoutingTest, UnknownMethodsAndPaths) {
  ContactsHarness h;
  ExpectError(h.Call("PATCH", kLists), 404, "UnknownOperationException",
              "Unknown operation: PATCH /v2/email/contact-lists");
  ExpectError(h.Call("POST", std::string(kLists) + "/customers"), 404, "UnknownOperationException",
              "Unknown operation: POST /v2/email/contact-lists/customers");
  ExpectError(h.Call("PUT", std::string(kLists) + "/customers/contacts"), 404,
              "UnknownOperationException",
              "Unknown operation: PUT /v2/email/contact-lists/customers/contacts");
  ExpectError(h.Call("GET", std::string(kLists) + "/"), 404, "UnknownOperationException",
              "Unknown operation: GET /v2/email/contact-lists/");
  ExpectError(h.Call("GET", std::string(kLists) + "/customers/contacts/a@b.example/x"), 404,
              "UnknownOperationException",
              "Unknown operation: GET /v2/email/contact-lists/customers/contacts/a@b.example/x");
  ExpectError(h.Call("GET", std::string(kLists) + "/customers/other"), 404,
              "UnknownOperationException",
              "Unknown operation: GET /v2/email/contact-lists/customers/other");
  ExpectError(h.Call("GET", "/v2/email/contact-listsX"), 404, "UnknownOperationException",
              "Unknown operation: GET /v2/email/contact-listsX");
  ExpectError(h.Call("GET", std::string(kLists) + "/bad%zz"), 400, kBr,
              "Invalid percent-encoding in the request path.");
  ExpectError(h.Call("GET", std::string(kLists) + "/customers/contacts/a%zz"), 400, kBr,
              "Invalid percent-encoding in the request path.");
  // Signed like every other operation.
  HttpResponse r = h.api().Handle(h.Unsigned("GET", kLists));
  EXPECT_EQ(r.status, 403);
}

TEST(ContactRoutingTest, StoreFailuresAreInternalErrors) {
  ContactsHarness h;
  h.store.FailAllForTest(UnavailableError("disk on fire"));
  const std::string ise = "InternalServiceErrorException";
  const std::string msg = "Internal service error.";
  ExpectError(h.Call("POST", kLists, R"({"ContactListName":"x"})"), 500, ise, msg);
  ExpectError(h.Call("GET", kLists), 500, ise, msg);
  ExpectError(h.Call("GET", std::string(kLists) + "/customers"), 500, ise, msg);
  ExpectError(h.Call("PUT", std::string(kLists) + "/customers", "{}"), 500, ise, msg);
  ExpectError(h.Call("DELETE", std::string(kLists) + "/customers"), 500, ise, msg);
  ExpectError(h.AddContact("a@example.com"), 500, ise, msg);
  ExpectError(h.Call("GET", std::string(kLists) + "/customers/contacts/a@example.com"), 500, ise,
              msg);
  ExpectError(h.Call("PUT", std::string(kLists) + "/customers/contacts/a@example.com", "{}"), 500,
              ise, msg);
  ExpectError(h.Call("DELETE", std::string(kLists) + "/customers/contacts/a@example.com"), 500, ise,
              msg);
  ExpectError(h.List("{}"), 500, ise, msg);
  h.store.FailAllForTest(Status::Ok());
  Ok(h.AddContact("a@example.com"));
}

}  // namespace
}  // namespace herald::api
