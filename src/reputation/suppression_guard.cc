#include "reputation/suppression_guard.h"

namespace herald::reputation {

std::string GuardDestination(std::string_view recipient) {
  size_t at = recipient.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string_view domain = recipient.substr(at + 1);
  while (!domain.empty() && (domain.back() == '>' || domain.back() == ' ')) {
    domain.remove_suffix(1);
  }
  std::string out = AsciiLower(domain);
  return out;
}

// Lower case; "<...>" (addresses, ids), words holding '@', and runs of 4 or more digits
// replaced by one placeholder each; whitespace runs become one space. Enhanced status
// codes ("5.1.1") and reply codes ("550") stay as they are: they are short.
std::string DiagnosticShape(std::string_view diagnostic) {
  std::string out;
  out.reserve(diagnostic.size());
  size_t i = 0;
  const size_t n = std::min<size_t>(diagnostic.size(), 2048);
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (i < n) {
    char c = diagnostic[i];
    if (c == '<') {
      size_t close = diagnostic.find('>', i);
      if (close != std::string_view::npos && close < n) {
        out += "<*>";
        i = close + 1;
        continue;
      }
    }
    if (is_space(c)) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
      ++i;
      continue;
    }
    // A word: replaced when it holds '@' (an address without brackets).
    size_t end = i;
    while (end < n && !is_space(diagnostic[end]) && diagnostic[end] != '<') ++end;
    std::string_view word = diagnostic.substr(i, end - i);
    if (word.find('@') != std::string_view::npos) {
      out += "*@*";
      i = end;
      continue;
    }
    for (size_t k = 0; k < word.size();) {
      if (word[k] >= '0' && word[k] <= '9') {
        size_t d = k;
        while (d < word.size() && word[d] >= '0' && word[d] <= '9') ++d;
        if (d - k >= 4) {
          out.push_back('#');  // an id, a count or a time; reply codes have three digits
        } else {
          out.append(word.substr(k, d - k));
        }
        k = d;
      } else {
        char ch = word[k++];
        out.push_back(ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch);
      }
    }
    i = end;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace herald::reputation
