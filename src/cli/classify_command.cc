// cli/classify_command.cc: see classify_command.h.
#include "cli/classify_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "feedback/report.h"
#include "feedback/report_json.h"

namespace herald::cli {
namespace {

// Reads what `fd` holds, at most feedback::kMaxFeedbackBytes (ParseFeedback looks at no
// more), into *out with plain read() calls. Returns 0 or an errno value. A regular file
// costs one fstat() and one read(): the buffer is one byte larger than the file, and a
// regular file reads short only at its end.
int ReadUpTo(int fd, std::string* out) {
  constexpr size_t kLimit = feedback::kMaxFeedbackBytes;
  struct stat st;
  bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0;
  size_t size = regular ? std::min(static_cast<size_t>(st.st_size) + 1, kLimit) : 64 * 1024;
  out->resize(size);
  size_t used = 0;
  for (;;) {
    ssize_t n = read(fd, out->data() + used, out->size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      out->clear();
      return err;
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
    if (used >= kLimit) break;
    if (used < out->size()) {
      if (regular) break;
      continue;
    }
    out->resize(std::min(out->size() * 2, kLimit));  // a pipe, or a file that grew
  }
  out->resize(std::min(used, kLimit));
  return 0;
}

void PrintUsage(std::FILE* to) {
  std::fprintf(to,
               "%s\nUsage: herald classify [--] FILE...\n\n"
               "  FILE  email files; - reads standard input\n"
               "Prints one JSON line per file; an unreadable file is named on standard error "
               "and skipped (exit status 1).\n",
               kClassifyDescription);
}

}  // namespace

int RunClassify(const std::vector<std::string>& files) {
  std::string data;
  std::string out;
  out.reserve(1 << 17);
  int failed = 0;
  auto flush = [&out] {
    if (!out.empty()) std::fwrite(out.data(), 1, out.size(), stdout);
    out.clear();
  };
  for (const std::string& path : files) {
    bool is_stdin = path == "-";
    int fd = is_stdin ? STDIN_FILENO : open(path.c_str(), O_RDONLY | O_CLOEXEC);
    int err = fd < 0 ? errno : ReadUpTo(fd, &data);
    if (fd >= 0 && !is_stdin) close(fd);
    if (err != 0) {
      flush();
      std::fflush(stdout);
      std::fprintf(stderr, "herald: classify: %s: %s\n", path.c_str(), std::strerror(err));
      ++failed;
      continue;
    }
    feedback::AppendReportJsonLine(feedback::ParseFeedback(data), path, &out);
    out += '\n';
    if (out.size() >= (1 << 16)) flush();
  }
  flush();
  if (std::fflush(stdout) != 0) {
    std::fprintf(stderr, "herald: classify: writing the output failed\n");
    return 2;
  }
  return failed > 0 ? 1 : 0;
}

int ClassifyMain(int argc, const char* const* argv) {
  std::vector<std::string> files;
  bool options_done = false;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!options_done && arg == "--") {
      options_done = true;
    } else if (!options_done && (arg == "-h" || arg == "--help")) {
      PrintUsage(stdout);
      return 0;
    } else if (!options_done && arg.size() > 1 && arg[0] == '-') {
      std::fprintf(stderr, "herald: classify: unknown option %s\n", argv[i]);
      PrintUsage(stderr);
      return 2;
    } else {
      files.emplace_back(arg);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "herald: classify: at least one FILE is required\n");
    PrintUsage(stderr);
    return 2;
  }
  return RunClassify(files);
}

}  // namespace herald::cli
