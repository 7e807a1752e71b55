// events/event_metrics.h: EventMetrics, the "metrics" event destination: herald's stand-in
// for SES's CloudWatchDestination. It counts SES-shaped events as Prometheus counters,
// split by the dimensions each destination configures, and renders them in the Prometheus
// text exposition format (0.0.4) for the HTTP listener's /metrics.
//
// Contract:
// - AddDestination() registers (or replaces) one destination of one account's configuration
//   set. Each Dimension mirrors SES's CloudWatchDimensionConfiguration. A dimension name is
//   1..kMaxDimensionNameLength ASCII letters, digits, '_', '-' or ':' (SES v1 allows ':',
//   SESv2 documents "at most 256", CloudWatch takes 1..255) and a destination has
//   at most kMaxDimensions of them; matching event types are SES enum names (SEND, ...,
//   SUBSCRIPTION), order and duplicates ignored, an empty list matching nothing. Anything
//   else is kInvalidArgument and changes nothing. A dimension's Prometheus label is "dim_"
//   followed by its name with every character outside [A-Za-z0-9_] replaced by '_'; two
//   dimensions with the same label are kInvalidArgument. Re-adding a destination with the
//   same dimensions only updates its event types and keeps its counts; with other
//   dimensions its old series are dropped and counting restarts from zero.
// - RemoveDestination() stops the destination's counting and drops its series
//   (kNotFound when it is not registered).
// - Observe() takes one SES event-publishing JSON object. The event's account is
//   mail.sendingAccountId and its configuration set the first value of the
//   "ses:configuration-set" tag. Each matching destination of that (account, set)
//   increments herald_ses_events_total{account_id, configuration_set, destination,
//   event_type, dim_...}; event_type is SES's CloudWatch metric name (Send, Reject, Bounce,
//   Complaint, Delivery, Open, Click, RenderingFailure, DeliveryDelay, Subscription; the
//   eventType "RenderingFailure" is accepted as well as SES's "Rendering Failure"). The
//   account_id label keeps two tenants' sets of the same name apart. A dimension's value is the
//   first value of the message tag, the first header of that name (case-insensitive), or (Click
//   events only) the first value of the link tag; when that is absent or empty, the dimension's
//   default value. Label values are cut to kMaxLabelValueBytes at a UTF-8 character boundary.
//   Malformed JSON, events without an account, a configuration set or a known eventType are not
//   counted there but in herald_ses_events_ignored_total{reason}.
// - Cardinality: a destination holds at most options.max_series_per_destination label sets
//   of its own; an event that would need one more counts under the label set whose every
//   dimension is kOverflowValue (same event_type), and in
//   herald_ses_events_overflow_total{account_id, configuration_set, destination}. Those
//   overflow series do not count against the bound. Removing the destination frees them.
// - Serialize() renders every family with prometheus::TextSerializer.
// Thread-safety: every method is safe from any thread. Observe() holds one mutex while it
// looks up the destinations and their series; increments and Serialize() rely on
// prometheus-cpp's own locking and atomics.
// Trust: event JSON is built by herald, but tag, header and link-tag values inside it came
// from clients: they are parsed defensively and only ever become label values, which the
// serializer escapes. Dimension names come from the account's API calls and are validated.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include "base/status.h"

namespace herald::events {

// Where a dimension's value comes from (SES's DimensionValueSource).
enum class DimensionValueSource {
  kMessageTag,   // MESSAGE_TAG: mail.tags
  kEmailHeader,  // EMAIL_HEADER: mail.headers
  kLinkTag,      // LINK_TAG: click.linkTags, Click events only
};

// One SES CloudWatchDimensionConfiguration.
struct Dimension {
  std::string name;  // DimensionName
  DimensionValueSource source = DimensionValueSource::kMessageTag;
  std::string default_value;  // DefaultDimensionValue, used when the source has no value

  bool operator==(const Dimension& other) const = default;
};

struct EventMetricsOptions {
  // Most distinct label sets one destination may create (beyond them events count under
  // kOverflowValue). At least 1.
  size_t max_series_per_destination = 10'000;
};

class EventMetrics {
 public:
  static constexpr size_t kMaxDimensions = 10;
  static constexpr size_t kMaxDimensionNameLength = 255;
  static constexpr size_t kMaxLabelValueBytes = 256;
  static constexpr std::string_view kOverflowValue = "__other__";

  // options.max_series_per_destination of 0 is taken as 1.
  explicit EventMetrics(const EventMetricsOptions& options = {});
  ~EventMetrics();
  EventMetrics(const EventMetrics&) = delete;
  EventMetrics& operator=(const EventMetrics&) = delete;

  Status AddDestination(const std::string& account_id, const std::string& configuration_set,
                        const std::string& destination_name, std::vector<Dimension> dims,
                        const std::vector<std::string>& matching_event_types);
  Status RemoveDestination(const std::string& account_id, const std::string& configuration_set,
                           const std::string& destination_name);

  void Observe(std::string_view event_json);

  // The Prometheus text exposition format, version 0.0.4.
  std::string Serialize() const;

  // The label a dimension name maps to ("dim_" + name with [^A-Za-z0-9_] -> '_').
  static std::string LabelNameForDimension(std::string_view dimension_name);

 private:
  struct Destination;
  struct SetKey {
    std::string account_id;
    std::string configuration_set;
    auto operator<=>(const SetKey&) const = default;
  };
  using DestinationMap = std::map<std::string, std::unique_ptr<Destination>>;

  void DropSeries(Destination& d);
  void CountIgnored(std::string_view reason);

  const size_t max_series_;
  std::unique_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* events_;
  prometheus::Family<prometheus::Counter>* ignored_;
  prometheus::Family<prometheus::Counter>* overflow_;

  mutable std::mutex mu_;
  std::map<SetKey, DestinationMap> sets_;  // guarded by mu_
};

}  // namespace herald::events
