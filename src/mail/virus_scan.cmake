# Virus scanning of submitted messages (mail/virus_scan.h): the pure EICAR scanner, which
# walks MIME with the forgiving reader of herald_feedback, and the clamd INSTREAM adapter.
herald_library(herald_virus_scan
  SOURCES virus_scan.cc
  DEPS herald_base herald_feedback)
herald_test(virus_scan_test
  SOURCES virus_scan_test.cc
  DEPS herald_virus_scan Threads::Threads)
herald_fuzzer(virus_scan_fuzz ${PROJECT_SOURCE_DIR}/tests/fuzz/virus_scan_fuzz.cc
  herald_virus_scan)
