#include "file_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <fstream>
#include <sstream>

#include "common/log.hpp"
#include "upload_url.hpp"

namespace fs = std::filesystem;

namespace http_upload {

namespace {

// "key=value" lines; values never contain a newline (names and types are checked first).
std::string describe(const StoredFile& f) {
  std::ostringstream out;
  out << "owner=" << f.owner << "\nfilename=" << f.filename << "\ncontent-type=" << f.content_type
      << "\nsize=" << f.size << "\nstored-at=" << f.stored_at << '\n';
  return out.str();
}

template <class Int>
bool parse_int(const std::string& text, Int& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::optional<StoredFile> read_description(const fs::path& file) {
  std::ifstream in(file);
  std::map<std::string, std::string> fields;
  for (std::string line; std::getline(in, line);)
    if (auto eq = line.find('='); eq != std::string::npos) fields[line.substr(0, eq)] = line.substr(eq + 1);
  StoredFile f{fields["owner"], fields["filename"], fields["content-type"]};
  if (f.owner.empty() || !valid_filename(f.filename) || !parse_int(fields["size"], f.size) ||
      !parse_int(fields["stored-at"], f.stored_at))
    return std::nullopt;
  return f;
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool sync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

// PendingUpload -----------------------------------------------------------------------------

PendingUpload::~PendingUpload() {
  if (fd_ >= 0) ::close(fd_);
  if (committed_) return;
  std::error_code ignored;
  fs::remove(store_.path(id_, ".part"), ignored);
  store_.release(file_.owner, file_.size);
}

bool PendingUpload::write(const char* data, std::size_t size) { return write_all(fd_, data, size); }

bool PendingUpload::commit() {
  // The bytes are durable before anyone is told they were stored.
  bool ok = ::fsync(fd_) == 0;
  ::close(fd_);
  fd_ = -1;
  if (!ok) return false;
  file_.stored_at = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
  std::string description = describe(file_);
  fs::path meta = store_.path(id_, ".meta");
  int fd = ::open(meta.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  ok = fd >= 0 && write_all(fd, description.data(), description.size()) && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  std::error_code ec;
  if (ok) fs::rename(store_.path(id_, ".part"), store_.data_path(id_), ec);
  if (!ok || ec || !sync_directory(store_.dir_)) {
    fs::remove(meta, ec);
    fs::remove(store_.data_path(id_), ec);
    return false;
  }
  committed_ = true;
  store_.add(id_, file_);
  return true;
}

// FileStore ---------------------------------------------------------------------------------

FileStore::FileStore(fs::path dir, std::uint64_t quota_per_user) : dir_(std::move(dir)), quota_(quota_per_user) {
  fs::create_directories(dir_);
  std::vector<fs::path> leftovers, data;  // to remove; to check against the index
  for (const auto& entry : fs::directory_iterator(dir_)) {
    const fs::path& p = entry.path();
    std::string id = p.stem().string();
    if (p.extension() == ".part") {
      leftovers.push_back(p);  // an upload the server was receiving when it stopped
    } else if (p.extension() == ".data") {
      data.push_back(p);
    } else if (p.extension() == ".meta") {
      auto file = read_description(p);
      if (file && valid_slot_id(id) && fs::exists(data_path(id))) {
        usage_[file->owner] += file->size;
        add(id, *file);
      } else {
        xmppd::log::warn("http_upload: removing ", p.string(), " (unreadable, or its data is missing)");
        leftovers.push_back(p);
      }
    }
  }
  for (const auto& p : leftovers) fs::remove(p);
  // Data without a description (a crash between the two): nobody can be served it.
  for (const auto& p : data)
    if (!files_.contains(p.stem().string())) fs::remove(p);
}

std::uint64_t FileStore::usage(const std::string& owner) const {
  std::lock_guard lock(mutex_);
  auto it = usage_.find(owner);
  return it == usage_.end() ? 0 : it->second;
}

bool FileStore::within_quota(const std::string& owner, std::uint64_t more) const {
  return quota_ == 0 || usage(owner) + more <= quota_;
}

std::optional<StoredFile> FileStore::find(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = files_.find(id);
  if (it == files_.end()) return std::nullopt;
  return it->second;
}

FileStore::Begun FileStore::begin(const std::string& id, StoredFile file) {
  {
    std::lock_guard lock(mutex_);
    if (files_.contains(id)) return {Refusal::exists, nullptr};
    std::uint64_t& used = usage_[file.owner];
    if (quota_ != 0 && used + file.size > quota_) return {Refusal::over_quota, nullptr};
    used += file.size;
  }
  int fd = ::open(path(id, ".part").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) {
    Refusal why = errno == EEXIST ? Refusal::exists : Refusal::io_error;
    release(file.owner, file.size);
    return {why, nullptr};
  }
  return {Refusal::none, std::make_unique<PendingUpload>(*this, id, std::move(file), fd)};
}

std::vector<std::string> FileStore::remove_stored_before(std::int64_t cutoff) {
  std::vector<std::string> removed;
  {
    std::lock_guard lock(mutex_);
    for (auto it = files_.begin(); it != files_.end();) {
      if (it->second.stored_at > cutoff) {
        ++it;
        continue;
      }
      if (auto u = usage_.find(it->second.owner); u != usage_.end()) {
        u->second -= std::min(u->second, it->second.size);
        if (u->second == 0) usage_.erase(u);
      }
      removed.push_back(it->first);
      it = files_.erase(it);
    }
  }
  for (const auto& id : removed) {  // a download in progress keeps its open file
    std::error_code ignored;
    fs::remove(path(id, ".meta"), ignored);
    fs::remove(data_path(id), ignored);
  }
  return removed;
}

void FileStore::release(const std::string& owner, std::uint64_t size) {
  std::lock_guard lock(mutex_);
  auto it = usage_.find(owner);
  if (it == usage_.end()) return;
  it->second -= std::min(it->second, size);
  if (it->second == 0) usage_.erase(it);
}

void FileStore::add(const std::string& id, const StoredFile& file) {
  std::lock_guard lock(mutex_);
  files_.insert_or_assign(id, file);  // its size is in usage_ already (reserved, or loaded)
}

}  // namespace http_upload
