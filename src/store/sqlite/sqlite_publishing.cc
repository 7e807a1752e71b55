// store/sqlite/sqlite_publishing.cc: SqliteStore's PublishingStore methods (templates,
// event destinations and their cursors, SNS-style topics and subscriptions). The tables
// are created by migration 5 -> 6 in sqlite_store.cc.
#include <sqlite3.h>

#include <limits>
#include <string>
#include <vector>

#include "base/strings.h"
#include "store/sqlite/sqlite_stmt.h"
#include "store/sqlite/sqlite_store.h"

namespace herald::store {
namespace {

EmailTemplate ReadTemplate(sqlite3_stmt* s) {
  EmailTemplate t;
  t.account_id = sqlite3_column_int64(s, 0);
  t.name = ColumnText(s, 1);
  t.subject = ColumnText(s, 2);
  t.text = ColumnText(s, 3);
  t.html = ColumnText(s, 4);
  t.tags_json = ColumnText(s, 5);
  t.created = FromUnixMillis(sqlite3_column_int64(s, 6));
  t.updated = FromUnixMillis(sqlite3_column_int64(s, 7));
  return t;
}

std::string JoinTypes(const std::vector<std::string>& types) {
  std::string out;
  for (const std::string& t : types) {
    if (!out.empty()) out += ',';
    out += t;
  }
  return out;
}

std::vector<std::string> SplitTypes(const std::string& joined) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < joined.size()) {
    size_t comma = joined.find(',', start);
    if (comma == std::string::npos) comma = joined.size();
    if (comma > start) out.push_back(joined.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

EventDestinationRow ReadDestination(sqlite3_stmt* s) {
  EventDestinationRow d;
  d.id = sqlite3_column_int64(s, 0);
  d.account_id = sqlite3_column_int64(s, 1);
  d.configuration_set = ColumnText(s, 2);
  d.name = ColumnText(s, 3);
  d.enabled = sqlite3_column_int64(s, 4) != 0;
  d.matching_types = SplitTypes(ColumnText(s, 5));
  d.kind = ColumnText(s, 6);
  d.spec_json = ColumnText(s, 7);
  d.created = FromUnixMillis(sqlite3_column_int64(s, 8));
  d.updated = FromUnixMillis(sqlite3_column_int64(s, 9));
  return d;
}

TopicSubscription ReadSubscription(sqlite3_stmt* s) {
  TopicSubscription sub;
  sub.id = sqlite3_column_int64(s, 0);
  sub.topic_id = sqlite3_column_int64(s, 1);
  sub.endpoint = ColumnText(s, 2);
  sub.token = ColumnText(s, 3);
  sub.confirmed = sqlite3_column_int64(s, 4) != 0;
  sub.raw = sqlite3_column_int64(s, 5) != 0;
  sub.created = FromUnixMillis(sqlite3_column_int64(s, 6));
  sub.start_offset = static_cast<uint64_t>(sqlite3_column_int64(s, 7));
  return sub;
}

Status ValidateTopic(const Topic& t) {
  if (!IsTopicName(t.name)) {
    return InvalidArgumentError("topic name must be 1 to 256 letters, digits, '_' or '-'");
  }
  return Status::Ok();
}

Status CheckOffset(uint64_t offset) {
  if (offset > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return InvalidArgumentError("offset out of range");
  }
  return Status::Ok();
}

Status ValidateSubscription(const TopicSubscription& s) {
  if (s.endpoint.empty() || s.endpoint.size() > kMaxEndpointLength ||
      s.endpoint.find('\0') != std::string::npos) {
    return InvalidArgumentError("bad subscription endpoint");
  }
  if (s.token.empty() || s.token.size() > kMaxTokenLength) {
    return InvalidArgumentError("bad subscription token");
  }
  return CheckOffset(s.start_offset);
}

}  // namespace

// ---- Templates -----------------------------------------------------------------------------

Status SqliteStore::CreateTemplate(const EmailTemplate& t) {
  RETURN_IF_ERROR(ValidateTemplate(t));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("INSERT INTO email_templates (account_id, name, subject, text, html, "
                           "tags_json, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  Stmt stmt(raw);
  stmt.Bind(1, t.account_id)
      .Bind(2, t.name)
      .Bind(3, t.subject)
      .Bind(4, t.text)
      .Bind(5, t.html)
      .Bind(6, t.tags_json)
      .Bind(7, UnixMillis(t.created))
      .Bind(8, UnixMillis(t.updated));
  int rc = stmt.Step();
  if (rc != SQLITE_DONE) return Error(rc, "create template");
  return Status::Ok();
}

StatusOr<EmailTemplate> SqliteStore::GetTemplate(int64_t account_id, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT account_id, name, subject, text, html, tags_json, created_ms, "
                           "updated_ms FROM email_templates WHERE account_id = ? AND name = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Bind(2, name).Step();
  if (rc == SQLITE_ROW) return ReadTemplate(raw);
  if (rc == SQLITE_DONE) return NotFoundError("store: no such template");
  return Error(rc, "get template");
}

Status SqliteStore::UpdateTemplate(const EmailTemplate& t) {
  RETURN_IF_ERROR(ValidateTemplate(t));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("UPDATE email_templates SET subject = ?, text = ?, html = ?, "
                           "updated_ms = ? WHERE account_id = ? AND name = ?"));
  Stmt stmt(raw);
  stmt.Bind(1, t.subject)
      .Bind(2, t.text)
      .Bind(3, t.html)
      .Bind(4, UnixMillis(t.updated))
      .Bind(5, t.account_id)
      .Bind(6, t.name);
  int rc = stmt.Step();
  if (rc != SQLITE_DONE) return Error(rc, "update template");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such template");
  return Status::Ok();
}

Status SqliteStore::DeleteTemplate(int64_t account_id, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("DELETE FROM email_templates WHERE account_id = ? AND name = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Bind(2, name).Step();
  if (rc != SQLITE_DONE) return Error(rc, "delete template");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such template");
  return Status::Ok();
}

StatusOr<std::vector<EmailTemplate>> SqliteStore::ListTemplates(int64_t account_id,
                                                                const std::string& after,
                                                                int limit) {
  ASSIGN_OR_RETURN(int bounded, ValidateListLimit(limit));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT account_id, name, subject, text, html, tags_json, created_ms, "
                           "updated_ms FROM email_templates WHERE account_id = ? AND name > ? "
                           "ORDER BY name LIMIT ?"));
  Stmt stmt(raw);
  stmt.Bind(1, account_id).Bind(2, after).Bind(3, static_cast<int64_t>(bounded));
  std::vector<EmailTemplate> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) out.push_back(ReadTemplate(raw));
  if (rc != SQLITE_DONE) return Error(rc, "list templates");
  return out;
}

// ---- Event destinations and cursors ---------------------------------------------------------

StatusOr<int64_t> SqliteStore::CreateEventDestination(const EventDestinationRow& d,
                                                      uint64_t start_offset) {
  RETURN_IF_ERROR(ValidateEventDestination(d));
  RETURN_IF_ERROR(CheckOffset(start_offset));
  std::lock_guard<std::mutex> lock(mu_);
  int64_t id = 0;
  RETURN_IF_ERROR(InTransaction([&]() -> Status {
    {
      ASSIGN_OR_RETURN(
          sqlite3_stmt * raw,
          Prepare("INSERT INTO event_destinations (account_id, configuration_set, name, "
                  "enabled, matching_types, kind, spec_json, created_ms, updated_ms) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"));
      Stmt stmt(raw);
      stmt.Bind(1, d.account_id)
          .Bind(2, d.configuration_set)
          .Bind(3, d.name)
          .Bind(4, static_cast<int64_t>(d.enabled ? 1 : 0))
          .Bind(5, JoinTypes(d.matching_types))
          .Bind(6, d.kind)
          .Bind(7, d.spec_json)
          .Bind(8, UnixMillis(d.created))
          .Bind(9, UnixMillis(d.updated));
      int rc = stmt.Step();
      if (rc != SQLITE_ROW) return Error(rc, "create event destination");
      id = sqlite3_column_int64(raw, 0);
    }
    ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                     Prepare("INSERT INTO event_cursors (destination_id, target, byte_offset) "
                             "VALUES (?, '', ?)"));
    Stmt stmt(raw);
    int rc = stmt.Bind(1, id).Bind(2, static_cast<int64_t>(start_offset)).Step();
    if (rc != SQLITE_DONE) return Error(rc, "create event cursor");
    return Status::Ok();
  }));
  return id;
}

Status SqliteStore::UpdateEventDestination(const EventDestinationRow& d) {
  RETURN_IF_ERROR(ValidateEventDestination(d));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("UPDATE event_destinations SET enabled = ?, matching_types = ?, "
                           "kind = ?, spec_json = ?, updated_ms = ? WHERE account_id = ? AND "
                           "configuration_set = ? AND name = ?"));
  Stmt stmt(raw);
  stmt.Bind(1, static_cast<int64_t>(d.enabled ? 1 : 0))
      .Bind(2, JoinTypes(d.matching_types))
      .Bind(3, d.kind)
      .Bind(4, d.spec_json)
      .Bind(5, UnixMillis(d.updated))
      .Bind(6, d.account_id)
      .Bind(7, d.configuration_set)
      .Bind(8, d.name);
  int rc = stmt.Step();
  if (rc != SQLITE_DONE) return Error(rc, "update event destination");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such event destination");
  return Status::Ok();
}

Status SqliteStore::DeleteEventDestination(int64_t account_id, const std::string& set,
                                           const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("DELETE FROM event_destinations WHERE account_id = ? AND "
                           "configuration_set = ? AND name = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Bind(2, set).Bind(3, name).Step();
  if (rc != SQLITE_DONE) return Error(rc, "delete event destination");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such event destination");
  return Status::Ok();
}

StatusOr<std::vector<EventDestinationRow>> SqliteStore::ListEventDestinations(
    int64_t account_id, const std::string& set) {
  std::lock_guard<std::mutex> lock(mu_);
  {
    ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                     Prepare("SELECT 1 FROM configuration_sets WHERE account_id = ? AND name = ?"));
    Stmt stmt(raw);
    int rc = stmt.Bind(1, account_id).Bind(2, set).Step();
    if (rc == SQLITE_DONE) return NotFoundError("store: no such configuration set");
    if (rc != SQLITE_ROW) return Error(rc, "find configuration set");
  }
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT id, account_id, configuration_set, name, enabled, "
                           "matching_types, kind, spec_json, created_ms, updated_ms FROM "
                           "event_destinations WHERE account_id = ? AND configuration_set = ? "
                           "ORDER BY id"));
  Stmt stmt(raw);
  stmt.Bind(1, account_id).Bind(2, set);
  std::vector<EventDestinationRow> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) out.push_back(ReadDestination(raw));
  if (rc != SQLITE_DONE) return Error(rc, "list event destinations");
  return out;
}

StatusOr<std::vector<EventDestinationRow>> SqliteStore::ListAllEventDestinations() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT id, account_id, configuration_set, name, enabled, "
                           "matching_types, kind, spec_json, created_ms, updated_ms FROM "
                           "event_destinations ORDER BY id"));
  Stmt stmt(raw);
  std::vector<EventDestinationRow> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) out.push_back(ReadDestination(raw));
  if (rc != SQLITE_DONE) return Error(rc, "list all event destinations");
  return out;
}

StatusOr<uint64_t> SqliteStore::GetCursor(int64_t destination_id, const std::string& target,
                                          uint64_t fallback) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      Prepare("SELECT (SELECT byte_offset FROM event_cursors WHERE destination_id = ?1 AND "
              "target = ?2) FROM event_destinations WHERE id = ?1"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, destination_id).Bind(2, target).Step();
  if (rc == SQLITE_DONE) return NotFoundError("store: no such event destination");
  if (rc != SQLITE_ROW) return Error(rc, "get cursor");
  if (sqlite3_column_type(raw, 0) == SQLITE_NULL) return fallback;
  return static_cast<uint64_t>(sqlite3_column_int64(raw, 0));
}

Status SqliteStore::SetCursor(int64_t destination_id, const std::string& target, uint64_t offset) {
  RETURN_IF_ERROR(CheckOffset(offset));
  if (target.size() > kMaxTokenLength) return InvalidArgumentError("bad cursor target");
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("INSERT INTO event_cursors (destination_id, target, byte_offset) "
                           "VALUES (?, ?, ?) ON CONFLICT (destination_id, target) DO UPDATE SET "
                           "byte_offset = excluded.byte_offset"));
  Stmt stmt(raw);
  int rc =
      stmt.Bind(1, destination_id).Bind(2, target).Bind(3, static_cast<int64_t>(offset)).Step();
  if (rc != SQLITE_DONE) return Error(rc, "set cursor");
  return Status::Ok();
}

StatusOr<uint64_t> SqliteStore::GetSubscriptionCursor(int64_t subscription_id, uint64_t fallback) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      Prepare("SELECT (SELECT byte_offset FROM notification_cursors WHERE subscription_id = ?1) "
              "FROM topic_subscriptions WHERE id = ?1"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, subscription_id).Step();
  if (rc == SQLITE_DONE) return NotFoundError("store: no such subscription");
  if (rc != SQLITE_ROW) return Error(rc, "get subscription cursor");
  if (sqlite3_column_type(raw, 0) == SQLITE_NULL) return fallback;
  return static_cast<uint64_t>(sqlite3_column_int64(raw, 0));
}

Status SqliteStore::SetSubscriptionCursor(int64_t subscription_id, uint64_t offset) {
  RETURN_IF_ERROR(CheckOffset(offset));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("INSERT INTO notification_cursors (subscription_id, byte_offset) "
                           "SELECT id, ?2 FROM topic_subscriptions WHERE id = ?1 "
                           "ON CONFLICT (subscription_id) DO UPDATE SET "
                           "byte_offset = excluded.byte_offset"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, subscription_id).Bind(2, static_cast<int64_t>(offset)).Step();
  if (rc != SQLITE_DONE) return Error(rc, "set subscription cursor");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such subscription");
  return Status::Ok();
}

// ---- Topics and subscriptions ---------------------------------------------------------------

StatusOr<int64_t> SqliteStore::CreateTopic(const Topic& t) {
  RETURN_IF_ERROR(ValidateTopic(t));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("INSERT INTO topics (account_id, name, created_ms) VALUES (?, ?, ?) "
                           "RETURNING id"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, t.account_id).Bind(2, t.name).Bind(3, UnixMillis(t.created)).Step();
  if (rc != SQLITE_ROW) return Error(rc, "create topic");
  return sqlite3_column_int64(raw, 0);
}

StatusOr<Topic> SqliteStore::GetTopic(int64_t account_id, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT id, account_id, name, created_ms FROM topics WHERE "
                           "account_id = ? AND name = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Bind(2, name).Step();
  if (rc == SQLITE_DONE) return NotFoundError("store: no such topic");
  if (rc != SQLITE_ROW) return Error(rc, "get topic");
  Topic t;
  t.id = sqlite3_column_int64(raw, 0);
  t.account_id = sqlite3_column_int64(raw, 1);
  t.name = ColumnText(raw, 2);
  t.created = FromUnixMillis(sqlite3_column_int64(raw, 3));
  return t;
}

StatusOr<std::vector<Topic>> SqliteStore::ListTopics(int64_t account_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT id, account_id, name, created_ms FROM topics WHERE "
                           "account_id = ? ORDER BY name"));
  Stmt stmt(raw);
  stmt.Bind(1, account_id);
  std::vector<Topic> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    Topic t;
    t.id = sqlite3_column_int64(raw, 0);
    t.account_id = sqlite3_column_int64(raw, 1);
    t.name = ColumnText(raw, 2);
    t.created = FromUnixMillis(sqlite3_column_int64(raw, 3));
    out.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) return Error(rc, "list topics");
  return out;
}

Status SqliteStore::DeleteTopic(int64_t account_id, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("DELETE FROM topics WHERE account_id = ? AND name = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Bind(2, name).Step();
  if (rc != SQLITE_DONE) return Error(rc, "delete topic");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such topic");
  return Status::Ok();
}

StatusOr<int64_t> SqliteStore::CreateSubscription(const TopicSubscription& s) {
  RETURN_IF_ERROR(ValidateSubscription(s));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("INSERT INTO topic_subscriptions (topic_id, endpoint, token, "
                           "confirmed, raw, created_ms, start_offset) VALUES (?, ?, ?, ?, ?, ?, ?) "
                           "RETURNING id"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, s.topic_id)
               .Bind(2, s.endpoint)
               .Bind(3, s.token)
               .Bind(4, static_cast<int64_t>(s.confirmed ? 1 : 0))
               .Bind(5, static_cast<int64_t>(s.raw ? 1 : 0))
               .Bind(6, UnixMillis(s.created))
               .Bind(7, static_cast<int64_t>(s.start_offset))
               .Step();
  if (rc != SQLITE_ROW) return Error(rc, "create subscription");
  return sqlite3_column_int64(raw, 0);
}

StatusOr<TopicSubscription> SqliteStore::GetSubscription(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT id, topic_id, endpoint, token, confirmed, raw, created_ms, "
                           "start_offset FROM topic_subscriptions WHERE id = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, id).Step();
  if (rc == SQLITE_DONE) return NotFoundError("store: no such subscription");
  if (rc != SQLITE_ROW) return Error(rc, "get subscription");
  return ReadSubscription(raw);
}

StatusOr<TopicSubscription> SqliteStore::FindSubscriptionByToken(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT id, topic_id, endpoint, token, confirmed, raw, created_ms, "
                           "start_offset FROM topic_subscriptions WHERE token = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, token).Step();
  if (rc == SQLITE_DONE) return NotFoundError("store: no such subscription");
  if (rc != SQLITE_ROW) return Error(rc, "find subscription");
  return ReadSubscription(raw);
}

Status SqliteStore::ConfirmSubscription(int64_t id, uint64_t start_offset) {
  RETURN_IF_ERROR(CheckOffset(start_offset));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("UPDATE topic_subscriptions SET start_offset = CASE confirmed WHEN 1 "
                           "THEN start_offset ELSE ?2 END, confirmed = 1 WHERE id = ?1"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, id).Bind(2, static_cast<int64_t>(start_offset)).Step();
  if (rc != SQLITE_DONE) return Error(rc, "confirm subscription");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such subscription");
  return Status::Ok();
}

Status SqliteStore::DeleteSubscription(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare("DELETE FROM topic_subscriptions WHERE id = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, id).Step();
  if (rc != SQLITE_DONE) return Error(rc, "delete subscription");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such subscription");
  return Status::Ok();
}

StatusOr<std::vector<TopicSubscription>> SqliteStore::ListSubscriptions(int64_t topic_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT id, topic_id, endpoint, token, confirmed, raw, created_ms, "
                           "start_offset FROM topic_subscriptions WHERE topic_id = ? ORDER BY id"));
  Stmt stmt(raw);
  stmt.Bind(1, topic_id);
  std::vector<TopicSubscription> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) out.push_back(ReadSubscription(raw));
  if (rc != SQLITE_DONE) return Error(rc, "list subscriptions");
  return out;
}

StatusOr<std::vector<std::pair<Topic, TopicSubscription>>> SqliteStore::ListPendingSubscriptions() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT s.id, s.topic_id, s.endpoint, s.token, s.confirmed, s.raw, "
                           "s.created_ms, s.start_offset, t.account_id, t.name, t.created_ms "
                           "FROM "
                           "topic_subscriptions s JOIN topics t ON t.id = s.topic_id WHERE "
                           "s.confirmed = 0 ORDER BY s.id"));
  Stmt stmt(raw);
  std::vector<std::pair<Topic, TopicSubscription>> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    Topic t;
    t.id = sqlite3_column_int64(raw, 1);
    t.account_id = sqlite3_column_int64(raw, 8);
    t.name = ColumnText(raw, 9);
    t.created = FromUnixMillis(sqlite3_column_int64(raw, 10));
    out.emplace_back(std::move(t), ReadSubscription(raw));
  }
  if (rc != SQLITE_DONE) return Error(rc, "list pending subscriptions");
  return out;
}

}  // namespace herald::store
