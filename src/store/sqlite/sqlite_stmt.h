// store/sqlite/sqlite_stmt.h: SqliteStore's statement guard, shared by its .cc files.
//
// Contract: a Stmt wraps a cached prepared statement for the duration of one call; its
// destructor resets it and clears its bindings so the cache can hand it out again. Bind
// errors are kept and returned by Step().
// Thread-safety: used with SqliteStore::mu_ held. Trust: internal to the SQLite store.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "store/sqlite/sqlite_store.h"

namespace herald::store {

class SqliteStore::Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, int64_t v) {
    Check(sqlite3_bind_int64(s_, i, v));
    return *this;
  }
  Stmt& Bind(int i, const std::string& v) {
    Check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& Bind(int i, const char* v) {
    Check(sqlite3_bind_text(s_, i, v, -1, SQLITE_TRANSIENT));
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an (extended) error code.
  int Step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(s_); }
  sqlite3_stmt* get() const { return s_; }

 private:
  void Check(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }
  sqlite3_stmt* s_;
  int bind_rc_ = SQLITE_OK;
};

// Column i of the current row as text ("" for NULL).
inline std::string ColumnText(sqlite3_stmt* s, int i) {
  const unsigned char* p = sqlite3_column_text(s, i);
  int n = sqlite3_column_bytes(s, i);
  if (p == nullptr || n <= 0) return std::string();
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
}

}  // namespace herald::store
