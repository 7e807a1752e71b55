#include "spool/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace herald::spool {
namespace {

Status ErrnoStatus(std::string_view what, const std::string& path, int err) {
  std::string msg = std::string(what) + " " + path + ": " + std::strerror(err);
  if (err == ENOENT) {
    return NotFoundError(std::move(msg));
  }
  return UnavailableError(std::move(msg));
}

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { ::close(fd_); }

  Status Append(std::span<const std::string_view> parts) override {
    // Copy into iovecs we can advance over partial writes.
    std::vector<iovec> iov;
    iov.reserve(parts.size());
    for (std::string_view p : parts) {
      if (!p.empty()) {
        iov.push_back({const_cast<char*>(p.data()), p.size()});
      }
    }
    size_t first = 0;
    while (first < iov.size()) {
      int count = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
      ssize_t n = ::writev(fd_, &iov[first], count);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return ErrnoStatus("writev", path_, errno);
      }
      if (n == 0) {
        return UnavailableError("writev " + path_ + ": wrote nothing");
      }
      size_t left = static_cast<size_t>(n);
      while (left > 0 && first < iov.size()) {
        if (left >= iov[first].iov_len) {
          left -= iov[first].iov_len;
          ++first;
        } else {
          iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
          iov[first].iov_len -= left;
          left = 0;
        }
      }
    }
    return Status::Ok();
  }

  StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* out) override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) {
          continue;
        }
        return ErrnoStatus("pread", path_, errno);
      }
      if (r == 0) {
        break;
      }
      done += static_cast<size_t>(r);
    }
    return done;
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) {
      return ErrnoStatus("fdatasync", path_, errno);
    }
    return Status::Ok();
  }

  StatusOr<uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) {
      return ErrnoStatus("fstat", path_, errno);
    }
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  int fd_;
  std::string path_;
};

class PosixLock final : public FileLock {
 public:
  explicit PosixLock(int fd) : fd_(fd) {}
  ~PosixLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
};

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  if (slash == 0) {
    return "/";
  }
  return path.substr(0, slash);
}

class PosixFsImpl final : public Fs {
 public:
  StatusOr<FilePtr> Open(const std::string& path, OpenMode mode) override {
    int flags = O_CLOEXEC;
    flags |= mode == OpenMode::kRead ? O_RDONLY : (O_RDWR | O_CREAT | O_APPEND);
    int fd = ::open(path.c_str(), flags, 0640);
    if (fd < 0) {
      return ErrnoStatus("open", path, errno);
    }
    return FilePtr(new PosixFile(fd, path));
  }

  Status SyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      return ErrnoStatus("open dir", dir, errno);
    }
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) {
      return ErrnoStatus("fsync dir", dir, err);
    }
    return Status::Ok();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoStatus("rename", from, errno);
    }
    return Status::Ok();
  }

  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) {
      return ErrnoStatus("unlink", path, errno);
    }
    return Status::Ok();
  }

  StatusOr<std::vector<std::string>> List(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
      return ErrnoStatus("opendir", dir, errno);
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (name == "." || name == "..") {
        continue;
      }
      names.emplace_back(name);
    }
    ::closedir(d);
    return names;
  }

  Status Truncate(const std::string& path, uint64_t size) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      return ErrnoStatus("open", path, errno);
    }
    Status s;
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      s = ErrnoStatus("ftruncate", path, errno);
    } else if (::fsync(fd) != 0) {
      s = ErrnoStatus("fsync", path, errno);
    }
    ::close(fd);
    return s;
  }

  Status CreateDir(const std::string& dir) override {
    if (::mkdir(dir.c_str(), 0750) == 0) {
      return SyncDir(DirOf(dir));
    }
    if (errno == EEXIST) {
      struct stat st;
      if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        return Status::Ok();
      }
      return FailedPreconditionError(dir + " exists and is not a directory");
    }
    return ErrnoStatus("mkdir", dir, errno);
  }

  StatusOr<std::unique_ptr<FileLock>> Lock(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
      return ErrnoStatus("open", path, errno);
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return FailedPreconditionError(path + " is locked by another process");
      }
      return ErrnoStatus("flock", path, err);
    }
    return std::unique_ptr<FileLock>(new PosixLock(fd));
  }
};

}  // namespace

Fs& PosixFs() {
  static PosixFsImpl* fs = new PosixFsImpl();
  return *fs;
}

StatusOr<std::string> ReadWholeFile(Fs& fs, const std::string& path, uint64_t max_bytes) {
  ASSIGN_OR_RETURN(FilePtr file, fs.Open(path, OpenMode::kRead));
  ASSIGN_OR_RETURN(uint64_t size, file->Size());
  if (size > max_bytes) {
    return ResourceExhaustedError(path + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::string data(static_cast<size_t>(size), '\0');
  ASSIGN_OR_RETURN(size_t n, file->ReadAt(0, data.size(), data.data()));
  data.resize(n);
  return data;
}

}  // namespace herald::spool
