// store/sqlite/sqlite_audience.cc: SqliteStore's AudienceStore methods (contact lists, their
// contacts, engagement rows). The tables are created by migration 6 -> 7 in
// sqlite_store.cc. Topics and topic preferences are kept as JSON arrays in SES's shapes
// ({TopicName, DisplayName, Description, DefaultSubscriptionStatus} and {TopicName,
// SubscriptionStatus}) so that the file stays readable with the sqlite3 shell; a value that
// does not read back is kDataLoss.
#include <sqlite3.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_stmt.h"
#include "store/sqlite/sqlite_store.h"

namespace herald::store {
namespace {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

const char* StatusText(bool opted_in) { return opted_in ? "OPT_IN" : "OPT_OUT"; }

// "OPT_IN" -> true, "OPT_OUT" -> false, anything else nullopt.
std::optional<bool> ParseStatusText(const json& j) {
  if (!j.is_string()) return std::nullopt;
  const std::string& s = j.get_ref<const std::string&>();
  if (s == "OPT_IN") return true;
  if (s == "OPT_OUT") return false;
  return std::nullopt;
}

std::string EncodeTopics(const std::vector<ContactListTopic>& topics) {
  json out = json::array();
  for (const ContactListTopic& t : topics) {
    out.push_back({{"TopicName", t.name},
                   {"DisplayName", t.display_name},
                   {"Description", t.description},
                   {"DefaultSubscriptionStatus", StatusText(t.default_opt_in)}});
  }
  return Dump(out);
}

StatusOr<std::vector<ContactListTopic>> DecodeTopics(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return DataLossError("store: unreadable topics");
  std::vector<ContactListTopic> out;
  for (const json& e : j) {
    if (!e.is_object()) return DataLossError("store: unreadable topic");
    auto name = e.find("TopicName");
    auto display = e.find("DisplayName");
    auto description = e.find("Description");
    auto status = e.find("DefaultSubscriptionStatus");
    if (name == e.end() || display == e.end() || description == e.end() || status == e.end() ||
        !name->is_string() || !display->is_string() || !description->is_string()) {
      return DataLossError("store: unreadable topic");
    }
    std::optional<bool> opt_in = ParseStatusText(*status);
    if (!opt_in) return DataLossError("store: topic with an unknown default status");
    ContactListTopic t;
    t.name = name->get<std::string>();
    t.display_name = display->get<std::string>();
    t.description = description->get<std::string>();
    t.default_opt_in = *opt_in;
    out.push_back(std::move(t));
  }
  return out;
}

std::string EncodePreferences(const std::vector<std::pair<std::string, bool>>& prefs) {
  json out = json::array();
  for (const auto& [topic, opted_in] : prefs) {
    out.push_back({{"TopicName", topic}, {"SubscriptionStatus", StatusText(opted_in)}});
  }
  return Dump(out);
}

StatusOr<std::vector<std::pair<std::string, bool>>> DecodePreferences(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    return DataLossError("store: unreadable topic preferences");
  }
  std::vector<std::pair<std::string, bool>> out;
  for (const json& e : j) {
    auto name = e.is_object() ? e.find("TopicName") : e.end();
    auto status = e.is_object() ? e.find("SubscriptionStatus") : e.end();
    if (!e.is_object() || name == e.end() || status == e.end() || !name->is_string()) {
      return DataLossError("store: unreadable topic preference");
    }
    std::optional<bool> opt_in = ParseStatusText(*status);
    if (!opt_in) return DataLossError("store: topic preference with an unknown status");
    out.emplace_back(name->get<std::string>(), *opt_in);
  }
  return out;
}

// The preferences of `contact` that name topics of the list (written rows keep only those).
std::vector<std::pair<std::string, bool>> KeptPreferences(
    const ContactRow& contact, const std::vector<ContactListTopic>& topics) {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& pref : contact.topic_preferences) {
    const bool known = std::any_of(topics.begin(), topics.end(),
                                   [&](const ContactListTopic& t) { return t.name == pref.first; });
    if (known) out.push_back(pref);
  }
  return out;
}

// Reads a row selected as: account_id, name, description, topics_json, tags_json, created_ms,
// updated_ms.
StatusOr<ContactListRow> ReadList(sqlite3_stmt* s) {
  ContactListRow l;
  l.account_id = sqlite3_column_int64(s, 0);
  l.name = ColumnText(s, 1);
  l.description = ColumnText(s, 2);
  ASSIGN_OR_RETURN(l.topics, DecodeTopics(ColumnText(s, 3)));
  l.tags_json = ColumnText(s, 4);
  l.created = FromUnixMillis(sqlite3_column_int64(s, 5));
  l.updated = FromUnixMillis(sqlite3_column_int64(s, 6));
  return l;
}

StatusOr<ContactRow> ReadContact(sqlite3_stmt* s) {
  ContactRow c;
  c.account_id = sqlite3_column_int64(s, 0);
  c.list_name = ColumnText(s, 1);
  c.email = ColumnText(s, 2);
  c.unsubscribe_all = sqlite3_column_int64(s, 3) != 0;
  ASSIGN_OR_RETURN(c.topic_preferences, DecodePreferences(ColumnText(s, 4)));
  c.attributes_json = ColumnText(s, 5);
  c.created = FromUnixMillis(sqlite3_column_int64(s, 6));
  c.updated = FromUnixMillis(sqlite3_column_int64(s, 7));
  return c;
}

}  // namespace

// ---- Contact lists ---------------------------------------------------------------------------

Status SqliteStore::CreateContactList(const ContactListRow& list) {
  RETURN_IF_ERROR(ValidateContactList(list));
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction([&]() -> Status {
    {
      ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                       Prepare("SELECT count(*), coalesce(sum(name = ?2), 0) FROM contact_lists "
                               "WHERE account_id = ?1"));
      Stmt stmt(raw);
      int rc = stmt.Bind(1, list.account_id).Bind(2, list.name).Step();
      if (rc != SQLITE_ROW) return Error(rc, "count contact lists");
      if (sqlite3_column_int64(raw, 1) > 0) {
        return AlreadyExistsError("store: contact list exists");
      }
      if (sqlite3_column_int64(raw, 0) >= kMaxContactListsPerAccount) {
        return ResourceExhaustedError("store: the account has the most contact lists allowed");
      }
    }
    ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("INSERT INTO contact_lists (account_id, name, description, topics_json, "
                "tags_json, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?)"));
    Stmt stmt(raw);
    stmt.Bind(1, list.account_id)
        .Bind(2, list.name)
        .Bind(3, list.description)
        .Bind(4, EncodeTopics(list.topics))
        .Bind(5, list.tags_json)
        .Bind(6, UnixMillis(list.created))
        .Bind(7, UnixMillis(list.updated));
    int rc = stmt.Step();
    if (rc != SQLITE_DONE) return Error(rc, "create contact list");
    return Status::Ok();
  });
}

StatusOr<ContactListRow> SqliteStore::GetContactList(int64_t account_id, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT account_id, name, description, topics_json, tags_json, "
                           "created_ms, updated_ms FROM contact_lists WHERE account_id = ? AND "
                           "name = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Bind(2, name).Step();
  if (rc == SQLITE_ROW) return ReadList(raw);
  if (rc == SQLITE_DONE) return NotFoundError("store: no such contact list");
  return Error(rc, "get contact list");
}

Status SqliteStore::UpdateContactList(const ContactListRow& list) {
  RETURN_IF_ERROR(ValidateContactList(list));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("UPDATE contact_lists SET description = ?, topics_json = ?, "
                           "updated_ms = ? WHERE account_id = ? AND name = ?"));
  Stmt stmt(raw);
  stmt.Bind(1, list.description)
      .Bind(2, EncodeTopics(list.topics))
      .Bind(3, UnixMillis(list.updated))
      .Bind(4, list.account_id)
      .Bind(5, list.name);
  int rc = stmt.Step();
  if (rc != SQLITE_DONE) return Error(rc, "update contact list");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such contact list");
  return Status::Ok();
}

Status SqliteStore::DeleteContactList(int64_t account_id, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  // The contacts go by ON DELETE CASCADE, in the same statement's transaction.
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("DELETE FROM contact_lists WHERE account_id = ? AND name = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Bind(2, name).Step();
  if (rc != SQLITE_DONE) return Error(rc, "delete contact list");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such contact list");
  return Status::Ok();
}

StatusOr<std::vector<ContactListRow>> SqliteStore::ListContactLists(int64_t account_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT account_id, name, description, topics_json, tags_json, "
                           "created_ms, updated_ms FROM contact_lists WHERE account_id = ? "
                           "ORDER BY name"));
  Stmt stmt(raw);
  stmt.Bind(1, account_id);
  std::vector<ContactListRow> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    ASSIGN_OR_RETURN(ContactListRow l, ReadList(raw));
    out.push_back(std::move(l));
  }
  if (rc != SQLITE_DONE) return Error(rc, "list contact lists");
  return out;
}

StatusOr<std::vector<ContactListTopic>> SqliteStore::ContactListTopics(int64_t account_id,
                                                                       const std::string& name) {
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT topics_json FROM contact_lists WHERE account_id = ? AND "
                           "name = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Bind(2, name).Step();
  if (rc == SQLITE_DONE) return NotFoundError("store: no such contact list");
  if (rc != SQLITE_ROW) return Error(rc, "get contact list topics");
  return DecodeTopics(ColumnText(raw, 0));
}

// ---- Contacts --------------------------------------------------------------------------------

Status SqliteStore::CreateContact(const ContactRow& contact) {
  RETURN_IF_ERROR(ValidateContact(contact));
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(std::vector<ContactListTopic> topics,
                     ContactListTopics(contact.account_id, contact.list_name));
    ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("INSERT INTO contacts (account_id, list_name, email_key, email, unsubscribe_all, "
                "preferences_json, attributes_json, created_ms, updated_ms) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    Stmt stmt(raw);
    stmt.Bind(1, contact.account_id)
        .Bind(2, contact.list_name)
        .Bind(3, ContactKey(contact.email))
        .Bind(4, contact.email)
        .Bind(5, static_cast<int64_t>(contact.unsubscribe_all ? 1 : 0))
        .Bind(6, EncodePreferences(KeptPreferences(contact, topics)))
        .Bind(7, contact.attributes_json)
        .Bind(8, UnixMillis(contact.created))
        .Bind(9, UnixMillis(contact.updated));
    int rc = stmt.Step();
    if (rc != SQLITE_DONE) return Error(rc, "create contact");
    return Status::Ok();
  });
}

StatusOr<ContactRow> SqliteStore::GetContact(int64_t account_id, const std::string& list_name,
                                             const std::string& email) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT account_id, list_name, email, unsubscribe_all, "
                           "preferences_json, attributes_json, created_ms, updated_ms FROM "
                           "contacts WHERE account_id = ? AND list_name = ? AND email_key = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Bind(2, list_name).Bind(3, ContactKey(email)).Step();
  if (rc == SQLITE_ROW) return ReadContact(raw);
  if (rc == SQLITE_DONE) return NotFoundError("store: no such contact");
  return Error(rc, "get contact");
}

Status SqliteStore::UpdateContact(const ContactRow& contact) {
  RETURN_IF_ERROR(ValidateContact(contact));
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(std::vector<ContactListTopic> topics,
                     ContactListTopics(contact.account_id, contact.list_name));
    ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                     Prepare("UPDATE contacts SET unsubscribe_all = ?, preferences_json = ?, "
                             "attributes_json = ?, updated_ms = ? WHERE account_id = ? AND "
                             "list_name = ? AND email_key = ?"));
    Stmt stmt(raw);
    stmt.Bind(1, static_cast<int64_t>(contact.unsubscribe_all ? 1 : 0))
        .Bind(2, EncodePreferences(KeptPreferences(contact, topics)))
        .Bind(3, contact.attributes_json)
        .Bind(4, UnixMillis(contact.updated))
        .Bind(5, contact.account_id)
        .Bind(6, contact.list_name)
        .Bind(7, ContactKey(contact.email));
    int rc = stmt.Step();
    if (rc != SQLITE_DONE) return Error(rc, "update contact");
    if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such contact");
    return Status::Ok();
  });
}

Status SqliteStore::DeleteContact(int64_t account_id, const std::string& list_name,
                                  const std::string& email) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("DELETE FROM contacts WHERE account_id = ? AND list_name = ? AND "
                           "email_key = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Bind(2, list_name).Bind(3, ContactKey(email)).Step();
  if (rc != SQLITE_DONE) return Error(rc, "delete contact");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such contact");
  return Status::Ok();
}

StatusOr<std::vector<ContactRow>> SqliteStore::ListContacts(int64_t account_id,
                                                            const std::string& list_name,
                                                            const std::string& after, int limit) {
  const int bounded = std::clamp(limit, 1, kMaxListLimit);
  std::lock_guard<std::mutex> lock(mu_);
  // A list deleted between the two statements reads as an empty page (no write lock taken
  // for a read).
  RETURN_IF_ERROR(ContactListTopics(account_id, list_name).status());
  ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      Prepare("SELECT account_id, list_name, email, unsubscribe_all, preferences_json, "
              "attributes_json, created_ms, updated_ms FROM contacts WHERE account_id = ? AND "
              "list_name = ? AND email_key > ? ORDER BY email_key LIMIT ?"));
  Stmt stmt(raw);
  stmt.Bind(1, account_id)
      .Bind(2, list_name)
      .Bind(3, ContactKey(after))
      .Bind(4, static_cast<int64_t>(bounded));
  std::vector<ContactRow> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    ASSIGN_OR_RETURN(ContactRow c, ReadContact(raw));
    out.push_back(std::move(c));
  }
  if (rc != SQLITE_DONE) return Error(rc, "list contacts");
  return out;
}

// ---- Engagement ------------------------------------------------------------------------------

StatusOr<bool> SqliteStore::RecordEngagement(const EngagementRow& row) {
  RETURN_IF_ERROR(ValidateEngagement(row));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("INSERT INTO engagement (message_id, recipient, kind, account_id, "
                           "configuration_set, at_ms) VALUES (?, ?, ?, ?, ?, ?) "
                           "ON CONFLICT (message_id, recipient, kind) DO NOTHING"));
  Stmt stmt(raw);
  stmt.Bind(1, row.message_id)
      .Bind(2, row.recipient)
      .Bind(3, EngagementKindName(row.kind))
      .Bind(4, row.account_id)
      .Bind(5, row.configuration_set)
      .Bind(6, UnixMillis(row.at));
  int rc = stmt.Step();
  if (rc != SQLITE_DONE) return Error(rc, "record engagement");
  return sqlite3_changes(db_) > 0;
}

StatusOr<int64_t> SqliteStore::CountEngagement(int64_t account_id, const std::string& set,
                                               EngagementRow::Kind kind, SysTime since,
                                               SysTime until) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT count(*) FROM engagement WHERE account_id = ?1 AND kind = ?2 "
                           "AND at_ms >= ?3 AND at_ms < ?4 AND (?5 = '' OR "
                           "configuration_set = ?5)"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id)
               .Bind(2, EngagementKindName(kind))
               .Bind(3, UnixMillis(since))
               .Bind(4, UnixMillis(until))
               .Bind(5, set)
               .Step();
  if (rc != SQLITE_ROW) return Error(rc, "count engagement");
  return sqlite3_column_int64(raw, 0);
}

}  // namespace herald::store
