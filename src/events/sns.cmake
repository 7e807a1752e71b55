# Owned by the events module (included from src/events/CMakeLists.txt): the HTTP client of
# event publishing, SNS-style envelopes and webhook signatures.
# cpp-httplib comes from Debian as a compiled library; its pkg-config file carries the
# CPPHTTPLIB_*_SUPPORT definitions the library was built with, and every translation unit
# that includes httplib.h must see them so that its structs match the library's. Only
# http_poster.cc (and the test's server) include it, so the target is linked PRIVATE.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)

herald_library(herald_event_http
  SOURCES http_poster.cc sns.cc webhook.cc
  DEPS herald_base nlohmann_json::nlohmann_json OpenSSL::Crypto Threads::Threads)
target_link_libraries(herald_event_http PRIVATE PkgConfig::HTTPLIB OpenSSL::SSL)

herald_test(event_http_test
  SOURCES http_poster_test.cc sns_test.cc webhook_test.cc
  DEPS herald_event_http PkgConfig::HTTPLIB OpenSSL::SSL)
