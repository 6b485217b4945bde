/*
 * privacy.h - the supervisor's side of [privacy] (common/privacy.h,
 * docs/PRIVACY.md): the key and the local user names, read once at
 * start-up while the supervisor is root, handed only to the printers that
 * pseudonymise, in their settings memfd (common/settings.h).
 */
#ifndef JB_SUP_PRIVACY_H
#define JB_SUP_PRIVACY_H

#include <stddef.h>
#include <stdint.h>

#include "common/privacy.h"
#include "common/settings.h"
#include "supervisor/config.h"

/* The settings records a pseudonymising printer is handed (printer.c). */
#define SUP_PRV_SET_POLICY "prv_policy" /* "FIELDS IPV4 IPV6", decimal */
#define SUP_PRV_SET_KEY "prv_key"	 /* PRV_KEY_LEN bytes */
#define SUP_PRV_SET_USERS "prv_users"	 /* names, each NUL-terminated */

/* The local users whose names are pseudonymised in free text: at most
 * this many bytes of names (a host with more is logged, not refused). */
#define SUP_PRV_USERS_MAX (256u * 1024)

/* At start-up, before anything loads: when a printer c enables
 * pseudonymises, the key at [privacy] key_file (created, 32 random bytes,
 * 0600, if missing; its directory root's and writable by no one else;
 * refused if not root's, not private or not 32 bytes) and the names of the
 * personal accounts (getpwent, prv_uid_personal). Nothing when none does.
 * 0, or -1 with "CONF:LINE: [privacy] key_file PATH: why" in err. */
int sup_privacy_open(const struct jb_config *c, const char *conf_path, char *err, size_t errlen);
/* Append row kind_index's records to b when it pseudonymises. 0 or -1. */
int sup_privacy_put(const struct jb_config *c, size_t kind_index, struct jb_settings_buf *b);
/* The key, for --reveal: loaded as the agent would (never created). 0, or
 * -1 with why in err. */
int sup_privacy_key(const struct jb_config *c, const char *conf_path,
		    unsigned char key[PRV_KEY_LEN], char *err, size_t errlen);

/* jibril --reveal VALUE [--type T] (reveal.c): what VALUE becomes. */
int sup_reveal(const char *config, const char *value, const char *type);

#endif
