/*
 * file.h - whole small files: read one, copy one, remove a temp tree.
 */
#ifndef TL_FILE_H
#define TL_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* the whole file, malloc'd and NUL terminated (*len without the NUL);
 * NULL if unreadable or over 256 MiB */
char *tl_slurp(const char *path, size_t *len);
/* to (created or truncated, then chmod mode) gets from's bytes; 0 on success */
int tl_copy_file(const char *from, const char *to, mode_t mode);
/* rm -rf dir, but only when dir starts with prefix (a temp dir of ours) */
void tl_rm_tree(const char *dir, const char *prefix);

#endif
