// The `email-checker` plugin (C, built with clang, wasi-libc and wit-bindgen's C
// bindings): checks the email addresses of a lead list before anything is sent to
// them. Each address is checked for form, role accounts (sales@, info@), free-mail
// providers and domain typos (gmial.com), and normalized ("Dana <Dana@ACME.com>" ->
// "Dana@acme.com").
//
// Build: `make` (see Makefile). Try it: `host invoke <email_checker.wasm> --input-file test-input.json`.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "json.h"
#include "plugin.h"

static const char INPUT_SCHEMA[] =
    "{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\","
    " \"title\": \"Email addresses to check\", \"type\": \"object\", \"required\": [\"addresses\"],"
    " \"properties\": {\"addresses\": {\"type\": \"array\", \"maxItems\": 10000,"
    " \"items\": {\"type\": \"string\", \"maxLength\": 1000}}}}";

static const char OUTPUT_SCHEMA[] =
    "{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\","
    " \"title\": \"The check of each address\", \"type\": \"object\","
    " \"required\": [\"checked\", \"valid\", \"results\"],"
    " \"properties\": {\"checked\": {\"type\": \"integer\"}, \"valid\": {\"type\": \"integer\"},"
    " \"results\": {\"type\": \"array\", \"items\": {\"type\": \"object\","
    " \"required\": [\"address\", \"normalized\", \"valid\", \"role_account\", \"free_mail\", \"issues\"],"
    " \"properties\": {\"address\": {\"type\": \"string\"}, \"normalized\": {\"type\": \"string\"},"
    " \"valid\": {\"type\": \"boolean\"}, \"role_account\": {\"type\": \"boolean\"},"
    " \"free_mail\": {\"type\": \"boolean\"}, \"suggestion\": {\"type\": \"string\"},"
    " \"issues\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}}}}}}}";

void exports_baton_plugin_tool_describe(exports_baton_plugin_tool_tool_info_t *ret) {
  // Everything returned is freed by the bindings after the call: hand over copies.
  plugin_string_dup(&ret->name, "email-checker");
  plugin_string_dup(&ret->version, "0.1.0");
  plugin_string_dup(&ret->summary,
                    "Checks lead email addresses: form, role accounts, free mail and domain typos");
  plugin_string_dup(&ret->input_schema, INPUT_SCHEMA);
  plugin_string_dup(&ret->output_schema, OUTPUT_SCHEMA);
  ret->capabilities.ptr = NULL;
  ret->capabilities.len = 0;
}

static void log_line(baton_plugin_log_level_t level, const char *text) {
  plugin_string_t message;
  plugin_string_set(&message, text);
  baton_plugin_log_write(level, &message);
}

bool exports_baton_plugin_tool_invoke(plugin_string_t *input, plugin_string_t *ret,
                                      exports_baton_plugin_tool_tool_error_t *err) {
  char **addresses = NULL;
  long count = json_string_array((const char *)input->ptr, input->len, "addresses", &addresses);
  plugin_string_free(input);
  if (count < 0) {
    err->tag = EXPORTS_BATON_PLUGIN_TOOL_TOOL_ERROR_INVALID_INPUT;
    plugin_string_dup(&err->val.invalid_input,
                      "input: expected {\"addresses\": [\"name@example.com\", ...]}");
    return false;
  }

  struct buffer out = {0};
  struct check_result result;
  long valid = 0;
  buf_raw(&out, "{\"results\": [");
  for (long i = 0; i < count; i++) {
    check_address(addresses[i], &result);
    valid += result.valid;
    if (i > 0) buf_raw(&out, ", ");
    buf_raw(&out, "{\"address\": ");
    buf_string(&out, addresses[i]);
    buf_raw(&out, ", \"normalized\": ");
    buf_string(&out, result.normalized);
    buf_raw(&out, ", \"valid\": ");
    buf_bool(&out, result.valid);
    buf_raw(&out, ", \"role_account\": ");
    buf_bool(&out, result.role_account);
    buf_raw(&out, ", \"free_mail\": ");
    buf_bool(&out, result.free_mail);
    if (result.suggestion[0]) {
      buf_raw(&out, ", \"suggestion\": ");
      buf_string(&out, result.suggestion);
    }
    buf_raw(&out, ", \"issues\": [");
    for (int k = 0; k < result.issue_count; k++) {
      if (k > 0) buf_raw(&out, ", ");
      buf_string(&out, result.issues[k]);
    }
    buf_raw(&out, "]}");
    free(addresses[i]);
  }
  free(addresses);

  char tail[64];
  snprintf(tail, sizeof tail, "], \"checked\": %ld, \"valid\": %ld}", count, valid);
  buf_raw(&out, tail);
  char line[96];
  snprintf(line, sizeof line, "checked %ld addresses, %ld valid", count, valid);
  log_line(BATON_PLUGIN_LOG_LEVEL_INFO, line);

  // The buffer becomes the result; the bindings free it after the call.
  ret->ptr = (uint8_t *)out.data;
  ret->len = out.len;
  return true;
}
