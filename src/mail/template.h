// mail/template.h: the Handlebars subset SES supports in templates.
//
// Contract: {{name}}, {{a.b.c}} (nested paths), {{#if x}}...{{else}}...{{/if}},
// {{#unless x}}...{{/unless}}, {{#each list}}...{{this}}/{{field}}...{{/each}}, and
// {{{name}}} (same as {{name}}: SES does not HTML-escape). A variable that is missing
// from the data is an error, "Attribute 'a.b' is not present in the rendering data." (the
// Rendering Failure text), as SES reports it; inside #if/#unless a missing value is false.
// Unbalanced blocks are kInvalidArgument. Output is bounded: at most `max_output` bytes.
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
