/*
 * reveal.c - jibril --reveal VALUE [--type user|uid|host|ip]: what a real
 * value becomes in a pseudonymised event, so an investigator with the key
 * (root) can search the events for it. A pseudonym cannot be turned back:
 * one tests a value, as the HMAC allows and nothing else does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "supervisor/privacy.h"

static const char *const types[] = {"user", "uid", "host", "ip", NULL};

int sup_reveal(const char *config, const char *value, const char *type)
{
	struct prv_policy p = {0};
	struct jb_config cfg;
	char err[8400], ps[PRV_IP_MAX];
	int shown = 0;

	log_init("jibril", LOG_L_WARN);
	for (size_t i = 0; type && types[i] && strcmp(type, types[i]); i++)
		if (!types[i + 1]) {
			fprintf(stderr, "jibril: --type %s: one of user, uid, host, ip\n", type);
			return EX_USAGE;
		}
	jb_config_defaults(&cfg);
	if (jb_config_load(&cfg, config, err, sizeof(err)) < 0) {
		fprintf(stderr, "jibril: %s\n", err);
		return EX_CONFIG;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "jibril: --reveal must run as root (it reads the privacy key)\n");
		return EX_NOPERM;
	}
	if (sup_privacy_key(&cfg, config, p.key, err, sizeof(err)) < 0) {
		fprintf(stderr, "jibril: %s\n", err);
		return EX_CONFIG;
	}
	p.ipv4_prefix = cfg.privacy_ipv4_prefix;
	p.ipv6_prefix = cfg.privacy_ipv6_prefix;
	/* every type the value can be, unless one is asked for: "TYPE\tPSEUDONYM" */
	for (size_t i = 0; types[i]; i++) {
		if (type && strcmp(type, types[i]))
			continue;
		if (!strcmp(types[i], "ip")) {
			if (prv_ip(&p, value, ps, sizeof(ps)) < 0) {
				if (type) {
					fprintf(stderr, "jibril: %s is not an IPv4 or IPv6 address\n",
						value);
					OPENSSL_cleanse(p.key, sizeof(p.key));
					return EX_DATAERR;
				}
				continue;
			}
		} else if (!strcmp(types[i], "uid") &&
			   (!value[0] || value[strspn(value, "0123456789")] ||
			    strlen(value) > 10)) {
			if (type) {
				fprintf(stderr, "jibril: %s is not a uid (a decimal number)\n", value);
				OPENSSL_cleanse(p.key, sizeof(p.key));
				return EX_DATAERR;
			}
			continue;
		} else if (!strcmp(types[i], "uid") && !prv_uid_personal(strtoull(value, NULL, 10))) {
			/* a system account's uid is never pseudonymised */
			snprintf(ps, sizeof(ps), "%s (a system account: kept in clear)", value);
		} else {
			prv_pseudonym(p.key, types[i], value, ps);
		}
		printf("%s\t%s\n", types[i], ps);
		shown++;
		if (!strcmp(types[i], "host")) {
			/* a host's name in text is also matched by its first label
			 * (privacy.c), which has a pseudonym of its own: an
			 * investigator given only the full name's would miss
			 * "ssh laptop" in the arguments */
			size_t hl = strlen(value), ll = strcspn(value, ".");

			if (ll >= 4 && ll < hl) {
				prv_pseudonym_n(p.key, "host", value, ll, ps);
				printf("host\t%s\n", ps);
			}
		}
	}
	OPENSSL_cleanse(p.key, sizeof(p.key));
	return shown ? 0 : EX_DATAERR;
}
