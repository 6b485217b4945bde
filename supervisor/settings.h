/*
 * settings.h - the supervisor's side of a kind's own section ([NAME],
 * common/kind.h): the files its keys name are judged like owner.c judges
 * the output file, read by the supervisor, and handed to the child with
 * every other value in a sealed memfd (common/settings.h); its directory
 * is made for the kind's uid and handed over as fd 4.
 */
#ifndef JB_SUP_SETTINGS_H
#define JB_SUP_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "common/kind.h"
#include "supervisor/config.h"

/* Start-up, --check-config and SIGHUP (from sup_owner_check): for every
 * row of jb_kinds that c enables and that has settings, each SECRET key's
 * file is a regular file root owns with no group or other permission, each
 * FILE key's root's and not writable by group or others, both within their
 * size and below directories root owns (owner.c); a DIR key's directory,
 * if it exists, is a directory owned by the kind's uid, and it is not, does
 * not hold and does not lie in a directory the supervisor trusts (the audit
 * log's, an output file's, the recipes', the config's; nor is or holds
 * the audit key's). Nothing is created. 0, or -1 with "CONF:LINE: [NAME] key: PATH: why" in err. */
int sup_settings_check(const struct jb_config *c, const char *conf_path, char *err,
		       size_t errlen);

/* Before the privilege drop, for row kind_index (uid: the kind's uid):
 * the sealed memfd of its settings (*set_fd) and, when it has a DIR key,
 * that directory (made if missing: parents root's 0755, itself the kind's,
 * 0700; one that exists must be the kind's already, it is never taken
 * over), opened O_DIRECTORY (*dir_fd, else -1). 0, or -1 with err. */
int sup_settings_prepare(const struct jb_config *c, const char *conf_path, size_t kind_index,
			 uint32_t uid, int *set_fd, int *dir_fd, char *err, size_t errlen);

#endif
