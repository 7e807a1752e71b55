// events/event_metrics.cc: the Prometheus counters of the "metrics" event destination.
#include "events/event_metrics.h"

#include <prometheus/text_serializer.h>

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/strings.h"

namespace herald::events {
namespace {

using Json = nlohmann::json;

// One SES event type: its "eventType" in the event JSON, its CloudWatch metric name (our
// event_type label) and its enum name in MatchingEventTypes.
struct EventKind {
  std::string_view json_name;
  std::string_view metric_name;
  std::string_view enum_name;
};

constexpr std::array<EventKind, 10> kKinds = {{
    {"Send", "Send", "SEND"},
    {"Reject", "Reject", "REJECT"},
    {"Bounce", "Bounce", "BOUNCE"},
    {"Complaint", "Complaint", "COMPLAINT"},
    {"Delivery", "Delivery", "DELIVERY"},
    {"Open", "Open", "OPEN"},
    {"Click", "Click", "CLICK"},
    {"Rendering Failure", "RenderingFailure", "RENDERING_FAILURE"},
    {"DeliveryDelay", "DeliveryDelay", "DELIVERY_DELAY"},
    {"Subscription", "Subscription", "SUBSCRIPTION"},
}};
constexpr size_t kClickKind = 6;

// Why an event was not counted (the reason label of herald_ses_events_ignored_total).
constexpr std::array<std::string_view, 4> kIgnoredReasons = {"malformed", "unknown_event_type",
                                                             "no_account", "no_configuration_set"};

std::optional<size_t> KindOfJsonName(std::string_view name) {
  // The metric name is accepted too ("RenderingFailure" for SES's "Rendering Failure").
  for (size_t i = 0; i < kKinds.size(); ++i) {
    if (kKinds[i].json_name == name || kKinds[i].metric_name == name) return i;
  }
  return std::nullopt;
}

std::optional<size_t> KindOfEnumName(std::string_view name) {
  for (size_t i = 0; i < kKinds.size(); ++i) {
    if (kKinds[i].enum_name == name) return i;
  }
  return std::nullopt;
}

bool IsDimensionNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == ':';
}

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
std::string CutUtf8(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut));
}

const Json* Member(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// The first value of `key` in an SES tag map {"key": ["value", ...]} (a bare string value
// is accepted too); nullopt when absent, empty or not a string.
std::optional<std::string_view> FirstTagValue(const Json* tags, std::string_view key) {
  if (tags == nullptr) return std::nullopt;
  const Json* v = Member(*tags, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_array() && !v->empty()) v = &v->front();
  if (!v->is_string()) return std::nullopt;
  const std::string& s = v->get_ref<const std::string&>();
  if (s.empty()) return std::nullopt;
  return std::string_view(s);
}

// The value of the first header named `name` (ASCII case-insensitive) in SES's
// [{"name": ..., "value": ...}] list.
std::optional<std::string_view> HeaderValue(const Json* headers, std::string_view name) {
  if (headers == nullptr || !headers->is_array()) return std::nullopt;
  for (const Json& h : *headers) {
    const Json* n = Member(h, "name");
    if (n == nullptr || !n->is_string()) continue;
    if (!EqualsIgnoreCase(n->get_ref<const std::string&>(), name)) continue;
    const Json* v = Member(h, "value");
    if (v == nullptr || !v->is_string() || v->get_ref<const std::string&>().empty()) {
      return std::nullopt;
    }
    return std::string_view(v->get_ref<const std::string&>());
  }
  return std::nullopt;
}

}  // namespace

struct EventMetrics::Destination {
  std::vector<Dimension> dims;
  std::vector<std::string> label_names;  // one per dimension, same order
  uint32_t kinds = 0;                    // bit i set: kKinds[i] is counted
  // Key: event_type then every dimension's (cut) value.
  std::map<std::vector<std::string>, prometheus::Counter*> series;
  size_t own_series = 0;  // entries of `series` created below the bound
  prometheus::Counter* overflow = nullptr;
};

EventMetrics::EventMetrics(const EventMetricsOptions& options)
    : max_series_(options.max_series_per_destination == 0 ? 1 : options.max_series_per_destination),
      registry_(std::make_unique<prometheus::Registry>()) {
  events_ = &prometheus::BuildCounter()
                 .Name("herald_ses_events_total")
                 .Help("SES events counted by the metrics event destinations.")
                 .Register(*registry_);
  ignored_ = &prometheus::BuildCounter()
                  .Name("herald_ses_events_ignored_total")
                  .Help("Events the metrics destinations could not attribute, by reason.")
                  .Register(*registry_);
  overflow_ = &prometheus::BuildCounter()
                   .Name("herald_ses_events_overflow_total")
                   .Help(
                       "Events counted under __other__ because their destination reached its "
                       "label-set bound.")
                   .Register(*registry_);
  for (std::string_view reason : kIgnoredReasons) {
    ignored_->Add({{"reason", std::string(reason)}});
  }
}

EventMetrics::~EventMetrics() = default;

std::string EventMetrics::LabelNameForDimension(std::string_view dimension_name) {
  std::string label = "dim_";
  label.reserve(label.size() + dimension_name.size());
  for (char c : dimension_name) {
    const bool keep =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    label.push_back(keep ? c : '_');
  }
  return label;
}

Status EventMetrics::AddDestination(const std::string& account_id,
                                    const std::string& configuration_set,
                                    const std::string& destination_name,
                                    std::vector<Dimension> dims,
                                    const std::vector<std::string>& matching_event_types) {
  if (dims.size() > kMaxDimensions) {
    return InvalidArgumentError("a metrics destination has at most 10 dimensions");
  }
  std::vector<std::string> label_names;
  std::set<std::string> seen;
  for (const Dimension& d : dims) {
    bool ok = !d.name.empty() && d.name.size() <= kMaxDimensionNameLength;
    for (char c : d.name) ok = ok && IsDimensionNameChar(c);
    if (!ok) {
      return InvalidArgumentError(
          "dimension name must be 1 to 255 ASCII letters, digits, '_', '-' or ':'");
    }
    std::string label = LabelNameForDimension(d.name);
    if (!seen.insert(label).second) {
      return InvalidArgumentError("dimension name " + d.name + " maps to label " + label +
                                  ", which another dimension of the destination already uses");
    }
    label_names.push_back(std::move(label));
  }
  uint32_t kinds = 0;
  for (const std::string& t : matching_event_types) {
    std::optional<size_t> kind = KindOfEnumName(t);
    if (!kind) return InvalidArgumentError("unknown event type " + t);
    kinds |= uint32_t{1} << *kind;
  }

  std::lock_guard lock(mu_);
  DestinationMap& set = sets_[SetKey{account_id, configuration_set}];
  std::unique_ptr<Destination>& slot = set[destination_name];
  if (slot != nullptr && slot->dims == dims) {
    slot->kinds = kinds;
    return Status::Ok();
  }
  if (slot != nullptr) DropSeries(*slot);
  slot = std::make_unique<Destination>();
  slot->dims = std::move(dims);
  slot->label_names = std::move(label_names);
  slot->kinds = kinds;
  return Status::Ok();
}

Status EventMetrics::RemoveDestination(const std::string& account_id,
                                       const std::string& configuration_set,
                                       const std::string& destination_name) {
  std::lock_guard lock(mu_);
  auto set = sets_.find(SetKey{account_id, configuration_set});
  if (set == sets_.end()) return NotFoundError("no such metrics destination");
  auto dest = set->second.find(destination_name);
  if (dest == set->second.end()) return NotFoundError("no such metrics destination");
  DropSeries(*dest->second);
  set->second.erase(dest);
  if (set->second.empty()) sets_.erase(set);
  return Status::Ok();
}

void EventMetrics::DropSeries(Destination& d) {
  for (auto& [key, counter] : d.series) events_->Remove(counter);
  d.series.clear();
  d.own_series = 0;
  if (d.overflow != nullptr) overflow_->Remove(d.overflow);
  d.overflow = nullptr;
}

void EventMetrics::CountIgnored(std::string_view reason) {
  // The series were created in the constructor; Add returns the existing counter.
  ignored_->Add({{"reason", std::string(reason)}}).Increment();
}

void EventMetrics::Observe(std::string_view event_json) {
  const Json event = Json::parse(event_json, nullptr, /*allow_exceptions=*/false);
  if (!event.is_object()) {
    CountIgnored("malformed");
    return;
  }
  const Json* type = Member(event, "eventType");
  std::optional<size_t> kind;
  if (type != nullptr && type->is_string())
    kind = KindOfJsonName(type->get_ref<const Json::string_t&>());
  if (!kind) {
    CountIgnored("unknown_event_type");
    return;
  }
  const Json* mail = Member(event, "mail");
  const Json* account = mail == nullptr ? nullptr : Member(*mail, "sendingAccountId");
  if (account == nullptr || !account->is_string() ||
      account->get_ref<const std::string&>().empty()) {
    CountIgnored("no_account");
    return;
  }
  const Json* tags = Member(*mail, "tags");
  std::optional<std::string_view> set_name = FirstTagValue(tags, "ses:configuration-set");
  if (!set_name) {
    CountIgnored("no_configuration_set");
    return;
  }
  const Json* headers = Member(*mail, "headers");
  const Json* link_tags = nullptr;
  if (*kind == kClickKind) {
    const Json* click = Member(event, "click");
    if (click != nullptr) link_tags = Member(*click, "linkTags");
  }
  const std::string& account_id = account->get_ref<const std::string&>();

  std::lock_guard lock(mu_);
  auto set = sets_.find(SetKey{account_id, std::string(*set_name)});
  if (set == sets_.end()) return;
  for (auto& [dest_name, dest] : set->second) {
    if ((dest->kinds & (uint32_t{1} << *kind)) == 0) continue;
    std::vector<std::string> key;
    key.reserve(dest->dims.size() + 1);
    key.emplace_back(kKinds[*kind].metric_name);
    for (const Dimension& dim : dest->dims) {
      std::optional<std::string_view> value;
      switch (dim.source) {
        case DimensionValueSource::kMessageTag:
          value = FirstTagValue(tags, dim.name);
          break;
        case DimensionValueSource::kEmailHeader:
          value = HeaderValue(headers, dim.name);
          break;
        case DimensionValueSource::kLinkTag:
          value = FirstTagValue(link_tags, dim.name);
          break;
      }
      key.push_back(CutUtf8(value.value_or(dim.default_value), kMaxLabelValueBytes));
    }
    auto it = dest->series.find(key);
    if (it == dest->series.end()) {
      const bool overflow = dest->own_series >= max_series_;
      prometheus::Labels common = {
          {"account_id", CutUtf8(account_id, kMaxLabelValueBytes)},
          {"configuration_set", CutUtf8(*set_name, kMaxLabelValueBytes)},
          {"destination", CutUtf8(dest_name, kMaxLabelValueBytes)},
      };
      if (overflow) {
        if (dest->overflow == nullptr) dest->overflow = &overflow_->Add(common);
        dest->overflow->Increment();
        for (size_t i = 1; i < key.size(); ++i) key[i] = std::string(kOverflowValue);
        it = dest->series.find(key);
      }
      if (it == dest->series.end()) {
        prometheus::Labels labels = std::move(common);
        labels.emplace("event_type", key[0]);
        for (size_t i = 0; i < dest->label_names.size(); ++i) {
          labels.emplace(dest->label_names[i], key[i + 1]);
        }
        prometheus::Counter* counter = &events_->Add(labels);
        it = dest->series.emplace(std::move(key), counter).first;
        if (!overflow) ++dest->own_series;
      }
    }
    it->second->Increment();
  }
}

std::string EventMetrics::Serialize() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace herald::events
