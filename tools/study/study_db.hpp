// tools/study/study_db.hpp — the study's votes in SQLite.
//
// One file holds the raters and their votes. It is opened in WAL mode with synchronous=FULL,
// and every write is its own transaction: when a call returns, the vote is on disk, so the
// server replies 201 only for votes that survive a kill -9 or a power cut. A rater votes on an
// image at most once (a UNIQUE constraint, not a check-then-insert race). One StudyDb is safe
// to share between threads (calls are serialised).
//
//   StudyDb db("votes.sqlite");
//   const std::string token = db.add_rater("Ada", RaterKind::Human);
//   db.vote(token, "2d-p1-017", 4);   // → VoteResult::Stored, then Duplicate on a second try
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace circumplex::tools {

enum class RaterKind { Human, Judge };
enum class VoteResult { Stored, Duplicate, UnknownRater };

struct Rater {
  std::string token, name;
  RaterKind kind = RaterKind::Human;
};

struct Vote {
  std::string rater;  ///< token
  std::string image;
  int score = 0;
  std::string at;     ///< UTC, ISO 8601
};

class StudyDb {
 public:
  /// Opens or creates the database; throws circumplex::Error naming the file.
  explicit StudyDb(const std::string& path);
  ~StudyDb();
  StudyDb(const StudyDb&) = delete;
  StudyDb& operator=(const StudyDb&) = delete;

  /// A new rater with a fresh random token (128 bits, hex).
  std::string add_rater(const std::string& name, RaterKind kind);
  /// Adds a rater with a chosen token (the judge's), or returns false when it exists.
  bool ensure_rater(const std::string& token, const std::string& name, RaterKind kind);
  std::optional<Rater> rater(const std::string& token);
  std::vector<Rater> raters();

  /// Stores a vote (score already checked by the caller) in its own committed transaction.
  VoteResult vote(const std::string& rater, const std::string& image, int score);
  /// The images this rater has voted on.
  std::vector<std::string> rated(const std::string& rater);
  /// Every vote, in the order they were stored.
  std::vector<Vote> votes();

  const std::string& path() const { return path_; }

 private:
  void exec(const char* sql);
  std::string path_;
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
};

}  // namespace circumplex::tools
