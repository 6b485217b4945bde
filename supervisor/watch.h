/*
 * watch.h - the paths whose kernel records the protected maps keep
 * (watch.c), computed from the running recipe set before the BPF load.
 */
#ifndef JB_SUP_WATCH_H
#define JB_SUP_WATCH_H

struct rcp_set;

/* Call add() for every path the kernel should protect: for each enabled
 * file_access recipe of set, each bases entry with both dir and base as
 * one path (the file may appear later), and the files now in each
 * dir-only entry's directory; for regex-only entries, the matching files
 * in the places their recipes name (search, expect; "~" is each account's
 * home). base-only entries cannot be enumerated; their files live in the
 * ordinary maps. Returns the number of paths. */
int sup_watch_paths(const struct rcp_set *set, void (*add)(const char *path, void *arg),
		    void *arg);

#endif
