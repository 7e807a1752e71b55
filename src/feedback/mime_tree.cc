#include "feedback/mime_tree.h"

#include <string.h>

#include "base/strings.h"
#include "mail/message.h"

namespace herald::feedback {
namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

// Splits `text` (LF line ends) into its header block and body. The header ends at the
// first empty line, or at the first line that is neither a field nor a continuation.
std::pair<std::vector<MimeHeader>, std::string_view> SplitHeader(std::string_view text) {
  std::vector<MimeHeader> headers;
  size_t pos = 0;
  if (text.substr(0, 5) == "From ") {  // mbox separator line
    size_t nl = text.find('\n');
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
  }
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(pos, end - pos);
    if (line.empty()) {
      pos = end + (nl == std::string_view::npos ? 0 : 1);
      return {std::move(headers), text.substr(pos)};
    }
    if (IsWsp(line[0])) {
      if (!headers.empty()) {
        std::string_view cont = TrimWhitespace(line);
        std::string& v = headers.back().value;
        if (!cont.empty()) {
          if (!v.empty()) v.push_back(' ');
          v.append(cont);
        }
        pos = end + 1;
        continue;
      }
      // A continuation with nothing to continue: the header is over.
      return {std::move(headers), text.substr(pos)};
    }
    size_t colon = line.find(':');
    bool field = colon != std::string_view::npos && colon > 0;
    if (field) {
      for (size_t i = 0; i < colon; ++i) {
        unsigned char c = static_cast<unsigned char>(line[i]);
        if (c <= 32 || c >= 127) {
          // Allow "Name : value" (space before the colon) but nothing else.
          if (!(IsWsp(line[i]) && TrimWhitespace(line.substr(i, colon - i)).empty())) {
            field = false;
          }
          break;
        }
      }
    }
    if (!field) return {std::move(headers), text.substr(pos)};
    MimeHeader h;
    h.name = std::string(TrimWhitespace(line.substr(0, colon)));
    h.value = std::string(TrimWhitespace(line.substr(colon + 1)));
    headers.push_back(std::move(h));
    pos = end + 1;
  }
  return {std::move(headers), std::string_view()};
}

std::string_view FindHeader(const std::vector<MimeHeader>& hs, std::string_view name) {
  for (const auto& h : hs) {
    if (EqualsIgnoreCase(h.name, name)) return h.value;
  }
  return {};
}

struct Builder {
  size_t parts = 0;

  void Fill(std::string_view text, int depth, MimePart* part, bool headers_only = false) {
    ++parts;
    auto [headers, body] = SplitHeader(text);
    part->headers = std::move(headers);
    std::string_view ctype = FindHeader(part->headers, "Content-Type");
    std::string type = AsciiLower(TrimWhitespace(ctype.substr(0, ctype.find(';'))));
    if (type.find('/') == std::string::npos) type = "text/plain";
    part->type = type;
    part->charset = AsciiLower(mail::HeaderParameter(ctype, "charset"));
    if (headers_only) return;
    std::string cte =
        AsciiLower(TrimWhitespace(FindHeader(part->headers, "Content-Transfer-Encoding")));
    bool can_nest = depth < kMaxMimeDepth && parts < kMaxMimeParts;
    if (type.rfind("multipart/", 0) == 0 && can_nest) {
      std::string boundary = mail::HeaderParameter(ctype, "boundary");
      if (!boundary.empty() && SplitParts(body, boundary, depth, part)) return;
      // Broken or rewritten mail declares one boundary and uses another: guess it.
      std::string guessed = GuessBoundary(body);
      if (!guessed.empty() && guessed != boundary && SplitParts(body, guessed, depth, part)) {
        return;
      }
    }
    if (cte == "base64") {
      auto decoded = std::make_shared<std::string>(NormalizeLineEnds(DecodeBase64Lenient(body)));
      part->body = *decoded;
      part->decoded = std::move(decoded);
    } else if (cte == "quoted-printable") {
      auto decoded = std::make_shared<std::string>(DecodeQuotedPrintableLenient(body));
      part->body = *decoded;
      part->decoded = std::move(decoded);
    } else {
      part->body = body;
    }
    if (can_nest &&
        (type == "message/rfc822" || type == "message/global" || type == "text/rfc822-headers" ||
         type == "message/rfc822-headers" || type == "message/partial")) {
      MimePart child;
      Fill(part->body, depth + 1, &child, /*headers_only=*/true);
      part->children.push_back(std::move(child));
    }
  }

  // The boundary of a multipart body whose declared one is absent: the first "--token"
  // line that comes back, as a delimiter or a close delimiter, later in the body.
  static std::string GuessBoundary(std::string_view body) {
    size_t pos = 0;
    int lines = 0;
    while (pos < body.size() && lines < 2000) {
      ++lines;
      size_t nl = body.find('\n', pos);
      size_t end = nl == std::string_view::npos ? body.size() : nl;
      std::string_view line = TrimWhitespace(body.substr(pos, end - pos));
      if (line.size() > 3 && line.size() <= 72 && line.substr(0, 2) == "--" &&
          line.find(' ') == std::string_view::npos && line[2] != '-') {
        std::string_view token = line.substr(2);
        if (token.size() > 2 && token.substr(token.size() - 2) == "--") {
          token.remove_suffix(2);
        }
        std::string delim = "\n--" + std::string(token);
        if (body.find(delim, end) != std::string_view::npos) return std::string(token);
      }
      if (nl == std::string_view::npos) break;
      pos = nl + 1;
    }
    return {};
  }

  // Splits a multipart body; false when no delimiter line was found at all.
  bool SplitParts(std::string_view body, const std::string& boundary, int depth, MimePart* part) {
    const std::string delim = "--" + boundary;
    std::vector<std::string_view> pieces;
    size_t start = std::string_view::npos;
    bool found = false;
    // Only lines that begin with the delimiter matter, so look for the delimiter itself
    // (memmem skips ahead far faster than walking the body line by line).
    for (size_t pos = 0; pos < body.size();) {
      const void* hit = memmem(body.data() + pos, body.size() - pos, delim.data(), delim.size());
      if (hit == nullptr) break;
      size_t at = static_cast<size_t>(static_cast<const char*>(hit) - body.data());
      size_t nl = body.find('\n', at);
      size_t end = nl == std::string_view::npos ? body.size() : nl;
      if (at == 0 || body[at - 1] == '\n') {
        std::string_view rest =
            TrimWhitespace(body.substr(at + delim.size(), end - at - delim.size()));
        bool close = rest.substr(0, 2) == "--";
        if (rest.empty() || close) {
          found = true;
          if (start != std::string_view::npos) {
            size_t stop = at > start ? at - 1 : start;  // drop the LF before the delimiter
            pieces.push_back(body.substr(start, stop - start));
          }
          start = close ? std::string_view::npos : end + 1;
          if (close) break;
        }
      }
      pos = at + 1;
    }
    if (start != std::string_view::npos && start < body.size()) {
      pieces.push_back(body.substr(start));  // no close delimiter
    }
    if (!found) return false;
    for (std::string_view p : pieces) {
      if (parts >= kMaxMimeParts) break;
      MimePart child;
      Fill(p, depth + 1, &child);
      part->children.push_back(std::move(child));
    }
    return true;
  }
};

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string_view MimePart::Header(std::string_view name) const { return FindHeader(headers, name); }

bool MimePart::HasHeader(std::string_view name) const {
  for (const auto& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return true;
  }
  return false;
}

std::vector<std::string_view> MimePart::Headers(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) out.push_back(h.value);
  }
  return out;
}

std::string NormalizeLineEnds(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t pos = 0;
  while (pos < in.size()) {
    size_t cr = in.find('\r', pos);
    if (cr == std::string_view::npos) {
      out.append(in.substr(pos));
      break;
    }
    out.append(in.substr(pos, cr - pos));
    out.push_back('\n');
    pos = cr + 1;
    if (pos < in.size() && in[pos] == '\n') ++pos;
  }
  return out;
}

std::string DecodeBase64Lenient(std::string_view in) {
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = Base64Value(c);
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string DecodeQuotedPrintableLenient(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '=') {
      // Copy the run up to the next '=' at once: most of a body is plain text.
      size_t eq = in.find('=', i);
      if (eq == std::string_view::npos) eq = in.size();
      out.append(in.substr(i, eq - i));
      i = eq - 1;
      continue;
    }
    // Soft line break: "=" then optional whitespace then LF.
    size_t j = i + 1;
    while (j < in.size() && IsWsp(in[j])) ++j;
    if (j < in.size() && in[j] == '\n') {
      i = j;
      continue;
    }
    if (j >= in.size()) {
      i = j;
      continue;
    }
    if (i + 2 < in.size() + 0 && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::vector<MimeHeader> ParseHeaderFields(std::string_view text) {
  std::vector<MimeHeader> out;
  for (std::string_view line : Split(text, '\n')) {
    if (line.empty()) continue;
    if (IsWsp(line[0])) {
      if (!out.empty()) {
        std::string_view cont = TrimWhitespace(line);
        if (!cont.empty()) {
          if (!out.back().value.empty()) out.back().value.push_back(' ');
          out.back().value.append(cont);
        }
      }
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string_view name = TrimWhitespace(line.substr(0, colon));
    if (name.empty() || name.find(' ') != std::string_view::npos) continue;
    out.push_back({std::string(name), std::string(TrimWhitespace(line.substr(colon + 1)))});
  }
  return out;
}

MimePart ParseMimeTree(std::string_view message) {
  MimePart root;
  std::shared_ptr<const std::string> normalized;
  std::string_view text = message;
  if (message.find('\r') != std::string_view::npos) {
    normalized = std::make_shared<const std::string>(NormalizeLineEnds(message));
    text = *normalized;
  }
  Builder b;
  b.Fill(text, 0, &root);
  // Bodies may view the normalised message: it lives as long as the root, unless the root's
  // own body was decoded (then nothing views the encoded text).
  if (normalized && !root.decoded) root.decoded = std::move(normalized);
  return root;
}

}  // namespace herald::feedback
