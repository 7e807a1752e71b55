// tests/fakes/faulty_fs.h: an in-memory spool::Fs that knows what is durable and can crash.
//
// Contract: like LevelDB's FaultInjectionTestEnv. Every file remembers the bytes covered by
// its last successful Sync(); every directory remembers the entries covered by its last
// SyncDir(). Crash() models power loss: by default every unsynced byte and every unsynced
// directory operation (create, rename, remove) is dropped; with a non-zero seed a random
// prefix of each file's unsynced bytes survives (sometimes garbled, like a torn sector) and
// each unsynced directory operation independently survives or not, in order. After a crash
// every call fails with kUnavailable until Restart(); old File handles stay dead.
// CrashAfterOps(n) crashes on the (n+1)-th mutating call (Append, Sync, SyncDir, Rename,
// Remove, Truncate, create), which then fails. Fault switches make Sync / SyncDir / Append
// fail (an Append that fails writes half its bytes first).
// Thread-safety: every method is safe from any thread (one mutex).
// Trust: test-only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "spool/fs.h"

namespace herald::spool {

class FaultyFs final : public Fs {
 public:
  FaultyFs() { dirs_.insert("/"); }

  // --- fault and crash controls ---
  void FailSyncs(bool on) {
    std::lock_guard<std::mutex> l(mu_);
    fail_syncs_ = on;
  }
  void FailDirSyncs(bool on) {
    std::lock_guard<std::mutex> l(mu_);
    fail_dir_syncs_ = on;
  }
  void FailWrites(bool on) {
    std::lock_guard<std::mutex> l(mu_);
    fail_writes_ = on;
  }
  // Crash when n more mutating calls have succeeded; seed as for Crash(). n < 0 disables.
  void CrashAfterOps(int64_t n, uint64_t seed = 0) {
    std::lock_guard<std::mutex> l(mu_);
    crash_after_ = n;
    crash_seed_ = seed;
  }
  void Crash(uint64_t seed = 0) {
    std::lock_guard<std::mutex> l(mu_);
    CrashLocked(seed);
  }
  bool crashed() const {
    std::lock_guard<std::mutex> l(mu_);
    return crashed_;
  }
  void Restart() {
    std::lock_guard<std::mutex> l(mu_);
    crashed_ = false;
    crash_after_ = -1;
  }
  uint64_t sync_count() const {
    std::lock_guard<std::mutex> l(mu_);
    return syncs_;
  }

  // --- direct access for tests (bypass faults; writes are durable) ---
  std::optional<std::string> ContentsForTest(const std::string& path) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = entries_.find(path);
    if (it == entries_.end()) {
      return std::nullopt;
    }
    return it->second->data;
  }
  void WriteFileForTest(const std::string& path, std::string data) {
    std::lock_guard<std::mutex> l(mu_);
    auto inode = std::make_shared<Inode>();
    inode->data = data;
    inode->synced = std::move(data);
    entries_[path] = inode;
    durable_[path] = inode;
  }
  void FlipBitForTest(const std::string& path, uint64_t offset) {
    std::lock_guard<std::mutex> l(mu_);
    Inode& n = *entries_.at(path);
    n.data.at(offset) ^= 0x10;
    if (offset < n.synced.size()) {
      n.synced[offset] ^= 0x10;
    }
  }
  std::vector<std::string> ListForTest(const std::string& dir) const {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<std::string> out;
    for (const auto& [path, inode] : entries_) {
      if (DirOf(path) == dir) {
        out.push_back(path.substr(dir.size() + 1));
      }
    }
    return out;
  }

  // --- Fs ---
  StatusOr<FilePtr> Open(const std::string& path, OpenMode mode) override {
    std::lock_guard<std::mutex> l(mu_);
    if (crashed_) {
      return Dead();
    }
    auto it = entries_.find(path);
    if (it == entries_.end()) {
      if (mode == OpenMode::kRead || dirs_.count(DirOf(path)) == 0) {
        return NotFoundError("no such file: " + path);
      }
      RETURN_IF_ERROR(TickLocked());
      auto inode = std::make_shared<Inode>();
      entries_[path] = inode;
      pending_.push_back({DirOp::kCreate, path, "", inode});
      return FilePtr(new FaultyFile(this, inode, generation_));
    }
    return FilePtr(new FaultyFile(this, it->second, generation_));
  }

  Status SyncDir(const std::string& dir) override {
    std::lock_guard<std::mutex> l(mu_);
    if (crashed_) {
      return Dead();
    }
    RETURN_IF_ERROR(TickLocked());
    if (fail_dir_syncs_) {
      return UnavailableError("injected: fsync dir " + dir + " failed");
    }
    ++syncs_;
    for (auto it = durable_.begin(); it != durable_.end();) {
      it = DirOf(it->first) == dir ? durable_.erase(it) : std::next(it);
    }
    for (const auto& [path, inode] : entries_) {
      if (DirOf(path) == dir) {
        durable_[path] = inode;
      }
    }
    std::vector<DirOp> rest;
    for (DirOp& op : pending_) {
      if (DirOf(op.path) != dir) {
        rest.push_back(std::move(op));
      }
    }
    pending_ = std::move(rest);
    return Status::Ok();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    std::lock_guard<std::mutex> l(mu_);
    if (crashed_) {
      return Dead();
    }
    auto it = entries_.find(from);
    if (it == entries_.end()) {
      return NotFoundError("no such file: " + from);
    }
    RETURN_IF_ERROR(TickLocked());
    auto inode = it->second;
    entries_.erase(it);
    entries_[to] = inode;
    pending_.push_back({DirOp::kRename, from, to, inode});
    return Status::Ok();
  }

  Status Remove(const std::string& path) override {
    std::lock_guard<std::mutex> l(mu_);
    if (crashed_) {
      return Dead();
    }
    if (entries_.count(path) == 0) {
      return NotFoundError("no such file: " + path);
    }
    RETURN_IF_ERROR(TickLocked());
    entries_.erase(path);
    pending_.push_back({DirOp::kRemove, path, "", nullptr});
    return Status::Ok();
  }

  StatusOr<std::vector<std::string>> List(const std::string& dir) override {
    std::lock_guard<std::mutex> l(mu_);
    if (crashed_) {
      return Dead();
    }
    if (dirs_.count(dir) == 0) {
      return NotFoundError("no such directory: " + dir);
    }
    std::vector<std::string> out;
    for (const auto& [path, inode] : entries_) {
      if (DirOf(path) == dir) {
        out.push_back(path.substr(dir.size() + 1));
      }
    }
    return out;
  }

  Status Truncate(const std::string& path, uint64_t size) override {
    std::lock_guard<std::mutex> l(mu_);
    if (crashed_) {
      return Dead();
    }
    auto it = entries_.find(path);
    if (it == entries_.end()) {
      return NotFoundError("no such file: " + path);
    }
    RETURN_IF_ERROR(TickLocked());
    Inode& n = *it->second;
    if (size < n.data.size()) {
      n.data.resize(size);
    }
    n.synced = n.data;
    return Status::Ok();
  }

  Status CreateDir(const std::string& dir) override {
    std::lock_guard<std::mutex> l(mu_);
    if (crashed_) {
      return Dead();
    }
    dirs_.insert(dir);
    return Status::Ok();
  }

  StatusOr<std::unique_ptr<FileLock>> Lock(const std::string& path) override {
    std::lock_guard<std::mutex> l(mu_);
    if (crashed_) {
      return Dead();
    }
    if (!locks_.insert(path).second) {
      return FailedPreconditionError(path + " is locked");
    }
    return std::unique_ptr<FileLock>(new FaultyLock(this, path, generation_));
  }

 private:
  struct Inode {
    std::string data;    // what reads see
    std::string synced;  // what survives a crash
  };
  struct DirOp {
    enum Kind { kCreate, kRename, kRemove } kind;
    std::string path;
    std::string to;
    std::shared_ptr<Inode> inode;
  };

  class FaultyFile final : public File {
   public:
    FaultyFile(FaultyFs* fs, std::shared_ptr<Inode> inode, uint64_t gen)
        : fs_(fs), inode_(std::move(inode)), gen_(gen) {}

    Status Append(std::span<const std::string_view> parts) override {
      std::lock_guard<std::mutex> l(fs_->mu_);
      RETURN_IF_ERROR(fs_->LiveLocked(gen_));
      RETURN_IF_ERROR(fs_->TickLocked());
      std::string all;
      for (std::string_view p : parts) {
        all.append(p);
      }
      if (fs_->fail_writes_) {
        inode_->data.append(all.substr(0, all.size() / 2));
        return UnavailableError("injected: write failed");
      }
      inode_->data.append(all);
      return Status::Ok();
    }
    StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* out) override {
      std::lock_guard<std::mutex> l(fs_->mu_);
      RETURN_IF_ERROR(fs_->LiveLocked(gen_));
      const std::string& d = inode_->data;
      if (offset >= d.size()) {
        return size_t{0};
      }
      size_t k = std::min<size_t>(n, d.size() - offset);
      std::copy_n(d.data() + offset, k, out);
      return k;
    }
    Status Sync() override {
      std::lock_guard<std::mutex> l(fs_->mu_);
      RETURN_IF_ERROR(fs_->LiveLocked(gen_));
      RETURN_IF_ERROR(fs_->TickLocked());
      if (fs_->fail_syncs_) {
        return UnavailableError("injected: fdatasync failed");
      }
      ++fs_->syncs_;
      inode_->synced = inode_->data;
      return Status::Ok();
    }
    StatusOr<uint64_t> Size() override {
      std::lock_guard<std::mutex> l(fs_->mu_);
      RETURN_IF_ERROR(fs_->LiveLocked(gen_));
      return static_cast<uint64_t>(inode_->data.size());
    }

   private:
    FaultyFs* fs_;
    std::shared_ptr<Inode> inode_;
    uint64_t gen_;
  };

  class FaultyLock final : public FileLock {
   public:
    FaultyLock(FaultyFs* fs, std::string path, uint64_t gen)
        : fs_(fs), path_(std::move(path)), gen_(gen) {}
    ~FaultyLock() override {
      std::lock_guard<std::mutex> l(fs_->mu_);
      if (fs_->generation_ == gen_) {
        fs_->locks_.erase(path_);
      }
    }

   private:
    FaultyFs* fs_;
    std::string path_;
    uint64_t gen_;
  };

  static std::string DirOf(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) {
      return ".";
    }
    return slash == 0 ? "/" : path.substr(0, slash);
  }
  static Status Dead() { return UnavailableError("injected: the machine has crashed"); }

  Status LiveLocked(uint64_t gen) const {
    if (crashed_ || gen != generation_) {
      return Dead();
    }
    return Status::Ok();
  }

  // Counts a mutating call; crashes when the budget is spent.
  Status TickLocked() {
    if (crash_after_ == 0) {
      CrashLocked(crash_seed_);
      return Dead();
    }
    if (crash_after_ > 0) {
      --crash_after_;
    }
    return Status::Ok();
  }

  void CrashLocked(uint64_t seed) {
    std::mt19937_64 rng(seed);
    if (seed != 0) {
      for (const DirOp& op : pending_) {
        if (rng() % 2 == 0) {
          continue;
        }
        switch (op.kind) {
          case DirOp::kCreate:
            durable_[op.path] = op.inode;
            break;
          case DirOp::kRename:
            durable_.erase(op.path);
            durable_[op.to] = op.inode;
            break;
          case DirOp::kRemove:
            durable_.erase(op.path);
            break;
        }
      }
    }
    pending_.clear();
    for (auto& [path, inode] : durable_) {
      Inode& n = *inode;
      std::string kept = n.synced;
      if (seed != 0 && n.data.size() > n.synced.size() &&
          n.data.compare(0, n.synced.size(), n.synced) == 0) {
        size_t extra = n.data.size() - n.synced.size();
        size_t keep = static_cast<size_t>(rng() % (extra + 1));
        std::string tail = n.data.substr(n.synced.size(), keep);
        if (rng() % 4 == 0) {
          for (char& c : tail) {
            c = static_cast<char>(rng() % 3 == 0 ? 0 : c ^ 0x5A);
          }
        }
        kept += tail;
      }
      n.data = kept;
      n.synced = std::move(kept);
    }
    entries_ = durable_;
    locks_.clear();
    ++generation_;
    crashed_ = true;
    crash_after_ = -1;
  }

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Inode>> entries_;
  std::map<std::string, std::shared_ptr<Inode>> durable_;
  std::vector<DirOp> pending_;
  std::set<std::string> dirs_;
  std::set<std::string> locks_;
  uint64_t generation_ = 1;
  bool crashed_ = false;
  bool fail_syncs_ = false;
  bool fail_dir_syncs_ = false;
  bool fail_writes_ = false;
  int64_t crash_after_ = -1;
  uint64_t crash_seed_ = 0;
  uint64_t syncs_ = 0;
};

}  // namespace herald::spool
