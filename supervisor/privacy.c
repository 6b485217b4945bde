/*
 * privacy.c - the pseudonymisation key and the local user names, for the
 * printers that pseudonymise ([privacy], supervisor/privacy.h).
 *
 * Invariants:
 *  - the key is read (or made) by the supervisor as root, at start-up,
 *    with the audit key's code (audit_chain.c: 32 bytes, root's, 0600, no
 *    symbolic link; its directory root's and writable by no one else); a
 *    wrong one stops the start naming the config's FILE:LINE;
 *  - only a printer whose policy is on gets the key and the names, as
 *    records of its own sealed settings memfd; no other child's memory
 *    ever holds them, and no child is told the key's path;
 *  - the names are read before the privilege drop, once: an account made
 *    later is pseudonymised under /home/NAME, not yet in free text (a
 *    restart reads them again).
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "supervisor/audit.h"
#include "supervisor/privacy.h"

_Static_assert(SUP_AUDIT_KEY_LEN == PRV_KEY_LEN, "one key format for both keys");

static struct {
	int loaded;
	unsigned char key[PRV_KEY_LEN];
	char *users;
	size_t users_len;
} prv;

static size_t where(char *err, size_t errlen, const struct jb_config *c, const char *conf_path)
{
	int n = c->privacy_key_line
			? snprintf(err, errlen, "%s:%d: [privacy] key_file %s: ", conf_path,
				   c->privacy_key_line, c->privacy_key)
			: snprintf(err, errlen, "%s: [privacy] key_file (default) %s: ", conf_path,
				   c->privacy_key);
	return n < 0 ? 0 : (size_t)n >= errlen ? errlen - 1 : (size_t)n;
}

static int load_key(const struct jb_config *c, const char *conf_path, int create,
		    unsigned char key[PRV_KEY_LEN], char *err, size_t errlen)
{
	char why[1024];
	int created = 0;

	if ((create && sup_audit_parent_ok(c->privacy_key, why, sizeof(why)) < 0) ||
	    sup_audit_key_load(c->privacy_key, 1, create, &created, key, why, sizeof(why)) < 0) {
		size_t n = where(err, errlen, c, conf_path);
		snprintf(err + n, errlen - n, "%s", why);
		return -1;
	}
	if (created)
		log_info("privacy key %s created", c->privacy_key);
	return 0;
}

int sup_privacy_key(const struct jb_config *c, const char *conf_path,
		    unsigned char key[PRV_KEY_LEN], char *err, size_t errlen)
{
	return load_key(c, conf_path, 0, key, err, errlen);
}

/* The personal accounts' names, NUL-terminated one after another. */
static int read_users(char *err, size_t errlen)
{
	struct passwd *pw;
	size_t cap = 0, skipped = 0;

	free(prv.users);
	prv.users = NULL;
	prv.users_len = 0;
	setpwent();
	while ((errno = 0, pw = getpwent())) {
		size_t l = strlen(pw->pw_name);
		if (!l || !prv_uid_personal(pw->pw_uid))
			continue;
		if (prv.users_len + l + 1 > SUP_PRV_USERS_MAX) {
			skipped++;
			continue;
		}
		if (prv.users_len + l + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *p;
			while (ncap < prv.users_len + l + 1)
				ncap *= 2;
			if (!(p = realloc(prv.users, ncap))) {
				endpwent();
				snprintf(err, errlen, "[privacy]: the local users' names: out of memory");
				return -1;
			}
			prv.users = p;
			cap = ncap;
		}
		memcpy(prv.users + prv.users_len, pw->pw_name, l + 1);
		prv.users_len += l + 1;
	}
	endpwent();
	if (skipped)
		log_warnx("[privacy]: %zu local users past the first %u bytes of names: their names "
			  "are pseudonymised under /home only, not in other text", skipped,
			  SUP_PRV_USERS_MAX);
	return 0;
}

int sup_privacy_open(const struct jb_config *c, const char *conf_path, char *err, size_t errlen)
{
	uint32_t any = 0;

	for (size_t i = 0; i < jb_nkinds; i++)
		if (jb_config_kind_enabled(c, &jb_kinds[i]))
			any |= jb_config_privacy(c, i);
	if (!any)
		return 0;
	if (load_key(c, conf_path, 1, prv.key, err, errlen) < 0 || read_users(err, errlen) < 0)
		return -1;
	prv.loaded = 1;
	return 0;
}

int sup_privacy_put(const struct jb_config *c, size_t kind_index, struct jb_settings_buf *b)
{
	uint32_t f = jb_config_privacy(c, kind_index);
	char pol[64];

	if (!f)
		return 0;
	if (!prv.loaded) {
		/* sup_privacy_open ran with another configuration: never hand
		 * a printer a policy without its key */
		errno = ENOKEY;
		return -1;
	}
	snprintf(pol, sizeof(pol), "%u %u %u", f, c->privacy_ipv4_prefix, c->privacy_ipv6_prefix);
	if (jb_settings_put(b, SUP_PRV_SET_POLICY, pol, strlen(pol)) < 0 ||
	    jb_settings_put(b, SUP_PRV_SET_KEY, prv.key, PRV_KEY_LEN) < 0 ||
	    jb_settings_put(b, SUP_PRV_SET_USERS, prv.users ? prv.users : "", prv.users_len) < 0)
		return -1;
	return 0;
}
