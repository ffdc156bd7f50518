// The email checker's rules: is an address well formed, is it a role account or a
// free-mail address, does its domain look like a typo of a common one. Plain C with
// no Baton types, so the rules read on their own (see checks.h).
#include "checks.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char *const ROLE_ACCOUNTS[] = {
    "admin", "billing", "contact", "enquiries", "hello", "help", "hr", "info",
    "jobs", "marketing", "no-reply", "noreply", "office", "postmaster", "sales",
    "support", "team", "webmaster", NULL,
};

static const char *const FREE_MAIL[] = {
    "aol.com", "gmail.com", "gmx.com", "hotmail.com", "icloud.com", "live.com",
    "mail.com", "outlook.com", "proton.me", "protonmail.com", "yahoo.com", "yandex.com",
    NULL,
};

// Misspellings seen in real lead lists, and what they meant.
static const char *const TYPOS[][2] = {
    {"gmial.com", "gmail.com"},     {"gmal.com", "gmail.com"},
    {"gmail.co", "gmail.com"},      {"gmail.con", "gmail.com"},
    {"gnail.com", "gmail.com"},     {"hotmial.com", "hotmail.com"},
    {"hotmail.co", "hotmail.com"},  {"hotmal.com", "hotmail.com"},
    {"outlok.com", "outlook.com"},  {"outlook.co", "outlook.com"},
    {"yaho.com", "yahoo.com"},      {"yahoo.co", "yahoo.com"},
    {"yahooo.com", "yahoo.com"},    {"icloud.co", "icloud.com"},
    {NULL, NULL},
};

static int in_list(const char *const *list, const char *word) {
  for (; *list; list++) {
    if (strcmp(*list, word) == 0) return 1;
  }
  return 0;
}

static void add_issue(struct check_result *r, const char *text) {
  if (r->issue_count < MAX_ISSUES) {
    snprintf(r->issues[r->issue_count], sizeof r->issues[0], "%s", text);
    r->issue_count++;
  }
}

static int local_char_ok(char c) {
  return isalnum((unsigned char)c) || (c != '\0' && strchr(".!#$%&'*+/=?^_`{|}~-", c));
}

static int domain_char_ok(char c) {
  return isalnum((unsigned char)c) || c == '-' || c == '.';
}

void check_address(const char *raw, struct check_result *r) {
  memset(r, 0, sizeof *r);

  // Trim surrounding spaces and one pair of angle brackets ("Dana <dana@x.com>" keeps
  // only the address).
  const char *start = raw;
  const char *lt = strrchr(raw, '<');
  const char *gt = lt ? strchr(lt, '>') : NULL;
  size_t len;
  if (lt && gt) {
    start = lt + 1;
    len = (size_t)(gt - start);
  } else {
    while (*start == ' ' || *start == '\t') start++;
    len = strlen(start);
    while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t')) len--;
  }
  if (len >= sizeof r->normalized) {
    add_issue(r, "longer than 254 characters");
    return;
  }
  memcpy(r->normalized, start, len);
  r->normalized[len] = '\0';

  char *at = strrchr(r->normalized, '@');
  if (len == 0) {
    add_issue(r, "empty");
    return;
  }
  if (!at) {
    add_issue(r, "no @");
    return;
  }
  *at = '\0';
  const char *local = r->normalized;
  char *domain = at + 1;
  for (char *c = domain; *c; c++) *c = (char)tolower((unsigned char)*c);

  size_t local_len = strlen(local);
  if (local_len == 0) add_issue(r, "nothing before the @");
  if (local_len > 64) add_issue(r, "the part before the @ is longer than 64 characters");
  for (const char *c = local; *c; c++) {
    if (!local_char_ok(*c)) {
      add_issue(r, "a character that is not allowed before the @");
      break;
    }
  }
  if (local[0] == '.' || (local_len > 0 && local[local_len - 1] == '.') || strstr(local, "..")) {
    add_issue(r, "a dot at the start or end, or two dots in a row, before the @");
  }

  const char *dot = strrchr(domain, '.');
  if (*domain == '\0') {
    add_issue(r, "no domain after the @");
  } else if (!dot || dot == domain || strlen(dot + 1) < 2) {
    add_issue(r, "the domain has no top-level part (like .com)");
  }
  for (const char *c = domain; *c; c++) {
    if (!domain_char_ok(*c)) {
      add_issue(r, "a character that is not allowed in the domain");
      break;
    }
  }
  if (domain[0] == '.' || domain[0] == '-' || strstr(domain, "..")) {
    add_issue(r, "the domain starts with a dot or dash, or has two dots in a row");
  }

  for (int i = 0; TYPOS[i][0]; i++) {
    if (strcmp(domain, TYPOS[i][0]) == 0) {
      snprintf(r->suggestion, sizeof r->suggestion, "%s@%s", local, TYPOS[i][1]);
      add_issue(r, "the domain looks like a typo");
      break;
    }
  }

  r->valid = r->issue_count == 0;
  char lower_local[65] = {0};
  for (size_t i = 0; i < local_len && i < 64; i++) {
    lower_local[i] = (char)tolower((unsigned char)local[i]);
  }
  r->role_account = in_list(ROLE_ACCOUNTS, lower_local);
  r->free_mail = in_list(FREE_MAIL, domain);
  *at = '@';
}
