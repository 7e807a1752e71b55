#include "mail/template.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace herald::mail {
namespace {

using nlohmann::json;

std::string Render(std::string_view t, const json& data) {
  auto r = RenderTemplate(t, data);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : "<error>";
}

Status RenderError(std::string_view t, const json& data, size_t max_output = 1 << 20) {
  auto r = RenderTemplate(t, data, max_output);
  EXPECT_FALSE(r.ok()) << t;
  return r.ok() ? Status::Ok() : r.status();
}

TEST(TemplateTest, Variables) {
  json data = {{"name", "Ana"},      {"count", 3},
               {"price", 2.5},       {"whole", 4.0},
               {"ok", true},         {"none", nullptr},
               {"html", "<b>&</b>"}, {"user", {{"address", {{"city", "Lyon"}}}}},
               {"list", {1, "two"}}, {"obj", {{"a", 1}}}};
  EXPECT_EQ(
      Render("Hi {{name}}, you have {{ count }} items at {{price}} ({{whole}}) {{ok}}.", data),
      "Hi Ana, you have 3 items at 2.5 (4) true.");
  EXPECT_EQ(Render("[{{none}}]", data), "[]");
  EXPECT_EQ(Render("{{html}}|{{{html}}}", data), "<b>&</b>|<b>&</b>");
  EXPECT_EQ(Render("{{user.address.city}}", data), "Lyon");
  EXPECT_EQ(Render("{{list}} {{list.1}} {{obj}}", data), "1,two two [object Object]");
  EXPECT_EQ(Render("no tags at all", data), "no tags at all");
  EXPECT_EQ(Render("", data), "");
}

TEST(TemplateTest, MissingVariableIsSesError) {
  Status st = RenderError("Hello {{user.first}}", json{{"user", json::object()}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "Attribute 'user.first' is not present in the rendering data.");
  Status st2 = RenderError("{{name}}", json::object());
  EXPECT_EQ(st2.message(), "Attribute 'name' is not present in the rendering data.");
  // Data that is not an object has no attributes.
  Status st3 = RenderError("{{name}}", json::array());
  EXPECT_EQ(st3.message(), "Attribute 'name' is not present in the rendering data.");
}

TEST(TemplateTest, IfUnlessElse) {
  json data = {{"yes", true},           {"no", false},           {"zero", 0}, {"empty", ""},
               {"list", json::array()}, {"obj", json::object()}, {"s", "x"}};
  EXPECT_EQ(Render("{{#if yes}}A{{else}}B{{/if}}", data), "A");
  EXPECT_EQ(Render("{{#if no}}A{{else}}B{{/if}}", data), "B");
  EXPECT_EQ(Render("{{#if missing}}A{{else}}B{{/if}}", data), "B");
  EXPECT_EQ(Render("{{#if zero}}A{{/if}}{{#if empty}}B{{/if}}{{#if list}}C{{/if}}", data), "");
  EXPECT_EQ(Render("{{#if obj}}A{{/if}}{{#if s}}B{{/if}}", data), "AB");
  EXPECT_EQ(Render("{{#unless no}}A{{else}}B{{/unless}}{{#unless yes}}C{{/unless}}", data), "A");
  EXPECT_EQ(Render("{{#if yes}}{{#if no}}x{{else}}{{#unless missing}}deep{{/unless}}{{/if}}{{/if}}",
                   data),
            "deep");
}

TEST(TemplateTest, Each) {
  json data = {{"items", {{{"name", "a"}, {"qty", 1}}, {{"name", "b"}, {"qty", 2}}}},
               {"tags", {"x", "y", "z"}},
               {"shop", "S"},
               {"map", {{"k1", "v1"}, {"k2", "v2"}}},
               {"none", json::array()}};
  EXPECT_EQ(Render("{{#each items}}{{@index}}:{{name}}x{{this.qty}};{{/each}}", data),
            "0:ax1;1:bx2;");
  EXPECT_EQ(Render("{{#each tags}}{{this}}{{#unless @last}},{{/unless}}{{/each}}", data), "x,y,z");
  EXPECT_EQ(Render("{{#each tags}}{{#if @first}}^{{/if}}{{this}}{{/each}}", data), "^xyz");
  EXPECT_EQ(Render("{{#each items}}{{shop}}-{{../shop}}-{{name}} {{/each}}", data), "S-S-a S-S-b ");
  EXPECT_EQ(Render("{{#each map}}{{@key}}={{this}};{{/each}}", data), "k1=v1;k2=v2;");
  EXPECT_EQ(Render("{{#each none}}x{{else}}empty{{/each}}", data), "empty");
  EXPECT_EQ(Render("{{#each missing}}x{{else}}empty{{/each}}", data), "empty");
  EXPECT_EQ(Render("{{#each items}}{{#each ../tags}}{{this}}{{/each}}|{{/each}}", data),
            "xyz|xyz|");
  Status st = RenderError("{{#each items}}{{nope}}{{/each}}", data);
  EXPECT_EQ(st.message(), "Attribute 'nope' is not present in the rendering data.");
  Status idx = RenderError("{{@index}}", data);
  EXPECT_EQ(idx.message(), "Attribute '@index' is not present in the rendering data.");
}

TEST(TemplateTest, CommentsAndWhitespaceControl) {
  json data = {{"a", "A"}};
  EXPECT_EQ(Render("x{{! a comment }}y{{!-- {{a}} --}}z", data), "xyz");
  EXPECT_EQ(Render("x   {{~a~}}   y", data), "xAy");
}

TEST(TemplateTest, SyntaxErrors) {
  json data = {{"a", true}};
  for (std::string t :
       {"{{#if a}}x", "{{#if a}}x{{/unless}}", "x{{/if}}", "{{a", "{{{a}}", "{{#with a}}x{{/with}}",
        "{{#if}}x{{/if}}", "{{else}}", "{{#if a}}x{{else}}y{{else}}z{{/if}}", "{{lookup a b}}",
        "{{> partial}}", "{{}}", "{{!-- unclosed", "{{#each a}}{{/each}}{{/each}}"}) {
    Status st = RenderError(t, data);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << t;
  }
}

TEST(TemplateTest, NestingCap) {
  std::string ok, deep;
  for (int i = 0; i < 32; ++i) ok += "{{#if a}}";
  ok += "x";
  for (int i = 0; i < 32; ++i) ok += "{{/if}}";
  EXPECT_EQ(Render(ok, json{{"a", true}}), "x");
  for (int i = 0; i < 33; ++i) deep += "{{#if a}}";
  Status st = RenderError(deep, json{{"a", true}});
  EXPECT_NE(st.message().find("nested deeper"), std::string::npos);
}

TEST(TemplateTest, OutputCap) {
  json data = {{"s", std::string(100, 'x')}};
  auto r = RenderTemplate("{{s}}{{s}}", data, 200);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 200u);
  Status st = RenderError("{{s}}{{s}}{{s}}", data, 200);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
}

TEST(TemplateTest, WorkCap) {
  json list = json::array();
  for (int i = 0; i < 1000; ++i) list.push_back(i);
  json data = {{"l", list}};
  // 10^9 iterations that print nothing: stopped by the step budget, not by the output cap.
  Status st =
      RenderError("{{#each l}}{{#each ../l}}{{#each ../../l}}{{/each}}{{/each}}{{/each}}", data);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
}

TEST(TemplateTest, DeeplyNestedArrayValue) {
  json v = 1;
  for (int i = 0; i < 100; ++i) v = json::array({v});
  Status st = RenderError("{{v}}", json{{"v", v}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace herald::mail
