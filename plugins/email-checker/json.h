#ifndef EMAIL_CHECKER_JSON_H
#define EMAIL_CHECKER_JSON_H

#include <stddef.h>

// Just enough JSON for this plugin: read the strings of one array member of an object,
// and write JSON text into a growing buffer. The host has already checked the input
// against the input schema, so the reader reports, but need not explain, malformed text.

// Reads `{"<key>": ["...", ...], ...}`. On success returns the number of strings and
// sets *items to a malloc'ed array of malloc'ed UTF-8 strings; on error returns -1.
long json_string_array(const char *text, size_t len, const char *key, char ***items);

struct buffer {
  char *data;
  size_t len, cap;
};

void buf_raw(struct buffer *b, const char *text);
// Writes `text` as a JSON string, quotes included.
void buf_string(struct buffer *b, const char *text);
void buf_bool(struct buffer *b, int value);

#endif
