# The Kafka event destination: a librdkafka producer that reports when a batch is durable
# (events/kafka_producer.h). Its tests run against librdkafka's built-in mock cluster.
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
herald_library(herald_kafka
  SOURCES kafka_producer.cc
  DEPS herald_base PkgConfig::RDKAFKA Threads::Threads)
herald_test(kafka_test
  SOURCES kafka_producer_test.cc
  DEPS herald_kafka)
