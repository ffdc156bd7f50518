#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
  const char *p, *end;
};

static void skip_space(struct cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')) c->p++;
}

static int hex4(const char *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char h = p[i];
    v <<= 4;
    if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
    else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
    else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
    else return 0;
  }
  *out = v;
  return 1;
}

static size_t put_utf8(char *out, unsigned cp) {
  if (cp < 0x80) { out[0] = (char)cp; return 1; }
  if (cp < 0x800) { out[0] = (char)(0xC0 | cp >> 6); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | cp >> 12); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F)); return 3;
  }
  out[0] = (char)(0xF0 | cp >> 18); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F)); return 4;
}

// Reads a string at the cursor (which is on its opening quote) into a new buffer.
static char *read_string(struct cursor *c) {
  if (c->p >= c->end || *c->p != '"') return NULL;
  c->p++;
  // Decoded text is never longer than the escaped text.
  char *out = malloc((size_t)(c->end - c->p) + 1);
  if (!out) return NULL;
  size_t n = 0;
  while (c->p < c->end && *c->p != '"') {
    char ch = *c->p++;
    if (ch != '\\') { out[n++] = ch; continue; }
    if (c->p >= c->end) break;
    char esc = *c->p++;
    switch (esc) {
      case 'n': out[n++] = '\n'; break;
      case 't': out[n++] = '\t'; break;
      case 'r': out[n++] = '\r'; break;
      case 'b': out[n++] = '\b'; break;
      case 'f': out[n++] = '\f'; break;
      case 'u': {
        unsigned cp;
        if (c->end - c->p < 4 || !hex4(c->p, &cp)) { free(out); return NULL; }
        c->p += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u') {
          unsigned low;
          if (hex4(c->p + 2, &low) && low >= 0xDC00 && low < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            c->p += 6;
          }
        }
        n += put_utf8(out + n, cp);
        break;
      }
      default: out[n++] = esc; break;  // \" \\ \/
    }
  }
  if (c->p >= c->end) { free(out); return NULL; }
  c->p++;  // closing quote
  out[n] = '\0';
  return out;
}

// Skips any value: a string, or everything up to the matching close of an array or
// object, or a bare word or number.
static int skip_value(struct cursor *c) {
  skip_space(c);
  if (c->p >= c->end) return 0;
  if (*c->p == '"') {
    char *s = read_string(c);
    if (!s) return 0;
    free(s);
    return 1;
  }
  if (*c->p == '[' || *c->p == '{') {
    int depth = 0;
    while (c->p < c->end) {
      if (*c->p == '"') {
        char *s = read_string(c);
        if (!s) return 0;
        free(s);
        continue;
      }
      if (*c->p == '[' || *c->p == '{') depth++;
      if (*c->p == ']' || *c->p == '}') depth--;
      c->p++;
      if (depth == 0) return 1;
    }
    return 0;
  }
  while (c->p < c->end && !strchr(",]} \n\r\t", *c->p)) c->p++;
  return 1;
}

long json_string_array(const char *text, size_t len, const char *key, char ***items) {
  struct cursor c = {text, text + len};
  skip_space(&c);
  if (c.p >= c.end || *c.p++ != '{') return -1;
  for (;;) {
    skip_space(&c);
    if (c.p < c.end && *c.p == '}') return -1;  // the key is missing
    char *name = read_string(&c);
    if (!name) return -1;
    skip_space(&c);
    if (c.p >= c.end || *c.p++ != ':') { free(name); return -1; }
    skip_space(&c);
    int match = strcmp(name, key) == 0;
    free(name);
    if (!match) {
      if (!skip_value(&c)) return -1;
      skip_space(&c);
      if (c.p < c.end && *c.p == ',') { c.p++; continue; }
      return -1;
    }
    if (c.p >= c.end || *c.p++ != '[') return -1;
    size_t cap = 8, count = 0;
    char **list = malloc(cap * sizeof *list);
    if (!list) return -1;
    for (;;) {
      skip_space(&c);
      if (c.p < c.end && *c.p == ']') break;
      char *s = read_string(&c);
      if (!s) goto fail;
      if (count == cap) {
        cap *= 2;
        char **grown = realloc(list, cap * sizeof *list);
        if (!grown) { free(s); goto fail; }
        list = grown;
      }
      list[count++] = s;
      skip_space(&c);
      if (c.p < c.end && *c.p == ',') c.p++;
    }
    *items = list;
    return (long)count;
  fail:
    for (size_t i = 0; i < count; i++) free(list[i]);
    free(list);
    return -1;
  }
}

static void reserve(struct buffer *b, size_t more) {
  if (b->len + more + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more + 1) cap *= 2;
  char *grown = realloc(b->data, cap);
  if (!grown) abort();  // out of the plugin's memory limit: the host reports the trap
  b->data = grown;
  b->cap = cap;
}

void buf_raw(struct buffer *b, const char *text) {
  size_t n = strlen(text);
  reserve(b, n);
  memcpy(b->data + b->len, text, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void buf_string(struct buffer *b, const char *text) {
  buf_raw(b, "\"");
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    char esc[8];
    switch (*p) {
      case '"': buf_raw(b, "\\\""); break;
      case '\\': buf_raw(b, "\\\\"); break;
      case '\n': buf_raw(b, "\\n"); break;
      case '\r': buf_raw(b, "\\r"); break;
      case '\t': buf_raw(b, "\\t"); break;
      default:
        if (*p < 0x20) {
          snprintf(esc, sizeof esc, "\\u%04x", *p);
          buf_raw(b, esc);
        } else {
          reserve(b, 1);
          b->data[b->len++] = (char)*p;
          b->data[b->len] = '\0';
        }
    }
  }
  buf_raw(b, "\"");
}

void buf_bool(struct buffer *b, int value) { buf_raw(b, value ? "true" : "false"); }
