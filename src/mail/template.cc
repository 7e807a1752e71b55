#include "mail/template.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "base/strings.h"

namespace herald::mail {
namespace {

using nlohmann::json;

constexpr int kMaxDepth = 32;              // nested blocks, and nested arrays when printed
constexpr uint64_t kMaxSteps = 5'000'000;  // bounds the work of nested #each loops
constexpr size_t kMaxPathLength = 1024;

struct Node {
  enum Kind { kText, kVar, kIf, kUnless, kEach };
  Kind kind = kText;
  std::string text;  // literal text, or the path as written
  std::vector<Node> body;
  std::vector<Node> else_body;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string MissingError(std::string_view path) {
  return "Attribute '" + std::string(path) + "' is not present in the rendering data.";
}

Status CheckPath(std::string_view path) {
  if (path.empty()) return InvalidArgumentError("empty {{ }} expression in template");
  if (path.size() > kMaxPathLength) return InvalidArgumentError("template expression too long");
  for (char c : path) {
    if (IsSpace(c)) {
      return InvalidArgumentError("unsupported template expression '{{" + std::string(path) +
                                  "}}' (helpers with arguments are not supported)");
    }
    if (c == '{' || c == '}') {
      return InvalidArgumentError("invalid character in template expression");
    }
  }
  return Status::Ok();
}

class Parser {
 public:
  explicit Parser(std::string_view t) : t_(t) {}

  Status Parse(std::vector<Node>* out) {
    bool closed = false;
    RETURN_IF_ERROR(Block(out, nullptr, "", 0, &closed));
    return Status::Ok();
  }

 private:
  void AddText(std::vector<Node>* out, std::string_view text) {
    if (strip_next_) {
      while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
      strip_next_ = false;
    }
    if (text.empty()) return;
    Node n;
    n.kind = Node::kText;
    n.text.assign(text);
    out->push_back(std::move(n));
  }

  // Parses nodes until the matching {{/helper}} (or the end when helper is empty).
  Status Block(std::vector<Node>* out, std::vector<Node>* else_out, std::string_view helper,
               int depth, bool* closed) {
    std::vector<Node>* target = out;
    bool in_else = false;
    while (true) {
      size_t open = t_.find("{{", pos_);
      if (open == std::string_view::npos) {
        AddText(target, t_.substr(pos_));
        pos_ = t_.size();
        if (!helper.empty()) {
          return InvalidArgumentError("unclosed {{#" + std::string(helper) + "}} in template");
        }
        return Status::Ok();
      }
      AddText(target, t_.substr(pos_, open - pos_));
      // Comments: {{!-- ... --}} and {{! ... }}.
      if (t_.compare(open, 5, "{{!--") == 0) {
        size_t end = t_.find("--}}", open + 5);
        if (end == std::string_view::npos) return InvalidArgumentError("unclosed template comment");
        pos_ = end + 4;
        continue;
      }
      if (t_.compare(open, 3, "{{!") == 0) {
        size_t end = t_.find("}}", open + 3);
        if (end == std::string_view::npos) return InvalidArgumentError("unclosed template comment");
        pos_ = end + 2;
        continue;
      }
      bool triple = t_.compare(open, 3, "{{{") == 0;
      size_t inner_start = open + (triple ? 3 : 2);
      size_t close = t_.find(triple ? "}}}" : "}}", inner_start);
      if (close == std::string_view::npos) {
        return InvalidArgumentError("unclosed {{ in template");
      }
      std::string_view inner = t_.substr(inner_start, close - inner_start);
      pos_ = close + (triple ? 3 : 2);
      // Whitespace control: {{~ trims before, ~}} trims after.
      if (!inner.empty() && inner.front() == '~') {
        inner.remove_prefix(1);
        if (!target->empty() && target->back().kind == Node::kText) {
          std::string& prev = target->back().text;
          while (!prev.empty() && IsSpace(prev.back())) prev.pop_back();
        }
      }
      if (!inner.empty() && inner.back() == '~') {
        inner.remove_suffix(1);
        strip_next_ = true;
      }
      inner = TrimWhitespace(inner);
      if (triple) {
        RETURN_IF_ERROR(CheckPath(inner));
        Node n;
        n.kind = Node::kVar;
        n.text.assign(inner);
        target->push_back(std::move(n));
        continue;
      }
      if (!inner.empty() && inner.front() == '#') {
        std::string_view rest = TrimWhitespace(inner.substr(1));
        size_t sp = 0;
        while (sp < rest.size() && !IsSpace(rest[sp])) ++sp;
        std::string_view name = rest.substr(0, sp);
        std::string_view arg = TrimWhitespace(rest.substr(sp));
        Node n;
        if (name == "if") {
          n.kind = Node::kIf;
        } else if (name == "unless") {
          n.kind = Node::kUnless;
        } else if (name == "each") {
          n.kind = Node::kEach;
        } else {
          return InvalidArgumentError("unsupported block helper '{{#" + std::string(name) +
                                      "}}' in template");
        }
        if (arg.empty()) {
          return InvalidArgumentError("{{#" + std::string(name) + "}} needs an argument");
        }
        RETURN_IF_ERROR(CheckPath(arg));
        if (depth + 1 > kMaxDepth) {
          return InvalidArgumentError("template blocks nested deeper than " +
                                      std::to_string(kMaxDepth));
        }
        n.text.assign(arg);
        bool child_closed = false;
        RETURN_IF_ERROR(Block(&n.body, &n.else_body, name, depth + 1, &child_closed));
        target->push_back(std::move(n));
        continue;
      }
      if (!inner.empty() && inner.front() == '/') {
        std::string_view name = TrimWhitespace(inner.substr(1));
        if (helper.empty() || name != helper) {
          return InvalidArgumentError(
              "unexpected {{/" + std::string(name) + "}} in template" +
              (helper.empty() ? std::string() : " (expected {{/" + std::string(helper) + "}})"));
        }
        *closed = true;
        return Status::Ok();
      }
      if (inner == "else") {
        if (else_out == nullptr || in_else) {
          return InvalidArgumentError("unexpected {{else}} in template");
        }
        in_else = true;
        target = else_out;
        continue;
      }
      if (!inner.empty() &&
          (inner.front() == '>' || inner.front() == '^' || inner.front() == '&')) {
        return InvalidArgumentError("unsupported template expression '{{" + std::string(inner) +
                                    "}}'");
      }
      RETURN_IF_ERROR(CheckPath(inner));
      Node n;
      n.kind = Node::kVar;
      n.text.assign(inner);
      target->push_back(std::move(n));
    }
  }

  std::string_view t_;
  size_t pos_ = 0;
  bool strip_next_ = false;
};

struct Scope {
  explicit Scope(const json* c) : ctx(c) {}
  const json* ctx;
  bool in_each = false;
  size_t index = 0;
  size_t count = 0;
  const std::string* key = nullptr;  // when iterating an object
};

class Renderer {
 public:
  Renderer(const json& data, size_t max_output) : max_output_(max_output) {
    scopes_.emplace_back(&data);
  }

  Status Render(const std::vector<Node>& nodes) {
    for (const Node& n : nodes) {
      if (++steps_ > kMaxSteps) {
        return ResourceExhaustedError("template rendering takes too many steps");
      }
      switch (n.kind) {
        case Node::kText:
          RETURN_IF_ERROR(Append(n.text));
          break;
        case Node::kVar: {
          const json* v = Lookup(n.text);
          if (v == nullptr) return InvalidArgumentError(MissingError(n.text));
          std::string s;
          RETURN_IF_ERROR(ToText(*v, 0, &s));
          RETURN_IF_ERROR(Append(s));
          break;
        }
        case Node::kIf:
        case Node::kUnless: {
          const json* v = Lookup(n.text);
          bool truth = v != nullptr && Truthy(*v);
          if (n.kind == Node::kUnless) truth = !truth;
          RETURN_IF_ERROR(Render(truth ? n.body : n.else_body));
          break;
        }
        case Node::kEach:
          RETURN_IF_ERROR(Each(n));
          break;
      }
    }
    return Status::Ok();
  }

  std::string& out() { return out_; }

 private:
  Status Append(std::string_view s) {
    if (out_.size() + s.size() > max_output_) {
      return ResourceExhaustedError("rendered template exceeds " + std::to_string(max_output_) +
                                    " bytes");
    }
    out_ += s;
    return Status::Ok();
  }

  Status Each(const Node& n) {
    const json* v = Lookup(n.text);
    size_t count = 0;
    if (v != nullptr && (v->is_array() || v->is_object())) count = v->size();
    if (count == 0) return Render(n.else_body);
    size_t i = 0;
    for (auto it = v->begin(); it != v->end(); ++it, ++i) {
      if (++steps_ > kMaxSteps) {
        return ResourceExhaustedError("template rendering takes too many steps");
      }
      Scope s(&*it);
      s.in_each = true;
      s.index = i;
      s.count = count;
      if (v->is_object()) s.key = &it.key();
      scopes_.push_back(s);
      Status st = Render(n.body);
      scopes_.pop_back();
      RETURN_IF_ERROR(st);
    }
    return Status::Ok();
  }

  static const json* Child(const json* j, std::string_view seg) {
    if (j->is_object()) {
      auto it = j->find(std::string(seg));
      return it == j->end() ? nullptr : &*it;
    }
    if (j->is_array() && !seg.empty() && seg.size() < 10) {
      size_t idx = 0;
      for (char c : seg) {
        if (c < '0' || c > '9') return nullptr;
        idx = idx * 10 + static_cast<size_t>(c - '0');
      }
      return idx < j->size() ? &(*j)[idx] : nullptr;
    }
    return nullptr;
  }

  const json* Walk(const json* j, const std::vector<std::string_view>& segs, size_t from) {
    for (size_t i = from; i < segs.size() && j != nullptr; ++i) j = Child(j, segs[i]);
    return j;
  }

  // Resolves a path: this / this.a / a.b / ../a / @index, @key, @first, @last.
  const json* Lookup(std::string_view path) {
    size_t up = 0;
    while (path.substr(0, 3) == "../") {
      path.remove_prefix(3);
      ++up;
    }
    if (path.substr(0, 2) == "./") path.remove_prefix(2);
    if (up >= scopes_.size()) return nullptr;
    Scope& scope = scopes_[scopes_.size() - 1 - up];
    if (path == "this" || path == ".") return scope.ctx;
    if (!path.empty() && path.front() == '@') {
      if (!scope.in_each) return nullptr;
      // Data variables are materialised in scratch_, valid until the next Lookup.
      if (path == "@index") {
        scratch_ = scope.index;
      } else if (path == "@first") {
        scratch_ = scope.index == 0;
      } else if (path == "@last") {
        scratch_ = scope.index + 1 == scope.count;
      } else if (path == "@key" && scope.key != nullptr) {
        scratch_ = *scope.key;
      } else {
        return nullptr;
      }
      return &scratch_;
    }
    std::vector<std::string_view> segs;
    size_t start = 0;
    for (size_t i = 0; i <= path.size(); ++i) {
      if (i == path.size() || path[i] == '.') {
        std::string_view seg = path.substr(start, i - start);
        if (seg.size() >= 2 && seg.front() == '[' && seg.back() == ']') {
          seg = seg.substr(1, seg.size() - 2);
        }
        if (seg.empty()) return nullptr;
        segs.push_back(seg);
        start = i + 1;
      }
    }
    if (segs.front() == "this") return Walk(scope.ctx, segs, 1);
    if (up > 0) return Walk(scope.ctx, segs, 0);
    // A plain name is looked up in the current item, then in the enclosing contexts.
    for (size_t s = scopes_.size(); s-- > 0;) {
      const json* first = Child(scopes_[s].ctx, segs.front());
      if (first != nullptr) return Walk(first, segs, 1);
    }
    return nullptr;
  }

  static bool Truthy(const json& v) {
    switch (v.type()) {
      case json::value_t::null:
      case json::value_t::discarded:
        return false;
      case json::value_t::boolean:
        return v.get<bool>();
      case json::value_t::number_integer:
        return v.get<int64_t>() != 0;
      case json::value_t::number_unsigned:
        return v.get<uint64_t>() != 0;
      case json::value_t::number_float: {
        double d = v.get<double>();
        return d != 0 && !std::isnan(d);
      }
      case json::value_t::string:
        return !v.get_ref<const std::string&>().empty();
      case json::value_t::array:
        return !v.empty();
      default:
        return true;
    }
  }

  // Numbers and booleans as JSON text, strings raw, null empty, arrays comma-joined (as
  // JavaScript prints them), objects "[object Object]".
  static Status ToText(const json& v, int depth, std::string* out) {
    switch (v.type()) {
      case json::value_t::string:
        *out += v.get_ref<const std::string&>();
        return Status::Ok();
      case json::value_t::boolean:
        *out += v.get<bool>() ? "true" : "false";
        return Status::Ok();
      case json::value_t::number_integer:
        *out += std::to_string(v.get<int64_t>());
        return Status::Ok();
      case json::value_t::number_unsigned:
        *out += std::to_string(v.get<uint64_t>());
        return Status::Ok();
      case json::value_t::number_float: {
        double d = v.get<double>();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
          *out += std::to_string(static_cast<int64_t>(d));
        } else {
          *out += v.dump();
        }
        return Status::Ok();
      }
      case json::value_t::array: {
        if (depth >= kMaxDepth) return InvalidArgumentError("template value nested too deeply");
        bool first = true;
        for (const json& e : v) {
          if (!first) *out += ',';
          first = false;
          RETURN_IF_ERROR(ToText(e, depth + 1, out));
        }
        return Status::Ok();
      }
      case json::value_t::object:
        *out += "[object Object]";
        return Status::Ok();
      default:
        return Status::Ok();
    }
  }

  size_t max_output_;
  std::vector<Scope> scopes_;
  std::string out_;
  json scratch_;
  uint64_t steps_ = 0;
};

}  // namespace

StatusOr<std::string> RenderTemplate(std::string_view tmpl, const nlohmann::json& data,
                                     size_t max_output) {
  std::vector<Node> nodes;
  Parser parser(tmpl);
  RETURN_IF_ERROR(parser.Parse(&nodes));
  Renderer renderer(data, max_output);
  RETURN_IF_ERROR(renderer.Render(nodes));
  return std::move(renderer.out());
}

}  // namespace herald::mail
