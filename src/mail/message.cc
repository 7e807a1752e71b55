#include "mail/message.h"

#include <cstring>

#include "base/crypto.h"
#include "base/strings.h"

namespace herald::mail {
namespace {

// RFC 5322 section 2.1.1: at most 998 octets per line, CRLF excluded.
constexpr size_t kMaxLineLength = 998;
// The folding target of RFC 5322 section 2.1.1 ("SHOULD be no more than 78").
constexpr size_t kFoldLength = 78;
// A message needs far fewer fields; this bounds the memory a hostile header can cost.
constexpr size_t kMaxHeaderFields = 5000;
// RFC 2047 section 2: an encoded-word is at most 75 characters.
constexpr size_t kMaxEncodedWord = 75;

bool IsFieldNameChar(unsigned char c) { return c >= 33 && c <= 126 && c != ':'; }
bool IsWsp(char c) { return c == ' ' || c == '\t'; }

std::string LineError(const char* what, size_t line_no) {
  return std::string(what) + " on line " + std::to_string(line_no);
}

// Finds the end of the line starting at `pos`: sets *content_end to the index of the CR
// (or input.size() when the input ends without a line break) and *next to the start of
// the next line. Rejects bare CR, bare LF and over-long lines.
Status ScanLine(std::string_view input, size_t pos, size_t line_no, size_t* content_end,
                size_t* next) {
  const char* base = input.data() + pos;
  size_t remaining = input.size() - pos;
  const void* lf = std::memchr(base, '\n', remaining);
  size_t len = lf == nullptr ? remaining : static_cast<size_t>(static_cast<const char*>(lf) - base);
  size_t content_len = len;
  if (lf != nullptr) {
    if (len == 0 || base[len - 1] != '\r') {
      return InvalidArgumentError(LineError("bare LF (line feed without CR)", line_no));
    }
    content_len = len - 1;
  }
  if (content_len > 0 && std::memchr(base, '\r', content_len) != nullptr) {
    return InvalidArgumentError(LineError("bare CR (carriage return without LF)", line_no));
  }
  if (content_len > kMaxLineLength) {
    return InvalidArgumentError(LineError("line longer than 998 octets", line_no));
  }
  *content_end = pos + content_len;
  *next = lf == nullptr ? input.size() : pos + len + 1;
  return Status::Ok();
}

// Removes CRLF pairs (unfolding) and trims surrounding whitespace.
std::string UnfoldValue(std::string_view folded) {
  std::string out;
  out.reserve(folded.size());
  for (size_t i = 0; i < folded.size(); ++i) {
    if (folded[i] == '\r' && i + 1 < folded.size() && folded[i + 1] == '\n') {
      ++i;
      continue;
    }
    out += folded[i];
  }
  size_t b = 0, e = out.size();
  while (b < e && IsWsp(out[b])) ++b;
  while (e > b && IsWsp(out[e - 1])) --e;
  return out.substr(b, e - b);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // Plain ASCII eight bytes at a time: most text is all ASCII.
    uint64_t word;
    if (i + 8 <= s.size() &&
        (std::memcpy(&word, s.data() + i, 8), (word & 0x8080808080808080ULL) == 0)) {
      i += 8;
      continue;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

namespace {

// Decodes the text of one encoded-word. Returns false when it cannot be decoded (unknown
// charset or encoding, malformed data, or a result that is not valid UTF-8).
bool DecodeWord(std::string_view charset, std::string_view encoding, std::string_view text,
                std::string* out) {
  // RFC 2231 section 5: a language may follow the charset after '*'.
  size_t star = charset.find('*');
  if (star != std::string_view::npos) charset = charset.substr(0, star);
  bool latin1;
  if (EqualsIgnoreCase(charset, "utf-8") || EqualsIgnoreCase(charset, "us-ascii")) {
    latin1 = false;
  } else if (EqualsIgnoreCase(charset, "iso-8859-1") || EqualsIgnoreCase(charset, "latin1")) {
    latin1 = true;
  } else {
    return false;
  }
  std::string bytes;
  if (EqualsIgnoreCase(encoding, "B")) {
    std::string padded(text);
    while (padded.size() % 4 != 0) padded += '=';
    std::optional<std::string> decoded = Base64Decode(padded);
    if (!decoded) return false;
    bytes = std::move(*decoded);
  } else if (EqualsIgnoreCase(encoding, "Q")) {
    bytes.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (c == '_') {
        bytes += ' ';
      } else if (c == '=') {
        if (i + 2 >= text.size()) return false;
        int hi = HexDigit(text[i + 1]), lo = HexDigit(text[i + 2]);
        if (hi < 0 || lo < 0) return false;
        bytes += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else {
        bytes += c;
      }
    }
  } else {
    return false;
  }
  std::string utf8;
  if (latin1) {
    utf8.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
      if (c < 0x80) {
        utf8 += static_cast<char>(c);
      } else {
        utf8 += static_cast<char>(0xC0 | (c >> 6));
        utf8 += static_cast<char>(0x80 | (c & 0x3F));
      }
    }
  } else {
    if (!IsValidUtf8(bytes)) return false;
    utf8 = std::move(bytes);
  }
  // A decoded value must not smuggle line breaks or NULs into whoever re-emits it.
  for (char& c : utf8) {
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  }
  *out += utf8;
  return true;
}

// Parses an encoded-word starting at value[pos] ("=?"). On success appends the decoded
// text to *out, sets *end past the "?=" and returns true.
bool TryEncodedWord(std::string_view value, size_t pos, std::string* out, size_t* end) {
  size_t q1 = value.find('?', pos + 2);
  if (q1 == std::string_view::npos) return false;
  size_t q2 = value.find('?', q1 + 1);
  if (q2 == std::string_view::npos) return false;
  size_t close = value.find("?=", q2 + 1);
  if (close == std::string_view::npos) return false;
  std::string_view charset = value.substr(pos + 2, q1 - pos - 2);
  std::string_view encoding = value.substr(q1 + 1, q2 - q1 - 1);
  std::string_view text = value.substr(q2 + 1, close - q2 - 1);
  if (charset.empty()) return false;
  for (char c : charset) {
    if (c == ' ' || c == '\t') return false;
  }
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '?') return false;
  }
  if (!DecodeWord(charset, encoding, text, out)) return false;
  *end = close + 2;
  return true;
}

}  // namespace

const HeaderField* ParsedMessage::Find(std::string_view name) const {
  for (const HeaderField& f : headers) {
    if (EqualsIgnoreCase(f.name, name)) return &f;
  }
  return nullptr;
}

std::vector<const HeaderField*> ParsedMessage::FindAll(std::string_view name) const {
  std::vector<const HeaderField*> out;
  for (const HeaderField& f : headers) {
    if (EqualsIgnoreCase(f.name, name)) out.push_back(&f);
  }
  return out;
}

StatusOr<ParsedMessage> ParseMessage(std::string_view input) {
  ASSIGN_OR_RETURN(ParsedMessage msg, ParseEntity(input));
  size_t from_count = 0;
  for (const HeaderField& f : msg.headers) {
    if (EqualsIgnoreCase(f.name, "From")) ++from_count;
  }
  if (from_count == 0) return InvalidArgumentError("message has no From header field");
  if (from_count > 1) return InvalidArgumentError("message has more than one From header field");
  return msg;
}

StatusOr<ParsedMessage> ParseEntity(std::string_view input) {
  ParsedMessage msg;
  size_t pos = 0;
  size_t line_no = 1;
  size_t field_start = 0;  // start of the field being collected
  size_t field_end = 0;    // end of its last line, CRLF included
  size_t name_len = 0;     // length of its name
  size_t value_start = 0;  // first byte after its ':'
  bool have_field = false;
  bool have_body = false;

  auto flush = [&]() -> Status {
    if (!have_field) return Status::Ok();
    if (msg.headers.size() >= kMaxHeaderFields) {
      return InvalidArgumentError("too many header fields (limit " +
                                  std::to_string(kMaxHeaderFields) + ")");
    }
    HeaderField f;
    f.name.assign(input.substr(field_start, name_len));
    f.raw.assign(input.substr(field_start, field_end - field_start));
    // A last line that ended the input without CRLF gets one, so Serialize stays valid.
    if (f.raw.size() < 2 || f.raw.compare(f.raw.size() - 2, 2, "\r\n") != 0) f.raw += "\r\n";
    f.value = UnfoldValue(input.substr(value_start, field_end - value_start));
    msg.headers.push_back(std::move(f));
    have_field = false;
    return Status::Ok();
  };

  while (pos < input.size()) {
    size_t content_end, next;
    RETURN_IF_ERROR(ScanLine(input, pos, line_no, &content_end, &next));
    if (content_end == pos && next != pos) {
      // The empty line: the header ends, the body follows.
      RETURN_IF_ERROR(flush());
      pos = next;
      have_body = true;
      ++line_no;
      break;
    }
    if (IsWsp(input[pos])) {
      if (!have_field) {
        return InvalidArgumentError(
            LineError("continuation line without a header field before it", line_no));
      }
      field_end = next;
    } else {
      RETURN_IF_ERROR(flush());
      size_t i = pos;
      while (i < content_end && IsFieldNameChar(static_cast<unsigned char>(input[i]))) ++i;
      size_t name_end = i;
      while (i < content_end && IsWsp(input[i])) ++i;  // obs-optional WSP before ':'
      if (name_end == pos || i >= content_end || input[i] != ':') {
        return InvalidArgumentError(LineError(
            "header line is neither a field (name \":\" value) nor a continuation", line_no));
      }
      have_field = true;
      field_start = pos;
      name_len = name_end - pos;
      value_start = i + 1;
      field_end = next;
    }
    pos = next;
    ++line_no;
  }
  if (!have_body) RETURN_IF_ERROR(flush());

  if (have_body) {
    // The body is not copied; only checked for bare CR/LF and line length.
    size_t bpos = pos;
    while (bpos < input.size()) {
      size_t content_end, next;
      RETURN_IF_ERROR(ScanLine(input, bpos, line_no, &content_end, &next));
      bpos = next;
      ++line_no;
    }
    msg.body = input.substr(pos);
  } else {
    msg.body = input.substr(input.size());
  }
  return msg;
}

std::string HeaderParameter(std::string_view value, std::string_view name) {
  size_t i = value.find(';');
  while (i != std::string_view::npos && i < value.size()) {
    ++i;  // past ';'
    while (i < value.size() && IsWsp(value[i])) ++i;
    size_t eq = i;
    while (eq < value.size() && value[eq] != '=' && value[eq] != ';') ++eq;
    if (eq >= value.size() || value[eq] == ';') {
      i = eq;
      continue;
    }
    std::string_view key = value.substr(i, eq - i);
    while (!key.empty() && IsWsp(key.back())) key.remove_suffix(1);
    size_t v = eq + 1;
    while (v < value.size() && IsWsp(value[v])) ++v;
    std::string result;
    size_t end = v;
    if (v < value.size() && value[v] == '"') {
      end = v + 1;
      while (end < value.size() && value[end] != '"') {
        if (value[end] == '\\' && end + 1 < value.size()) ++end;
        result += value[end];
        ++end;
      }
      if (end < value.size()) ++end;  // closing quote
    } else {
      while (end < value.size() && value[end] != ';' && !IsWsp(value[end])) {
        result += value[end];
        ++end;
      }
    }
    if (EqualsIgnoreCase(key, name)) return result;
    i = value.find(';', end);
  }
  return "";
}

StatusOr<std::vector<std::string_view>> SplitMultipart(std::string_view body,
                                                       std::string_view boundary) {
  if (boundary.empty() || boundary.size() > 70) {
    return InvalidArgumentError("multipart boundary must be 1 to 70 characters");
  }
  std::vector<std::string_view> parts;
  // Walks the body line by line; a delimiter line is "--" boundary ["--"] followed by
  // optional whitespace (transport padding).
  size_t pos = 0;
  size_t part_start = std::string_view::npos;
  while (pos <= body.size()) {
    size_t eol = body.find("\r\n", pos);
    size_t line_end = eol == std::string_view::npos ? body.size() : eol;
    std::string_view line = body.substr(pos, line_end - pos);
    if (line.size() >= boundary.size() + 2 && line[0] == '-' && line[1] == '-' &&
        line.substr(2, boundary.size()) == boundary) {
      std::string_view rest = line.substr(2 + boundary.size());
      bool close = rest.size() >= 2 && rest[0] == '-' && rest[1] == '-';
      if (close) rest.remove_prefix(2);
      bool padding_only = true;
      for (char c : rest) {
        if (!IsWsp(c)) padding_only = false;
      }
      if (padding_only) {
        if (part_start != std::string_view::npos) {
          // The CRLF before the delimiter belongs to the delimiter.
          size_t part_end = pos >= part_start + 2 ? pos - 2 : part_start;
          parts.push_back(body.substr(part_start, part_end - part_start));
        }
        if (close) {
          if (parts.empty()) return InvalidArgumentError("multipart body has no parts");
          return parts;
        }
        part_start = eol == std::string_view::npos ? body.size() : eol + 2;
      }
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 2;
  }
  return InvalidArgumentError("multipart body has no close delimiter");
}

StatusOr<std::string> DecodeQuotedPrintable(std::string_view encoded) {
  std::string out;
  out.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    char c = encoded[i];
    if (c != '=') {
      out += c;
      continue;
    }
    // Soft line break: "=" then optional whitespace then CRLF (or the end).
    size_t j = i + 1;
    while (j < encoded.size() && IsWsp(encoded[j])) ++j;
    if (j == encoded.size()) {
      i = j;
      continue;
    }
    if (encoded.compare(j, 2, "\r\n") == 0) {
      i = j + 1;
      continue;
    }
    if (i + 2 >= encoded.size()) return InvalidArgumentError("truncated quoted-printable escape");
    int hi = HexDigit(encoded[i + 1]), lo = HexDigit(encoded[i + 2]);
    if (hi < 0 || lo < 0) return InvalidArgumentError("malformed quoted-printable escape");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string Serialize(const std::vector<HeaderField>& headers, std::string_view body) {
  size_t total = 2 + body.size();
  for (const HeaderField& f : headers) total += f.raw.size();
  std::string out;
  out.reserve(total);
  for (const HeaderField& f : headers) out += f.raw;
  out += "\r\n";
  out += body;
  return out;
}

StatusOr<HeaderField> MakeHeaderField(std::string_view name, std::string_view value) {
  if (name.empty()) return InvalidArgumentError("empty header field name");
  if (name.size() > 200) return InvalidArgumentError("header field name too long");
  for (char c : name) {
    if (!IsFieldNameChar(static_cast<unsigned char>(c))) {
      return InvalidArgumentError("invalid character in header field name '" + std::string(name) +
                                  "'");
    }
  }
  for (char c : value) {
    if (c == '\r' || c == '\n') {
      return InvalidArgumentError("CR or LF in the value of header field " + std::string(name));
    }
    if (c == '\0') {
      return InvalidArgumentError("NUL in the value of header field " + std::string(name));
    }
  }
  std::string_view trimmed = value;
  while (!trimmed.empty() && IsWsp(trimmed.front())) trimmed.remove_prefix(1);
  while (!trimmed.empty() && IsWsp(trimmed.back())) trimmed.remove_suffix(1);

  std::string line(name);
  line += ':';
  if (!trimmed.empty()) {
    line += ' ';
    line += trimmed;
  }
  const size_t min_break = name.size() + 2;  // never fold inside "Name: "

  HeaderField f;
  f.name.assign(name);
  f.value.assign(trimmed);
  f.raw.reserve(line.size() + line.size() / kFoldLength * 2 + 2);
  size_t start = 0;
  while (line.size() - start > kFoldLength) {
    // A break point is a WSP that follows a non-WSP; the WSP starts the next line.
    auto is_break = [&](size_t p) {
      return p > start && p >= min_break && IsWsp(line[p]) && !IsWsp(line[p - 1]);
    };
    size_t brk = std::string::npos;
    for (size_t p = start + kFoldLength; p > start; --p) {
      if (is_break(p)) {
        brk = p;
        break;
      }
    }
    if (brk == std::string::npos) {
      for (size_t p = start + kFoldLength + 1; p < line.size(); ++p) {
        if (is_break(p)) {
          brk = p;
          break;
        }
      }
    }
    if (brk == std::string::npos || brk - start > kMaxLineLength) break;
    f.raw.append(line, start, brk - start);
    f.raw += "\r\n";
    start = brk;
  }
  if (line.size() - start > kMaxLineLength) {
    return InvalidArgumentError("header field " + std::string(name) +
                                " has a word too long to fold within 998 octets");
  }
  f.raw.append(line, start, std::string::npos);
  f.raw += "\r\n";
  return f;
}

std::string DecodeEncodedWords(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  size_t i = 0;
  while (i < value.size()) {
    if (value[i] == '=' && i + 1 < value.size() && value[i + 1] == '?') {
      std::string decoded;
      size_t end;
      if (TryEncodedWord(value, i, &decoded, &end)) {
        // Whitespace between two encoded-words is dropped (RFC 2047 section 6.2).
        out += decoded;
        i = end;
        size_t j = i;
        while (j < value.size() && (IsWsp(value[j]) || value[j] == '\r' || value[j] == '\n')) ++j;
        if (j > i && j < value.size() && value[j] == '=' && j + 1 < value.size() &&
            value[j + 1] == '?') {
          std::string probe;
          size_t probe_end;
          if (TryEncodedWord(value, j, &probe, &probe_end)) {
            i = j;  // skip the whitespace; the next word is decoded on the next pass
            continue;
          }
        }
        continue;
      }
    }
    out += value[i];
    ++i;
  }
  return out;
}

std::string EncodeHeaderValue(std::string_view utf8_value) {
  bool ascii = true;
  for (char c : utf8_value) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return std::string(utf8_value);
  // "=?UTF-8?B?" + text + "?=" within 75 characters leaves 63 for base64: 15 quads,
  // that is 45 octets of input per word.
  constexpr std::string_view kPrefix = "=?UTF-8?B?";
  constexpr size_t kMaxChunk = (kMaxEncodedWord - kPrefix.size() - 2) / 4 * 3;
  std::string out;
  size_t pos = 0;
  while (pos < utf8_value.size()) {
    size_t len = std::min(kMaxChunk, utf8_value.size() - pos);
    if (pos + len < utf8_value.size()) {
      // Back off to a character boundary: never split a UTF-8 sequence.
      size_t cut = pos + len;
      while (cut > pos && (static_cast<unsigned char>(utf8_value[cut]) & 0xC0) == 0x80) --cut;
      if (cut > pos) len = cut - pos;
    }
    if (!out.empty()) out += ' ';
    out += kPrefix;
    out += Base64Encode(utf8_value.substr(pos, len));
    out += "?=";
    pos += len;
  }
  return out;
}

}  // namespace herald::mail
