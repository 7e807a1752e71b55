#include "sending/feedback_inbox.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <span>

#include "base/crypto.h"
#include "base/log.h"

namespace herald::sending {
namespace {

constexpr std::string_view kMsgSuffix = ".msg";
constexpr std::string_view kTmpSuffix = ".tmp";
constexpr std::string_view kJsonSuffix = ".json";
constexpr uint64_t kMaxFileBytes = uint64_t{1} << 30;

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix.data(), suffix.size()) == 0;
}

// Ids of the files in `names` that end in `suffix`, sorted.
std::vector<std::string> IdsWithSuffix(const std::vector<std::string>& names,
                                       std::string_view suffix) {
  std::vector<std::string> ids;
  for (const auto& n : names) {
    if (!EndsWith(n, suffix)) continue;
    std::string id = n.substr(0, n.size() - suffix.size());
    if (FeedbackInbox::ValidId(id)) ids.push_back(std::move(id));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

bool FeedbackInbox::ValidId(const std::string& id) {
  if (id.size() != 33 || id[16] != '-') return false;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 16) continue;
    const char c = id[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

StatusOr<std::unique_ptr<FeedbackInbox>> FeedbackInbox::Open(spool::Fs& fs, std::string dir,
                                                             size_t max_orphans) {
  std::unique_ptr<FeedbackInbox> inbox(new FeedbackInbox(fs, std::move(dir), max_orphans));
  RETURN_IF_ERROR(fs.CreateDir(inbox->dir_));
  RETURN_IF_ERROR(fs.CreateDir(inbox->dir_ + "/incoming"));
  RETURN_IF_ERROR(fs.CreateDir(inbox->dir_ + "/orphans"));
  ASSIGN_OR_RETURN(std::vector<std::string> names, fs.List(inbox->dir_ + "/incoming"));
  for (const auto& n : names) {
    if (EndsWith(n, kTmpSuffix)) {
      // Never acknowledged: the client was not told 250 and will send it again.
      fs.Remove(inbox->Incoming(n)).IgnoreError();
    }
  }
  ASSIGN_OR_RETURN(std::vector<std::string> orphans, fs.List(inbox->dir_ + "/orphans"));
  std::vector<std::string> ids = IdsWithSuffix(orphans, kMsgSuffix);
  inbox->orphan_ids_.assign(ids.begin(), ids.end());
  return inbox;
}

Status FeedbackInbox::WriteDurably(const std::string& path,
                                   const std::vector<std::string_view>& parts) {
  ASSIGN_OR_RETURN(spool::FilePtr f, fs_.Open(path, spool::OpenMode::kAppend));
  RETURN_IF_ERROR(f->Append(std::span<const std::string_view>(parts.data(), parts.size())));
  return f->Sync();
}

Status FeedbackInbox::Store(InboundFeedback& m) {
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "%016llx-",
                static_cast<unsigned long long>(UnixMillis(m.received)));
  m.id = std::string(prefix) + HexEncode(RandomBytes(8));
  const std::string envelope = nlohmann::json({{"v", 1},
                                               {"id", m.id},
                                               {"received", FormatIso8601Millis(m.received)},
                                               {"peer", m.peer_ip},
                                               {"mail_from", m.mail_from},
                                               {"recipients", m.recipients}})
                                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string tmp = Incoming(m.id + std::string(kTmpSuffix));
  Status st = WriteDurably(tmp, {envelope, "\n", m.message});
  if (st.ok()) st = fs_.Rename(tmp, Incoming(m.id + std::string(kMsgSuffix)));
  if (st.ok()) st = fs_.SyncDir(dir_ + "/incoming");
  if (!st.ok()) {
    fs_.Remove(tmp).IgnoreError();
    return UnavailableError("feedback message not stored: " + st.message());
  }
  return Status::Ok();
}

StatusOr<std::vector<std::string>> FeedbackInbox::Pending() {
  ASSIGN_OR_RETURN(std::vector<std::string> names, fs_.List(dir_ + "/incoming"));
  return IdsWithSuffix(names, kMsgSuffix);
}

StatusOr<InboundFeedback> FeedbackInbox::Read(const std::string& id) {
  if (!ValidId(id)) return InvalidArgumentError("not a feedback id: " + id);
  ASSIGN_OR_RETURN(
      std::string data,
      spool::ReadWholeFile(fs_, Incoming(id + std::string(kMsgSuffix)), kMaxFileBytes));
  const size_t nl = data.find('\n');
  nlohmann::json env = nlohmann::json::parse(
      std::string_view(data).substr(0, nl == std::string::npos ? data.size() : nl), nullptr, false);
  if (nl == std::string::npos || !env.is_object() || !env.contains("recipients") ||
      !env["recipients"].is_array()) {
    return DataLossError("feedback file " + id + " has no envelope line");
  }
  InboundFeedback m;
  m.id = id;
  m.peer_ip = env.value("peer", std::string());
  m.mail_from = env.value("mail_from", std::string());
  for (const auto& r : env["recipients"]) {
    if (r.is_string()) m.recipients.push_back(r.get<std::string>());
  }
  // The id carries the arrival time.
  m.received = FromUnixMillis(static_cast<int64_t>(std::stoull(id.substr(0, 16), nullptr, 16)));
  m.message = data.substr(nl + 1);
  return m;
}

Status FeedbackInbox::Remove(const std::string& id) {
  if (!ValidId(id)) return InvalidArgumentError("not a feedback id: " + id);
  return fs_.Remove(Incoming(id + std::string(kMsgSuffix)));
}

Status FeedbackInbox::KeepOrphan(const std::string& id, const std::string& description_json) {
  if (!ValidId(id)) return InvalidArgumentError("not a feedback id: " + id);
  if (max_orphans_ == 0) return Remove(id);
  RETURN_IF_ERROR(WriteDurably(Orphans(id + std::string(kJsonSuffix)), {description_json, "\n"}));
  RETURN_IF_ERROR(
      fs_.Rename(Incoming(id + std::string(kMsgSuffix)), Orphans(id + std::string(kMsgSuffix))));
  RETURN_IF_ERROR(fs_.SyncDir(dir_ + "/orphans"));
  std::vector<std::string> prune;
  {
    std::lock_guard<std::mutex> lock(mu_);
    orphan_ids_.push_back(id);
    while (orphan_ids_.size() > max_orphans_) {
      prune.push_back(std::move(orphan_ids_.front()));
      orphan_ids_.pop_front();
      ++pruned_;
    }
  }
  for (const auto& old : prune) {
    fs_.Remove(Orphans(old + std::string(kMsgSuffix))).IgnoreError();
    fs_.Remove(Orphans(old + std::string(kJsonSuffix))).IgnoreError();
    LogInfo("feedback orphan pruned", {{"id", old}});
  }
  return Status::Ok();
}

size_t FeedbackInbox::orphans() const {
  std::lock_guard<std::mutex> lock(mu_);
  return orphan_ids_.size();
}

uint64_t FeedbackInbox::pruned() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pruned_;
}

}  // namespace herald::sending
