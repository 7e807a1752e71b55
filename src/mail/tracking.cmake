# Engagement tracking: sealed tokens and HTML rewriting (mail/tracking.h).
herald_library(herald_tracking
  SOURCES tracking.cc
  DEPS herald_mail herald_base)
herald_test(tracking_test
  SOURCES tracking_test.cc
  DEPS herald_tracking)
herald_fuzzer(tracking_fuzz ${PROJECT_SOURCE_DIR}/tests/fuzz/tracking_fuzz.cc herald_tracking)
