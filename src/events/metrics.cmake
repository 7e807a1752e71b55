# The "metrics" event destination: Prometheus counters (event_metrics.h). Only the core
# library of prometheus-cpp is used; herald serves /metrics on its own HTTP listener.
find_package(prometheus-cpp CONFIG REQUIRED)

herald_library(herald_event_metrics
  SOURCES event_metrics.cc
  DEPS herald_base nlohmann_json::nlohmann_json prometheus-cpp::core)

herald_test(event_metrics_test
  SOURCES event_metrics_test.cc
  DEPS herald_event_metrics)
