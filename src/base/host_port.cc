#include "base/host_port.h"

#include <charconv>

namespace herald {

Status ParseHostPort(std::string_view text, std::string* host, uint16_t* port) {
  std::string_view h, p;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return InvalidArgumentError("listen address must be [IPv6]:PORT: " + std::string(text));
    }
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
    if (h.find(':') == std::string_view::npos) {
      return InvalidArgumentError("brackets are for IPv6 addresses: " + std::string(text));
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return InvalidArgumentError("listen address must be HOST:PORT: " + std::string(text));
    }
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.find(':') != std::string_view::npos) {
      return InvalidArgumentError("IPv6 listen addresses need brackets: " + std::string(text));
    }
  }
  unsigned value = 0;
  if (p.empty() || p.size() > 5 ||
      std::from_chars(p.data(), p.data() + p.size(), value).ptr != p.data() + p.size() ||
      value > 65535) {
    return InvalidArgumentError("bad port in listen address: " + std::string(text));
  }
  if (h.empty() || h == "*") {
    *host = "0.0.0.0";
  } else if (h == "localhost") {
    *host = "127.0.0.1";
  } else {
    *host = std::string(h);
  }
  *port = static_cast<uint16_t>(value);
  return Status::Ok();
}

}  // namespace herald
