#include "study_db.hpp"

#include <sqlite3.h>

#include <random>

#include "circumplex/error.hpp"

namespace circumplex::tools {

namespace {
/// A prepared statement that finalises itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql, const std::string& path) : db_(db), path_(path) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& bind(int i, const std::string& s) {
    if (sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT) != SQLITE_OK) fail("bind");
    return *this;
  }
  Stmt& bind(int i, int v) {
    if (sqlite3_bind_int(stmt_, i, v) != SQLITE_OK) fail("bind");
    return *this;
  }
  /// SQLITE_ROW, SQLITE_DONE or SQLITE_CONSTRAINT; anything else throws.
  int step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) return rc;
    if ((rc & 0xff) == SQLITE_CONSTRAINT) return SQLITE_CONSTRAINT;
    fail("step");
    return rc;
  }
  std::string text(int col) const {
    const unsigned char* s = sqlite3_column_text(stmt_, col);
    return s ? reinterpret_cast<const char*>(s) : "";
  }
  int integer(int col) const { return sqlite3_column_int(stmt_, col); }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw Error(ErrorKind::Io, path_ + ": SQLite " + what + " failed: " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  const std::string& path_;
};

std::string random_token() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string t;
  for (int i = 0; i < 4; ++i) {
    const std::uint32_t r = rd();
    for (int k = 0; k < 8; ++k) t.push_back(hex[(r >> (4 * k)) & 15]);
  }
  return t;
}

const char* kind_name(RaterKind k) { return k == RaterKind::Judge ? "judge" : "human"; }
}  // namespace

StudyDb::StudyDb(const std::string& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw Error(ErrorKind::Io, path + ": cannot open the votes database: " + why);
  }
  sqlite3_busy_timeout(db_, 5000);
  try {
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA foreign_keys=ON");
    exec("CREATE TABLE IF NOT EXISTS raters (token TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('human','judge')),"
         " created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))");
    exec("CREATE TABLE IF NOT EXISTS votes (id INTEGER PRIMARY KEY, rater TEXT NOT NULL REFERENCES raters(token), image TEXT NOT NULL,"
         " score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5), at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
         " UNIQUE (rater, image))");
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

StudyDb::~StudyDb() { sqlite3_close(db_); }

void StudyDb::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string why = message ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    throw Error(ErrorKind::Io, path_ + ": SQLite: " + why + " (in: " + sql + ")");
  }
}

std::string StudyDb::add_rater(const std::string& name, RaterKind kind) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (;;) {  // a collision of 128 random bits is not expected; retry anyway
    const std::string token = random_token();
    Stmt s(db_, "INSERT INTO raters (token, name, kind) VALUES (?, ?, ?)", path_);
    if (s.bind(1, token).bind(2, name).bind(3, std::string(kind_name(kind))).step() == SQLITE_DONE) return token;
  }
}

bool StudyDb::ensure_rater(const std::string& token, const std::string& name, RaterKind kind) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_, "INSERT INTO raters (token, name, kind) VALUES (?, ?, ?)", path_);
  return s.bind(1, token).bind(2, name).bind(3, std::string(kind_name(kind))).step() == SQLITE_DONE;
}

std::optional<Rater> StudyDb::rater(const std::string& token) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_, "SELECT name, kind FROM raters WHERE token = ?", path_);
  if (s.bind(1, token).step() != SQLITE_ROW) return std::nullopt;
  return Rater{token, s.text(0), s.text(1) == "judge" ? RaterKind::Judge : RaterKind::Human};
}

std::vector<Rater> StudyDb::raters() {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_, "SELECT token, name, kind FROM raters ORDER BY created, token", path_);
  std::vector<Rater> out;
  while (s.step() == SQLITE_ROW) out.push_back({s.text(0), s.text(1), s.text(2) == "judge" ? RaterKind::Judge : RaterKind::Human});
  return out;
}

VoteResult StudyDb::vote(const std::string& rater, const std::string& image, int score) {
  std::lock_guard<std::mutex> lock(mutex_);
  {
    Stmt known(db_, "SELECT 1 FROM raters WHERE token = ?", path_);
    if (known.bind(1, rater).step() != SQLITE_ROW) return VoteResult::UnknownRater;
  }
  Stmt s(db_, "INSERT INTO votes (rater, image, score) VALUES (?, ?, ?)", path_);
  return s.bind(1, rater).bind(2, image).bind(3, score).step() == SQLITE_DONE ? VoteResult::Stored : VoteResult::Duplicate;
}

std::vector<std::string> StudyDb::rated(const std::string& rater) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_, "SELECT image FROM votes WHERE rater = ?", path_);
  s.bind(1, rater);
  std::vector<std::string> out;
  while (s.step() == SQLITE_ROW) out.push_back(s.text(0));
  return out;
}

std::vector<Vote> StudyDb::votes() {
  std::lock_guard<std::mutex> lock(mutex_);
  Stmt s(db_, "SELECT rater, image, score, at FROM votes ORDER BY id", path_);
  std::vector<Vote> out;
  while (s.step() == SQLITE_ROW) out.push_back({s.text(0), s.text(1), s.integer(2), s.text(3)});
  return out;
}

}  // namespace circumplex::tools
