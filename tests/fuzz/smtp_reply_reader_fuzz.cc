// Fuzzes the SMTP client's reply reader (delivery/smtp_client.h): arbitrary server bytes in
// arbitrary chunkings. The first two bytes choose the reply bound and the chunk sizes. The
// reader must never crash, every reply it returns must be well formed (code 200..599, no
// line break in Line(), within the bound), an error must be sticky, and feeding the same
// bytes in chunks or all at once must give the same replies and the same verdict.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/smtp_client.h"

namespace {

using herald::delivery::SmtpReply;
using herald::delivery::SmtpReplyReader;

struct Run {
  std::vector<SmtpReply> replies;
  bool error = false;
};

// Feeds `in` in chunks of the sizes `step` produces, only when the reader asks for more.
Run Read(std::string_view in, size_t max, size_t step) {
  SmtpReplyReader reader(max);
  Run run;
  while (true) {
    SmtpReply reply;
    std::string error;
    const SmtpReplyReader::Result r = reader.Next(&reply, &error);
    if (r == SmtpReplyReader::Result::kError) {
      if (error.empty()) std::abort();
      if (reader.Next(&reply, &error) != SmtpReplyReader::Result::kError) std::abort();
      run.error = true;
      return run;
    }
    if (r == SmtpReplyReader::Result::kReply) {
      if (reply.code < 200 || reply.code > 599) std::abort();
      if (reply.text.size() > max) std::abort();
      if (reply.Line().find('\n') != std::string::npos) std::abort();
      run.replies.push_back(std::move(reply));
      continue;
    }
    if (in.empty()) return run;
    const size_t n = std::min(step, in.size());
    reader.Feed(in.substr(0, n));
    in.remove_prefix(n);
    step = step * 7 % 31 + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t max = 8 + static_cast<size_t>(data[0]) * 4;
  const size_t step = 1 + data[1] % 13;
  const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  const Run chunked = Read(in, max, step);
  const Run whole = Read(in, max, in.size() + 1);
  if (chunked.error != whole.error || chunked.replies.size() != whole.replies.size()) std::abort();
  for (size_t i = 0; i < whole.replies.size(); ++i) {
    if (chunked.replies[i].code != whole.replies[i].code ||
        chunked.replies[i].text != whole.replies[i].text) {
      std::abort();
    }
  }
  return 0;
}
