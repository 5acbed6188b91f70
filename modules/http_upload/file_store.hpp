// The uploaded files of one host, in one directory: <id>.data holds the bytes, <id>.meta
// describes them (owner, name, type, size, time), <id>.part is an upload in progress. An
// index in memory, rebuilt from the .meta files at start, answers lookups and per-user usage
// without touching the disk. Safe to use from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace http_upload {

struct StoredFile {
  std::string owner;  // bare JID
  std::string filename;
  std::string content_type;
  std::uint64_t size = 0;
  std::int64_t stored_at = 0;  // Unix time
};

class FileStore;

// One PUT being received. Until commit() succeeds it holds a quota reservation and the
// .part file; destroying it uncommitted (error, disconnect, shutdown) removes both.
class PendingUpload {
 public:
  PendingUpload(FileStore& store, std::string id, StoredFile file, int fd)
      : store_(store), id_(std::move(id)), file_(std::move(file)), fd_(fd) {}
  PendingUpload(const PendingUpload&) = delete;
  PendingUpload& operator=(const PendingUpload&) = delete;
  ~PendingUpload();

  bool write(const char* data, std::size_t size);
  // Flushes to disk, writes the description, and makes the file visible. False on I/O error.
  bool commit();

 private:
  FileStore& store_;
  std::string id_;
  StoredFile file_;
  int fd_;
  bool committed_ = false;
};

class FileStore {
 public:
  // Creates `dir` if needed, removes leftovers of interrupted uploads, loads the index.
  // quota_per_user 0: unlimited.
  FileStore(std::filesystem::path dir, std::uint64_t quota_per_user);

  // Bytes stored (and being uploaded) by `owner`.
  std::uint64_t usage(const std::string& owner) const;
  bool within_quota(const std::string& owner, std::uint64_t more) const;
  std::optional<StoredFile> find(const std::string& id) const;
  std::filesystem::path data_path(const std::string& id) const { return dir_ / (id + ".data"); }

  enum class Refusal { none, exists, over_quota, io_error };
  struct Begun {
    Refusal refusal = Refusal::none;
    std::unique_ptr<PendingUpload> upload;
  };
  // Reserves the quota and creates <id>.part exclusively (two PUTs to one slot: one wins).
  Begun begin(const std::string& id, StoredFile file);

  // Removes the files stored at or before `cutoff` (Unix time); returns their ids.
  std::vector<std::string> remove_stored_before(std::int64_t cutoff);

 private:
  friend class PendingUpload;
  std::filesystem::path path(const std::string& id, const char* suffix) const { return dir_ / (id + suffix); }
  void release(const std::string& owner, std::uint64_t size);
  void add(const std::string& id, const StoredFile& file);

  std::filesystem::path dir_;
  std::uint64_t quota_;
  mutable std::mutex mutex_;
  std::map<std::string, StoredFile, std::less<>> files_;
  std::map<std::string, std::uint64_t, std::less<>> usage_;  // stored + reserved
};

}  // namespace http_upload
