// base/host_port.h: "HOST:PORT" and "[IPV6]:PORT" as written in configuration files.
//
// Contract: ParseHostPort splits and checks the text: a port 0..65535 (0 = pick one when
// binding), IPv6 hosts in brackets, host "" or "*" = all IPv4 addresses, "localhost" =
// 127.0.0.1. Other hosts are returned as written (the caller resolves or binds them).
// Thread-safety: pure. Trust: operator input; every malformed form is kInvalidArgument.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace herald {

Status ParseHostPort(std::string_view text, std::string* host, uint16_t* port);

}  // namespace herald
