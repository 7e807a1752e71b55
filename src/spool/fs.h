// spool/fs.h: the small filesystem seam under the spool and the JSONL event log.
//
// Contract: Fs is the only way spool/ and events/ touch files, so tests can swap in
// tests/fakes/faulty_fs.h, which remembers what has been synced and simulates a crash.
// Durability follows POSIX conservatively: bytes written by File::Append are durable only
// after File::Sync (fdatasync) returns OK; a created, renamed or removed directory entry
// is durable only after Fs::SyncDir on its directory returns OK. Truncate is durable when
// it returns. After a failed Sync the state of the file is unknown: callers must not retry
// and assume success (the "fsyncgate" rule).
// Errors: kNotFound for a missing path, kFailedPrecondition for a held lock, kUnavailable
// for every other I/O error (the message carries strerror).
// Thread-safety: an Fs is safe from any thread; a File may be used from several threads
// for ReadAt, but Append/Sync/Truncate on one File need external serialisation.
// Trust: paths come from herald's configuration, never from the network.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace herald::spool {

class File {
 public:
  virtual ~File() = default;
  // Appends the parts, in order, at the end of the file (one writev where possible).
  // On error an unknown prefix of the parts may have reached the file.
  virtual Status Append(std::span<const std::string_view> parts) = 0;
  // pread: reads up to n bytes at offset into out; fewer only at end of file.
  virtual StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* out) = 0;
  // fdatasync: makes every appended byte durable.
  virtual Status Sync() = 0;
  virtual StatusOr<uint64_t> Size() = 0;
};

using FilePtr = std::unique_ptr<File>;

// Held until destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

enum class OpenMode {
  kRead,    // read-only; kNotFound if missing
  kAppend,  // read + append; created (mode 0640) if missing
};

class Fs {
 public:
  virtual ~Fs() = default;

  virtual StatusOr<FilePtr> Open(const std::string& path, OpenMode mode) = 0;
  // fsync of a directory: makes its entries (creations, renames, removals) durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status Remove(const std::string& path) = 0;
  // Names (not paths) of the regular entries of dir, unsorted.
  virtual StatusOr<std::vector<std::string>> List(const std::string& dir) = 0;
  // Cuts the file to size bytes and syncs it.
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  // Creates the directory (and durably links it) unless it exists.
  virtual Status CreateDir(const std::string& dir) = 0;
  // An exclusive advisory lock (flock) on path, created if missing; kFailedPrecondition
  // if another holder has it.
  virtual StatusOr<std::unique_ptr<FileLock>> Lock(const std::string& path) = 0;
};

// The real thing: open/writev/pread/fdatasync/fsync on POSIX.
Fs& PosixFs();

// Reads a whole file (bounded: kResourceExhausted above max_bytes).
StatusOr<std::string> ReadWholeFile(Fs& fs, const std::string& path, uint64_t max_bytes);

}  // namespace herald::spool
