/*
 * status_cli.h - `jibril status` (status_cli.c).
 */
#ifndef JB_SUP_STATUS_CLI_H
#define JB_SUP_STATUS_CLI_H

#include <stdio.h>

/* Ask the agent whose [agent] status_socket conf names (sock: that path
 * instead, conf unread) and print its status document to out: a table,
 * or the JSON as it came (json). 0, or a sysexits code after one line on
 * stderr (not root, no agent answers, a bad answer). */
int sup_status_cli(const char *conf, const char *sock, int json, FILE *out);

#endif
