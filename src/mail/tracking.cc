#include "mail/tracking.h"

#include <algorithm>
#include <optional>

#include "base/crypto.h"
#include "base/strings.h"
#include "mail/message.h"

namespace herald::mail {
namespace {

// ---------------------------------------------------------------------------------------
// Tokens.
//
// payload := version:u8 (1) | kind:u8 | issued_at:i64 big-endian |
//            str account_id | str configuration_set | str message_id | str recipient |
//            str link | varint n | n x (str name | str value)
// str     := varint length | bytes
// sealed  := base64url-without-padding(payload | HMAC-SHA256(key, context | payload)[0:16])

constexpr uint8_t kTokenVersion = 1;
constexpr size_t kMacSize = 16;
// Domain separation: the tracking key signs nothing else with this prefix.
constexpr std::string_view kMacContext("herald/tracking-token\0", 22);
constexpr char kInvalidToken[] = "invalid tracking token";

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    *out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  *out += static_cast<char>(v);
}

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

std::string SerializeToken(const TrackingToken& t) {
  std::string out;
  out += static_cast<char>(kTokenVersion);
  out += static_cast<char>(t.kind);
  uint64_t issued = static_cast<uint64_t>(t.issued_at);
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((issued >> shift) & 0xFF);
  PutString(&out, t.account_id);
  PutString(&out, t.configuration_set);
  PutString(&out, t.message_id);
  PutString(&out, t.recipient);
  PutString(&out, t.link);
  PutVarint(&out, t.link_tags.size());
  for (const auto& [name, value] : t.link_tags) {
    PutString(&out, name);
    PutString(&out, value);
  }
  return out;
}

// Reads a payload; every length is checked against what is left.
class PayloadReader {
 public:
  explicit PayloadReader(std::string_view in) : in_(in) {}

  bool Byte(uint8_t* b) {
    if (in_.empty()) return false;
    *b = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool Fixed64(uint64_t* v) {
    if (in_.size() < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v = (*v << 8) | static_cast<unsigned char>(in_[i]);
    in_.remove_prefix(8);
    return true;
  }
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b;
      if (!Byte(&b)) return false;
      *v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool String(std::string* s) {
    uint64_t n;
    if (!Varint(&n) || n > in_.size()) return false;
    s->assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  bool AtEnd() const { return in_.empty(); }
  size_t Remaining() const { return in_.size(); }

 private:
  std::string_view in_;
};

std::optional<TrackingToken> ParsePayload(std::string_view payload) {
  PayloadReader r(payload);
  uint8_t version, kind;
  uint64_t issued;
  if (!r.Byte(&version) || version != kTokenVersion) return std::nullopt;
  if (!r.Byte(&kind) || kind > TrackingToken::kUnsubscribe) return std::nullopt;
  if (!r.Fixed64(&issued)) return std::nullopt;
  TrackingToken t;
  t.kind = static_cast<TrackingToken::Kind>(kind);
  t.issued_at = static_cast<int64_t>(issued);
  if (!r.String(&t.account_id) || !r.String(&t.configuration_set) || !r.String(&t.message_id) ||
      !r.String(&t.recipient) || !r.String(&t.link)) {
    return std::nullopt;
  }
  uint64_t n_tags;
  // Each pair takes at least two bytes: bounds the loop by the input.
  if (!r.Varint(&n_tags) || n_tags > r.Remaining() / 2) return std::nullopt;
  for (uint64_t i = 0; i < n_tags; ++i) {
    std::pair<std::string, std::string> tag;
    if (!r.String(&tag.first) || !r.String(&tag.second)) return std::nullopt;
    t.link_tags.push_back(std::move(tag));
  }
  if (!r.AtEnd()) return std::nullopt;
  return t;
}

std::string TokenMac(std::string_view key, std::string_view payload) {
  std::string data;
  data.reserve(kMacContext.size() + payload.size());
  data.append(kMacContext);
  data.append(payload);
  return HmacSha256(key, data).substr(0, kMacSize);
}

// ---------------------------------------------------------------------------------------
// Link tags and HTML helpers.

constexpr size_t kMaxLinkTags = 50;
constexpr size_t kMaxTagLength = 256;

bool IsTagText(std::string_view s) {
  if (s.empty() || s.size() > kMaxTagLength) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiAlnum(char c) { return IsAsciiAlpha(c) || (c >= '0' && c <= '9'); }
// HTML's ASCII whitespace.
bool IsHtmlSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

struct NamedRef {
  std::string_view name;
  uint32_t code_point;
  bool legacy;  // also recognised without the ';'
};
// The references that matter in URLs and tag lists; others stay as written.
constexpr NamedRef kNamedRefs[] = {
    {"amp", '&', true},    {"AMP", '&', true},     {"lt", '<', true},   {"LT", '<', true},
    {"gt", '>', true},     {"GT", '>', true},      {"quot", '"', true}, {"QUOT", '"', true},
    {"apos", '\'', false}, {"nbsp", 0xA0, true},   {"sol", '/', false}, {"colon", ':', false},
    {"quest", '?', false}, {"equals", '=', false}, {"num", '#', false}, {"percnt", '%', false},
};

// Decodes HTML character references in an attribute value (numeric ones, and the named
// ones above), following the attribute-value rules for references without a ';'.
std::string DecodeCharRefs(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '&') {
      out += s[i++];
      continue;
    }
    size_t j = i + 1;
    if (j < s.size() && s[j] == '#') {
      ++j;
      bool hex = j < s.size() && (s[j] == 'x' || s[j] == 'X');
      if (hex) ++j;
      size_t digits_start = j;
      uint32_t cp = 0;
      while (j < s.size()) {
        char c = s[j];
        int d = -1;
        if (c >= '0' && c <= '9') {
          d = c - '0';
        } else if (hex && c >= 'a' && c <= 'f') {
          d = c - 'a' + 10;
        } else if (hex && c >= 'A' && c <= 'F') {
          d = c - 'A' + 10;
        }
        if (d < 0) break;
        if (cp <= 0x10FFFF) cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
        ++j;
      }
      if (j == digits_start) {  // "&#" without digits: literal
        out += s[i++];
        continue;
      }
      if (j < s.size() && s[j] == ';') ++j;
      AppendUtf8(&out, cp);
      i = j;
      continue;
    }
    bool matched = false;
    for (const NamedRef& ref : kNamedRefs) {
      if (s.compare(j, ref.name.size(), ref.name) != 0) continue;
      size_t end = j + ref.name.size();
      if (end < s.size() && s[end] == ';') {
        AppendUtf8(&out, ref.code_point);
        i = end + 1;
        matched = true;
        break;
      }
      bool next_blocks = end < s.size() && (IsAsciiAlnum(s[end]) || s[end] == '=');
      if (ref.legacy && !next_blocks) {
        AppendUtf8(&out, ref.code_point);
        i = end;
        matched = true;
        break;
      }
    }
    if (!matched) out += s[i++];
  }
  return out;
}

// What a browser follows: tabs and newlines removed, C0 controls and spaces trimmed.
std::string CleanUrl(std::string_view decoded) {
  std::string out;
  out.reserve(decoded.size());
  for (char c : decoded) {
    if (c != '\t' && c != '\n' && c != '\r') out += c;
  }
  size_t b = 0, e = out.size();
  while (b < e && static_cast<unsigned char>(out[b]) <= 0x20) ++b;
  while (e > b && static_cast<unsigned char>(out[e - 1]) <= 0x20) --e;
  return out.substr(b, e - b);
}

bool IsTrackableUrl(std::string_view url) {
  return StartsWithIgnoreCase(url, "http://") || StartsWithIgnoreCase(url, "https://");
}

size_t FindIgnoreCase(std::string_view hay, std::string_view needle, size_t from) {
  if (needle.empty() || hay.size() < needle.size()) return std::string_view::npos;
  for (size_t i = from; i + needle.size() <= hay.size(); ++i) {
    if (EqualsIgnoreCase(hay.substr(i, needle.size()), needle)) return i;
  }
  return std::string_view::npos;
}

// The last "</body" that is a tag (followed by '>', '/', whitespace or the end).
size_t FindLastBodyClose(std::string_view html) {
  constexpr std::string_view kClose = "</body";
  if (html.size() < kClose.size()) return std::string_view::npos;
  for (size_t i = html.size() - kClose.size() + 1; i-- > 0;) {
    if (html[i] != '<' || !EqualsIgnoreCase(html.substr(i, kClose.size()), kClose)) continue;
    size_t end = i + kClose.size();
    if (end == html.size() || html[end] == '>' || html[end] == '/' || IsHtmlSpace(html[end])) {
      return i;
    }
  }
  return std::string_view::npos;
}

struct Attribute {
  std::string_view name;
  bool has_value = false;
  size_t value_begin = 0;  // offsets into the HTML, quotes excluded
  size_t value_end = 0;
};

// Elements whose content is text, not markup: an "<a" inside them is not a link.
constexpr std::string_view kRawTextElements[] = {"script", "style", "title", "textarea", "xmp"};

// ---------------------------------------------------------------------------------------
// Rewriting one HTML document.

struct HtmlResult {
  std::string html;
  int links_rewritten = 0;
  int links_over_budget = 0;
  int open_pixels = 0;
  int64_t growth = 0;  // bytes charged against the budget
};

class HtmlRewriter {
 public:
  HtmlRewriter(const TrackingPlan& plan, int64_t budget) : plan_(plan), budget_(budget) {}

  HtmlResult Rewrite(std::string_view html) {
    html_ = html;
    std::string pixel;
    if (plan_.open) {
      TrackingToken t = plan_.token_template;
      t.kind = TrackingToken::kOpen;
      t.link.clear();
      t.link_tags.clear();
      std::string sealed = SealToken(t, plan_.key);
      if (sealed.size() <= kMaxSealedTokenSize) {
        const std::string& base =
            plan_.open_base_url.empty() ? plan_.base_url : plan_.open_base_url;
        pixel = "<img src=\"" + base + "/t/o/" + sealed +
                "\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none;border:0\">";
        if (!Charge(static_cast<int64_t>(pixel.size()))) pixel.clear();
      }
    }
    if (plan_.clicks) Scan();
    result_.html.append(html_.substr(copied_));
    if (!pixel.empty()) {
      size_t at = FindLastBodyClose(result_.html);
      if (at == std::string::npos) {
        result_.html += pixel;
      } else {
        result_.html.insert(at, pixel);
      }
      result_.open_pixels = 1;
    }
    return std::move(result_);
  }

 private:
  bool Charge(int64_t growth) {
    if (growth <= 0) return true;
    if (growth > budget_ - result_.growth) return false;
    result_.growth += growth;
    return true;
  }

  // Walks the markup; anchors go to Anchor().
  void Scan() {
    const size_t n = html_.size();
    size_t i = 0;
    while (i < n) {
      size_t lt = html_.find('<', i);
      if (lt == std::string_view::npos || lt + 1 >= n) return;
      i = lt + 1;
      char c = html_[i];
      if (c == '!' || c == '?') {
        size_t end;
        if (html_.compare(i, 3, "!--") == 0) {
          end = html_.find("-->", i + 3);
          if (end != std::string_view::npos) end += 2;
        } else {
          end = html_.find('>', i);
        }
        if (end == std::string_view::npos) return;
        i = end + 1;
        continue;
      }
      if (!IsAsciiAlpha(c)) continue;  // end tags and stray '<' are text to us
      size_t name_begin = i;
      while (i < n && !IsHtmlSpace(html_[i]) && html_[i] != '/' && html_[i] != '>') ++i;
      std::string_view name = html_.substr(name_begin, i - name_begin);
      attributes_.clear();
      if (!ParseAttributes(&i)) return;  // an unterminated tag: the rest stays as written
      if (EqualsIgnoreCase(name, "a")) {
        Anchor();
        continue;
      }
      for (std::string_view raw : kRawTextElements) {
        if (!EqualsIgnoreCase(name, raw)) continue;
        std::string close = "</" + std::string(raw);
        size_t end = FindIgnoreCase(html_, close, i);
        if (end == std::string_view::npos) return;
        i = end;
        break;
      }
    }
  }

  // Reads attributes from *pos up to and including the tag's '>'. False when the input
  // ends first.
  bool ParseAttributes(size_t* pos) {
    const size_t n = html_.size();
    size_t i = *pos;
    while (i < n) {
      char c = html_[i];
      if (IsHtmlSpace(c) || c == '/') {
        ++i;
        continue;
      }
      if (c == '>') {
        *pos = i + 1;
        return true;
      }
      Attribute a;
      size_t name_begin = i++;
      while (i < n && !IsHtmlSpace(html_[i]) && html_[i] != '/' && html_[i] != '>' &&
             html_[i] != '=') {
        ++i;
      }
      a.name = html_.substr(name_begin, i - name_begin);
      size_t j = i;
      while (j < n && IsHtmlSpace(html_[j])) ++j;
      if (j < n && html_[j] == '=') {
        ++j;
        while (j < n && IsHtmlSpace(html_[j])) ++j;
        if (j >= n) return false;
        char q = html_[j];
        if (q == '"' || q == '\'') {
          size_t close = html_.find(q, j + 1);
          if (close == std::string_view::npos) return false;
          a.value_begin = j + 1;
          a.value_end = close;
          i = close + 1;
        } else {
          size_t k = j;
          while (k < n && !IsHtmlSpace(html_[k]) && html_[k] != '>') ++k;
          a.value_begin = j;
          a.value_end = k;
          i = k;
        }
        a.has_value = true;
      } else {
        i = j;
      }
      attributes_.push_back(a);
    }
    return false;
  }

  std::string_view Value(const Attribute& a) const {
    return html_.substr(a.value_begin, a.value_end - a.value_begin);
  }

  void Anchor() {
    const Attribute* href = nullptr;
    const Attribute* tags = nullptr;
    for (const Attribute& a : attributes_) {
      if (EqualsIgnoreCase(a.name, "ses:no-track")) return;
      if (href == nullptr && a.has_value && EqualsIgnoreCase(a.name, "href")) href = &a;
      if (tags == nullptr && a.has_value && EqualsIgnoreCase(a.name, "ses:tags")) tags = &a;
    }
    if (href == nullptr) return;
    std::string link = CleanUrl(DecodeCharRefs(Value(*href)));
    if (!IsTrackableUrl(link)) return;
    TrackingToken t = plan_.token_template;
    t.kind = TrackingToken::kClick;
    t.link = std::move(link);
    t.link_tags.clear();
    if (tags != nullptr) t.link_tags = ParseLinkTags(DecodeCharRefs(Value(*tags)));
    std::string sealed = SealToken(t, plan_.key);
    std::string url = plan_.base_url + "/t/c/" + sealed;
    int64_t growth = static_cast<int64_t>(url.size()) -
                     static_cast<int64_t>(href->value_end - href->value_begin);
    if (sealed.size() > kMaxSealedTokenSize || !Charge(growth)) {
      ++result_.links_over_budget;
      return;
    }
    result_.html.append(html_.substr(copied_, href->value_begin - copied_));
    result_.html += url;
    copied_ = href->value_end;
    ++result_.links_rewritten;
  }

  const TrackingPlan& plan_;
  const int64_t budget_;
  std::string_view html_;
  size_t copied_ = 0;  // html_ bytes before this are in result_.html
  std::vector<Attribute> attributes_;
  HtmlResult result_;
};

// ---------------------------------------------------------------------------------------
// Transfer encodings.

constexpr size_t kMaxLineLength = 998;  // RFC 5322 section 2.1.1
constexpr size_t kEncodedLine = 76;     // RFC 2045 base64 and quoted-printable lines

// Quoted-printable (RFC 2045 section 6.7): CRLF pairs are hard line breaks; other bytes
// outside printable ASCII, '=', whitespace before a line break, and a '-' that starts a
// line (so no encoded line can look like a multipart delimiter) are escaped.
std::string QpEncode(std::string_view data) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(data.size() + data.size() / 8 + 8);
  size_t line_len = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(data[i]);
    if (c == '\r' && i + 1 < data.size() && data[i + 1] == '\n') {
      out += "\r\n";
      line_len = 0;
      ++i;
      continue;
    }
    bool at_line_end =
        i + 1 == data.size() || (data[i + 1] == '\r' && i + 2 < data.size() && data[i + 2] == '\n');
    bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    size_t width = literal ? 1 : 3;
    if (line_len + width > kEncodedLine - 1) {
      out += "=\r\n";
      line_len = 0;
    }
    if (c == '-' && line_len == 0) {
      literal = false;
      width = 3;
    }
    if (literal) {
      out += static_cast<char>(c);
    } else {
      out += '=';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
    line_len += width;
  }
  return out;
}

std::string Base64Folded(std::string_view data) {
  std::string b64 = Base64Encode(data);
  std::string out;
  out.reserve(b64.size() + b64.size() / kEncodedLine * 2 + 2);
  for (size_t i = 0; i < b64.size(); i += kEncodedLine) {
    if (i > 0) out += "\r\n";
    out.append(b64, i, kEncodedLine);
  }
  return out;
}

// Whether `s` can travel as it is in a 7bit (seven_bit) or 8bit/binary body: CRLF line
// ends only, lines of at most 998 octets, and for 7bit no NUL or 8-bit byte.
bool FitsUnencoded(std::string_view s, bool seven_bit) {
  size_t line_len = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\r') {
      if (i + 1 >= s.size() || s[i + 1] != '\n') return false;
      ++i;
      line_len = 0;
      continue;
    }
    if (c == '\n') return false;
    if (seven_bit && (c == 0 || c >= 0x80)) return false;
    if (++line_len > kMaxLineLength) return false;
  }
  return true;
}

// Whether a line of `body` is a delimiter of one of the enclosing multiparts.
bool HasDelimiterLine(std::string_view body, const std::vector<std::string>& boundaries) {
  if (boundaries.empty()) return false;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find("\r\n", pos);
    size_t end = eol == std::string_view::npos ? body.size() : eol;
    std::string_view line = body.substr(pos, end - pos);
    if (line.size() >= 2 && line[0] == '-' && line[1] == '-') {
      for (const std::string& b : boundaries) {
        if (line.substr(2, b.size()) == b) return true;
      }
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 2;
  }
  return false;
}

std::string MediaType(const HeaderField* field, std::string_view fallback) {
  if (field == nullptr) return std::string(fallback);
  std::string_view v = field->value;
  size_t semi = v.find(';');
  if (semi != std::string_view::npos) v = v.substr(0, semi);
  return AsciiLower(TrimWhitespace(v));
}

// Charsets in which '<', '"' and friends are not single ASCII bytes.
bool IsAsciiCompatible(std::string_view charset) {
  std::string c = AsciiLower(TrimWhitespace(charset));
  return !(c.starts_with("utf-16") || c.starts_with("utf-32") || c.starts_with("ucs-") ||
           c.starts_with("ucs2") || c.starts_with("ucs4") || c == "utf-7" || c == "unicode");
}

// ---------------------------------------------------------------------------------------
// The MIME walk.

class Walker {
 public:
  Walker(const TrackingPlan& plan, int64_t budget) : plan_(plan), budget_(budget) {}

  // The new bytes of `entity`, or nullopt when it stays as written.
  std::optional<std::string> Entity(std::string_view entity, int depth) {
    if (++parts_ > kMaxTrackingParts || depth > kMaxTrackingDepth) {
      limit_hit_ = true;
      return std::nullopt;
    }
    auto parsed = ParseEntity(entity);
    if (depth == 0) root_parsed_ = parsed.ok();
    if (!parsed.ok()) return std::nullopt;
    const HeaderField* content_type = parsed->Find("Content-Type");
    std::string media = MediaType(content_type, "text/plain");
    if (media.starts_with("multipart/")) {
      return Multipart(entity, *parsed, HeaderParameter(content_type->value, "boundary"), depth);
    }
    const bool html = media == "text/html";
    if (!html && !(media == "text/plain" && !plan_.unsubscribe_url.empty())) return std::nullopt;
    if (MediaType(parsed->Find("Content-Disposition"), "inline") == "attachment") {
      return std::nullopt;
    }
    // A part without Content-Type is text/plain; us-ascii.
    std::string charset =
        content_type == nullptr ? "" : HeaderParameter(content_type->value, "charset");
    if (!IsAsciiCompatible(charset)) return std::nullopt;
    return Text(entity, *parsed, html);
  }

  bool limit_hit() const { return limit_hit_; }
  bool root_parsed() const { return root_parsed_; }
  const TrackingStats& stats() const { return stats_; }

 private:
  std::optional<std::string> Multipart(std::string_view entity, const ParsedMessage& parsed,
                                       std::string boundary, int depth) {
    std::string_view body = parsed.body;
    auto parts = SplitMultipart(body, boundary);
    if (!parts.ok()) return std::nullopt;
    boundaries_.push_back(std::move(boundary));
    std::string new_body;
    bool changed = false;
    size_t copied = 0;
    for (std::string_view part : *parts) {
      std::optional<std::string> replacement = Entity(part, depth + 1);
      if (limit_hit_) break;
      if (!replacement) continue;
      size_t offset = static_cast<size_t>(part.data() - body.data());
      new_body.append(body.substr(copied, offset - copied));
      new_body += *replacement;
      copied = offset + part.size();
      changed = true;
    }
    boundaries_.pop_back();
    if (limit_hit_ || !changed) return std::nullopt;
    new_body.append(body.substr(copied));
    std::string out(entity.substr(0, static_cast<size_t>(body.data() - entity.data())));
    out += new_body;
    return out;
  }

  // Replaces the unsubscribe placeholders still allowed in `text`; how many it replaced.
  int FillPlaceholders(std::string* text) {
    if (plan_.unsubscribe_url.empty()) return 0;
    int filled = 0;
    size_t pos = 0;
    while (placeholders_ < kMaxUnsubscribePlaceholders) {
      pos = text->find(kUnsubscribePlaceholder, pos);
      if (pos == std::string::npos) break;
      text->replace(pos, kUnsubscribePlaceholder.size(), plan_.unsubscribe_url);
      pos += plan_.unsubscribe_url.size();
      ++placeholders_;
      ++filled;
    }
    return filled;
  }

  std::optional<std::string> Text(std::string_view entity, const ParsedMessage& parsed,
                                  bool is_html) {
    enum class Cte { k7bit, k8bit, kQuotedPrintable, kBase64 };
    const HeaderField* cte_field = parsed.Find("Content-Transfer-Encoding");
    std::string cte_name = cte_field == nullptr ? "7bit" : AsciiLower(cte_field->value);
    Cte cte;
    if (cte_name == "7bit") {
      cte = Cte::k7bit;
    } else if (cte_name == "8bit" || cte_name == "binary") {
      cte = Cte::k8bit;
    } else if (cte_name == "quoted-printable") {
      cte = Cte::kQuotedPrintable;
    } else if (cte_name == "base64") {
      cte = Cte::kBase64;
    } else {
      return std::nullopt;  // x-uuencode and friends: not ours to touch
    }

    std::string_view body = parsed.body;
    std::string decoded;
    if (cte == Cte::kQuotedPrintable) {
      auto qp = DecodeQuotedPrintable(body);
      if (!qp.ok()) return std::nullopt;
      decoded = std::move(qp).value();
    } else if (cte == Cte::kBase64) {
      auto b64 = Base64Decode(body, /*allow_whitespace=*/true);
      if (!b64) return std::nullopt;
      decoded = std::move(*b64);
    } else {
      decoded.assign(body);
    }
    // An empty part (or one without a body at all) has nothing to open or click.
    if (decoded.empty()) return std::nullopt;

    HtmlResult html;
    if (is_html && (plan_.open || plan_.clicks)) {
      HtmlRewriter rewriter(plan_, budget_ - used_);
      html = rewriter.Rewrite(decoded);
    } else {
      html.html = std::move(decoded);
    }
    // After the rewriting: an unsubscribe link is not click-tracked.
    const int filled = FillPlaceholders(&html.html);
    if (html.links_rewritten == 0 && html.open_pixels == 0 && filled == 0) {
      stats_.links_over_budget += html.links_over_budget;
      return std::nullopt;
    }

    bool to_qp = false;
    std::string encoded;
    switch (cte) {
      case Cte::kBase64:
        encoded = Base64Folded(html.html);
        if (body.ends_with("\r\n")) encoded += "\r\n";
        break;
      case Cte::kQuotedPrintable:
        encoded = QpEncode(html.html);
        break;
      case Cte::k7bit:
      case Cte::k8bit:
        if (FitsUnencoded(html.html, cte == Cte::k7bit)) {
          encoded = std::move(html.html);
        } else {
          encoded = QpEncode(html.html);
          to_qp = true;
        }
        break;
    }
    // Belt and braces: the new body must not end an enclosing multipart early.
    if (HasDelimiterLine(encoded, boundaries_)) return std::nullopt;

    std::string out;
    if (to_qp) {
      bool replaced = false;
      for (const HeaderField& f : parsed.headers) {
        if (EqualsIgnoreCase(f.name, "Content-Transfer-Encoding")) {
          if (!replaced) out += "Content-Transfer-Encoding: quoted-printable\r\n";
          replaced = true;
        } else {
          out += f.raw;
        }
      }
      if (!replaced) out += "Content-Transfer-Encoding: quoted-printable\r\n";
      out += "\r\n";
    } else {
      out.assign(entity.substr(0, static_cast<size_t>(body.data() - entity.data())));
    }
    out += encoded;

    used_ += html.growth;
    if (is_html && (html.links_rewritten > 0 || html.open_pixels > 0)) ++stats_.html_parts;
    stats_.placeholders_filled += filled;
    stats_.links_rewritten += html.links_rewritten;
    stats_.links_over_budget += html.links_over_budget;
    stats_.open_pixels += html.open_pixels;
    if (to_qp) ++stats_.parts_reencoded_qp;
    return out;
  }

  const TrackingPlan& plan_;
  const int64_t budget_;
  int64_t used_ = 0;
  int parts_ = 0;
  bool limit_hit_ = false;
  bool root_parsed_ = false;
  int placeholders_ = 0;                 // filled so far, whole message
  std::vector<std::string> boundaries_;  // of the enclosing multiparts, outermost first
  TrackingStats stats_;
};

// The characters a URL herald writes into HTML attributes and text may hold.
bool IsUrlChar(char c) {
  return IsAsciiAlnum(c) ||
         std::string_view("-._~:/@%!$()*+,;[]").find(c) != std::string_view::npos;
}

Status CheckBaseUrl(std::string_view url) {
  if (url.size() > 512) return InvalidArgumentError("tracking base URL is too long");
  size_t scheme;
  if (StartsWithIgnoreCase(url, "https://")) {
    scheme = 8;
  } else if (StartsWithIgnoreCase(url, "http://")) {
    scheme = 7;
  } else {
    return InvalidArgumentError("tracking base URL must start with http:// or https://");
  }
  if (url.size() == scheme || url[scheme] == '/') {
    return InvalidArgumentError("tracking base URL has no host");
  }
  if (url.back() == '/') return InvalidArgumentError("tracking base URL ends with '/'");
  for (char c : url) {
    if (!IsUrlChar(c)) {
      return InvalidArgumentError("tracking base URL holds a character it cannot use in HTML");
    }
  }
  return Status::Ok();
}

Status CheckPlan(const TrackingPlan& plan) {
  if (plan.open || plan.clicks) {
    if (plan.key.empty()) return InvalidArgumentError("tracking key is empty");
    RETURN_IF_ERROR(CheckBaseUrl(plan.base_url));
    if (!plan.open_base_url.empty()) RETURN_IF_ERROR(CheckBaseUrl(plan.open_base_url));
  }
  const std::string& u = plan.unsubscribe_url;
  if (!u.empty()) {
    const bool ok = u.size() <= 1024 &&
                    (StartsWithIgnoreCase(u, "https://") || StartsWithIgnoreCase(u, "http://"));
    if (!ok || !std::all_of(u.begin(), u.end(), IsUrlChar)) {
      return InvalidArgumentError("unsubscribe URL is not a usable http(s) URL");
    }
  }
  return Status::Ok();
}

}  // namespace

std::string SealToken(const TrackingToken& token, std::string_view key) {
  HERALD_CHECK(!key.empty());
  std::string sealed = SerializeToken(token);
  sealed += TokenMac(key, sealed);
  return Base64UrlEncode(sealed);
}

StatusOr<TrackingToken> OpenToken(std::string_view sealed, std::string_view key, int64_t now,
                                  int64_t max_age_seconds) {
  return OpenToken(sealed, std::vector<std::string>{std::string(key)}, now, max_age_seconds);
}

StatusOr<TrackingToken> OpenToken(std::string_view sealed, const std::vector<std::string>& keys,
                                  int64_t now, int64_t max_age_seconds) {
  if (sealed.size() > kMaxSealedTokenSize) {
    return PermissionDeniedError(std::string(kInvalidToken) + " (too long)");
  }
  std::optional<std::string> bytes = Base64UrlDecode(sealed);
  if (!bytes || bytes->size() <= kMacSize) return PermissionDeniedError(kInvalidToken);
  std::string_view payload = std::string_view(*bytes).substr(0, bytes->size() - kMacSize);
  std::string_view mac = std::string_view(*bytes).substr(bytes->size() - kMacSize);
  bool authentic = false;
  for (const std::string& key : keys) {
    if (!key.empty() && ConstantTimeEquals(TokenMac(key, payload), mac)) {
      authentic = true;
      break;
    }
  }
  if (!authentic) return PermissionDeniedError(kInvalidToken);
  std::optional<TrackingToken> token = ParsePayload(payload);
  if (!token) return PermissionDeniedError(kInvalidToken);
  // now - issued_at without overflow.
  __int128 age = static_cast<__int128>(now) - token->issued_at;
  if (age < -kMaxClockSkewSeconds) {
    return PermissionDeniedError("tracking token is issued in the future");
  }
  if (max_age_seconds >= 0 && age > max_age_seconds) {
    return PermissionDeniedError("tracking token has expired");
  }
  return *std::move(token);
}

std::vector<std::pair<std::string, std::string>> ParseLinkTags(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> tags;
  size_t pos = 0;
  while (pos <= text.size() && tags.size() < kMaxLinkTags) {
    size_t semi = text.find(';', pos);
    size_t end = semi == std::string_view::npos ? text.size() : semi;
    std::string_view pair = text.substr(pos, end - pos);
    size_t colon = pair.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = TrimWhitespace(pair.substr(0, colon));
      std::string_view value = TrimWhitespace(pair.substr(colon + 1));
      if (IsTagText(name) && IsTagText(value)) tags.emplace_back(name, value);
    }
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
  return tags;
}

StatusOr<std::string> AddTracking(std::string_view raw_message, const TrackingPlan& plan,
                                  TrackingStats* stats) {
  RETURN_IF_ERROR(CheckPlan(plan));
  TrackingStats unused;
  if (stats == nullptr) stats = &unused;
  *stats = TrackingStats();

  // Growth of the decoded HTML, all parts together; see the header for the bound it gives.
  const int64_t budget = static_cast<int64_t>(raw_message.size() / 4) + 32 * 1024;
  Walker walker(plan, budget);
  std::optional<std::string> out = walker.Entity(raw_message, 0);
  if (!walker.root_parsed() || walker.limit_hit()) return std::string(raw_message);
  *stats = walker.stats();
  stats->parsed = true;
  if (!out) return std::string(raw_message);
  // The result must still be a well-formed message (CRLF, line lengths); it is by
  // construction, and this keeps it so should a future change get that wrong.
  if (!ParseEntity(*out).ok()) {
    *stats = TrackingStats();
    return std::string(raw_message);
  }
  return *std::move(out);
}

}  // namespace herald::mail
