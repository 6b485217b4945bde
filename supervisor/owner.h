/*
 * owner.h - who may change what the root supervisor trusts: its
 * configuration file, its output files and the directories above them and
 * above the recipe directory (owner.c).
 */
#ifndef JB_SUP_OWNER_H
#define JB_SUP_OWNER_H

#include <stddef.h>

#include "common/kind.h"
#include "supervisor/config.h"

/* jibril.conf itself (the owner and mode jb_config_load() read from the
 * descriptor it parsed): root's, not writable by group or others. 0, or
 * -1 with "PATH: why" in err. */
int sup_owner_config(const struct jb_config *c, const char *path, char *err, size_t errlen);

/* Walk from / to the directory that holds path, through descriptors
 * (O_PATH, O_NOFOLLOW at each step below the parent's real path), and
 * check that each directory is root's and not writable by group or others
 * unless it is sticky (like /tmp: others cannot rename what they do not
 * own). Returns an O_PATH descriptor of that directory and sets *base to
 * the last component of path (to open with openat and O_NOFOLLOW), or -1
 * with "CONF:LINE: KEY: DIR: why" in err. */
int sup_owner_parent(const char *path, const char *conf_path, int line, const char *key,
		     const char **base, char *err, size_t errlen);

/* An output file of row k (the kinds table row kind_index): its parent
 * chain as above; then, opened (fd >= 0: checked with fstat) or, with fd
 * < 0, as it exists now (absent is fine: it will be created root's, mode
 * 0600; so is a missing directory, then the directories that exist are
 * checked): a regular file, root's, not writable by group or others. 0, or -1
 * with "CONF:LINE: [printers] NAME: PATH: why" in err. */
int sup_owner_output(const struct jb_config *c, const char *conf_path, const struct jb_kind *k,
		     size_t kind_index, int fd, char *err, size_t errlen);
/* The directory that holds row k's output file, made (0700, root's, one
 * missing component at a time below the deepest one there is) if it is
 * missing, and then walked and checked as sup_owner_parent does: its
 * O_PATH descriptor with *base the file's name, or -1 with err. */
int sup_owner_output_dir(const struct jb_config *c, const char *conf_path,
			 const struct jb_kind *k, size_t kind_index, const char **base, char *err,
			 size_t errlen);
/* Open it for appending (created 0600, its directory as above), every
 * check above made on the descriptors used: the file's fd, or -1 with err. */
int sup_owner_open_output(const struct jb_config *c, const char *conf_path,
			  const struct jb_kind *k, size_t kind_index, char *err, size_t errlen);

/* Start-up, --check-config and SIGHUP: the configuration file and every
 * output file the rows of kinds[0..n) enable. */
int sup_owner_check(const struct jb_config *c, const char *conf_path, const struct jb_kind *kinds,
		    size_t n, char *err, size_t errlen);

#endif
