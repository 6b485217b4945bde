/*
 * child_main.c - main() of every child executable (jibril-worker,
 * jibril-printer, jibril-netprinter, jibril-exporter): the supervisor's
 * spawn.c starts one as
 *   NAME --role ROLE --kind KIND --generation N --uid UID --log-level L
 * with fds 0-3 (and 4, 5 when its row says so) laid out, and it runs the
 * entry point of its row of the kind table. Each executable is this file
 * linked with its own build of supervisor/kinds.c (-DJB_KINDS_WORKER, ...),
 * in which only its rows have code: it links only their libraries.
 *
 * Invariants:
 *  - a kind of another binary (its row has no entry here) or a role that
 *    is not the row's is refused, before anything runs;
 *  - a process not started by the supervisor (no IPC socket on fd 3) is
 *    refused with one sentence: these are not commands.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/child.h"
#include "common/kind.h"
#include "common/log.h"
#include "ipc/msg.h"

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"role", required_argument, NULL, 'r'},
		{"kind", required_argument, NULL, 'k'},
		{"generation", required_argument, NULL, 'g'},
		{"log-level", required_argument, NULL, 'l'},
		{"uid", required_argument, NULL, 'u'},
		{NULL, 0, NULL, 0},
	};
	const char *self = jb_kinds_bin >= 0 && jb_kinds_bin < JB_BIN_N ? jb_bin_names[jb_kinds_bin]
									: "jibril-child";
	const char *role = NULL, *kind = NULL;
	struct jb_child_args args = {0, 0};
	const struct jb_kind *k;
	int level = LOG_L_INFO, c;
	char name[80];

	/* spawn.c hands over fds 0-3 at least; anything else started us */
	for (int fd = 0; fd <= JB_CHILD_IPC_FD; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			fprintf(stderr, "%s: a child of the jibril supervisor, which starts it; "
				"not a command (run jibril)\n", self);
			return EX_USAGE;
		}
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': role = optarg; break;
		case 'k': kind = optarg; break;
		case 'g': args.generation = strtoull(optarg, NULL, 10); break;
		case 'u': args.uid = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'l': level = atoi(optarg); break;
		default: return EX_USAGE;
		}
	}
	snprintf(name, sizeof(name), "%s", kind ? kind : role ? role : self);
	log_init(name, level);
	if (!role || !kind || optind != argc)
		fatalx("%s: needs --role and --kind (the supervisor starts it)", self);
	k = jb_kind_find(jb_kinds, jb_nkinds, kind);
	if (!k)
		fatalx("%s: no kind %s in the table", self, kind);
	if ((int)k->bin != jb_kinds_bin || !k->entry)
		fatalx("%s: kind %s runs in %s, not here", self, k->name,
		       k->bin < JB_BIN_N ? jb_bin_names[k->bin] : "?");
	if (strcmp(role, ipc_role_name(k->role)) != 0)
		fatalx("kind %s is a %s, not a %s", k->name, ipc_role_name(k->role), role);
	k->entry(k, &args);
	fatalx("kind %s returned from its entry point", k->name);
}
