/*
 * pins.h - maps and links pinned on bpffs, so the kernel side outlives
 * the supervisor (pins.c; loader.c resumes them).
 */
#ifndef JB_PINS_H
#define JB_PINS_H

#include <limits.h>
#include <stddef.h>

#include "bpf/jibril.h"

struct bpf_map;
struct bpf_object;
struct bpf_object_skeleton;

struct jb_pins {
	int dir_fd;		/* -1: pinning is off; else held with an exclusive flock */
	char dir[PATH_MAX];
};

/* Open (make, 0700) dir on bpffs (mounting /sys/fs/bpf when dir is under
 * it and nothing is mounted there), and lock it. dir "" or NULL: pinning
 * off, p->dir_fd = -1, returns 0. -1 with err (prefixed by where, e.g.
 * "jibril.conf:12") when it cannot be used or another jibril holds it. */
int jb_pins_open(struct jb_pins *p, const char *dir, const char *where, char *err, size_t errlen);
/* Warn (log) of every jibril pin directory directly under /sys/fs/bpf
 * other than own (may be NULL or "") that has links pinned and that no
 * process holds locked: programs left recording with nobody to read them
 * (pin_dir changed or emptied after a crash, or kept on stop). */
void jb_pins_warn_orphans(const char *own);
/* The pinned jb_meta: 0 and *meta; 1 when a jb_meta of another layout is
 * pinned (meta->layout_version 0); -1 when none is. */
int jb_pins_read_meta(struct jb_pins *p, struct jb_meta *meta);
/* 1 when anything is pinned (maps or links). */
int jb_pins_any(const struct jb_pins *p);
/* 1 when a link is pinned: programs were left attached. */
int jb_pins_linked(const struct jb_pins *p);
/* A new fd of the pinned map name, or -1. */
int jb_pins_map_fd(const struct jb_pins *p, const char *name);
/* 0 when every pinnable map of the opened (not loaded) obj is pinned with
 * the same definition; -1 with why. */
int jb_pins_check_maps(const struct jb_pins *p, struct bpf_object *obj, char *why, size_t len);
/* 0 when the pinned global-data map m (.bss) holds the variables of the
 * opened obj at the same offsets (its BTF); -1 with why. check_maps does
 * it for every such map. */
int jb_pins_check_vars(const struct jb_pins *p, struct bpf_object *obj, const struct bpf_map *m,
		       char *why, size_t len);
/* Before load: each pinnable map of obj is reused from, or pinned at,
 * PIN_DIR/maps/NAME. */
int jb_pins_set_paths(const struct jb_pins *p, struct bpf_object *obj);
/* After attach: pin every link of s over the old one of its program, and
 * remove the pinned links of programs s did not attach. 0, or -1 when one
 * could not be pinned (logged; it stays attached while we run). */
int jb_pins_links(const struct jb_pins *p, const struct bpf_object_skeleton *s);
/* Unpin everything (links first): what is not held by a process detaches
 * and is freed. The number of pins removed, or -1. */
int jb_pins_remove(struct jb_pins *p);
/* Release the lock; remove_dir_too: unpin all and remove the directory
 * (which goes anyway when nothing is pinned there). */
void jb_pins_close(struct jb_pins *p, int remove_dir_too);

#endif
