#ifndef EMAIL_CHECKER_CHECKS_H
#define EMAIL_CHECKER_CHECKS_H

#define MAX_ISSUES 4

struct check_result {
  // The address without a display name or surrounding spaces, its domain lowercased.
  char normalized[255];
  // Whether it is well formed (no issues).
  int valid;
  // A shared inbox such as sales@ or info@: a person rarely reads it.
  int role_account;
  // A free-mail provider such as gmail.com: not a company address.
  int free_mail;
  // The likely meant address when the domain looks like a typo, else empty.
  char suggestion[255];
  int issue_count;
  char issues[MAX_ISSUES][96];
};

// Checks one address as written in a lead list, e.g. "Dana Ortiz <dana@acme.com>".
void check_address(const char *address, struct check_result *result);

#endif
