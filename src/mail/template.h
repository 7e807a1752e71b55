// mail/template.h: the Handlebars subset SES supports in templates.
//
// Contract: {{name}}, {{a.b.c}} (nested paths; array elements as {{list.0}}),
// {{#if x}}...{{else}}...{{/if}}, {{#unless x}}...{{/unless}},
// {{#each list}}...{{this}}/{{this.field}}/{{field}}/{{@index}}...{{else}}...{{/each}}
// (arrays, and objects with {{@key}}; also {{@first}}, {{@last}}, {{../name}}),
// {{! comments }}, {{~ whitespace control ~}}, and {{{name}}} (same as {{name}}: SES does
// not HTML-escape). Strings render raw, numbers and booleans as JSON text (3, true), null
// as nothing. A plain name is looked up in the current #each item, then in the enclosing
// contexts. A variable that is missing from the data is kInvalidArgument with exactly
// "Attribute 'a.b' is not present in the rendering data." (the Rendering Failure text), as
// SES reports it; inside #if/#unless/#each a missing value is false/empty. Unbalanced
// blocks, unknown helpers and helper calls with arguments are kInvalidArgument.
// Bounds: blocks nest at most 32 deep; output is at most `max_output` bytes and the work
// at most 5,000,000 steps (kResourceExhausted beyond either).
// Thread-safety: pure function.
// Trust: both the template and the data are hostile API input; nesting depth is capped.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "base/status.h"

namespace herald::mail {

StatusOr<std::string> RenderTemplate(std::string_view tmpl, const nlohmann::json& data,
                                     size_t max_output = 10 * 1024 * 1024);

}  // namespace herald::mail
