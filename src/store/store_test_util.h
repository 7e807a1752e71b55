// store/store_test_util.h: test-only helpers shared by the store tests.
//
// Contract: TempDir creates a fresh 0700 directory under the test temp dir and removes it
// (recursively) when destroyed. Thread-safety: none needed. Trust: test-only.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace herald::store {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "herald_store_XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    if (p == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
      return;
    }
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace herald::store
