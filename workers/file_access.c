/*
 * file_access.c - detections on which files a task touched and how.
 * Matchers see the task, the absolute path and the accumulated action
 * bitmask of the (task, file) link. The path lists double as watch lists:
 * the kernel keeps the records of those files in protected maps.
 */
#include <fnmatch.h>
#include <string.h>

#include "detect.h"

#define MODIFY (JB_ACT_WRITE | JB_ACT_CREATE | JB_ACT_UNLINK | JB_ACT_RENAME | JB_ACT_TRUNCATE | \
		JB_ACT_CHMOD)

static int in_list(const char *path, const char *const *globs)
{
	for (int i = 0; globs[i]; i++)
		if (fnmatch(globs[i], path, FNM_PATHNAME) == 0)
			return 1;
	return 0;
}

static const char *const creds[] = {
		"/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-",
		"/root/.ssh/id_*", "/home/*/.ssh/id_*",
		"/root/.aws/credentials", "/home/*/.aws/credentials",
		"/root/.docker/config.json", "/home/*/.docker/config.json",
		"/root/.config/gcloud/credentials.db", "/home/*/.config/gcloud/credentials.db",
		"/root/.kube/config", "/home/*/.kube/config",
		NULL,
};

static int credentials_files_access(const struct jb_task *t, const char *path, uint32_t a)
{
	size_t n = strlen(path);

	if (!(a & JB_ACT_READ))
		return 0;
	if (n > 4 && !strcmp(path + n - 4, ".pub"))
		return 0; /* public keys are not secrets */
	return in_list(path, creds);
}

static int binary_self_deletion(const struct jb_task *t, const char *path, uint32_t a)
{
	/* the same task executed the file and unlinked it */
	return (a & (JB_ACT_EXEC | JB_ACT_UNLINK)) == (JB_ACT_EXEC | JB_ACT_UNLINK);
}

static const char *const logs[] = {
	"/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog", "/var/run/utmp",
	"/run/utmp", "/var/log/auth.log", "/var/log/secure", NULL,
};

static int auth_logs_tamper(const struct jb_task *t, const char *path, uint32_t a)
{
	/* appending is normal (login writes them); removal and truncation are not */
	if (!(a & (JB_ACT_UNLINK | JB_ACT_RENAME | JB_ACT_TRUNCATE)))
		return 0;
	return in_list(path, logs);
}

static const char *const keys[] = {
	"/root/.ssh/authorized_keys", "/root/.ssh/authorized_keys2",
	"/home/*/.ssh/authorized_keys", "/home/*/.ssh/authorized_keys2", NULL,
};

static int ssh_auth_keys_modification(const struct jb_task *t, const char *path, uint32_t a)
{
	return (a & MODIFY) && in_list(path, keys);
}

static const char *const sudoers[] = {"/etc/sudoers", "/etc/sudoers.d/*", NULL};

static int sudoers_modification(const struct jb_task *t, const char *path, uint32_t a)
{
	return (a & MODIFY) && in_list(path, sudoers);
}

static const struct wrk_def defs[] = {
	{"credentials_files_access", "Credentials files access", "high", "credential_access",
	 "T1003.008 OS Credential Dumping: /etc/passwd and /etc/shadow",
	 "A process read a file holding credentials (shadow, private keys, cloud tokens)",
	 credentials_files_access, NULL, NULL, creds},
	{"binary_self_deletion", "Binary self deletion", "critical", "defense_evasion",
	 "T1070.004 Indicator Removal: File Deletion",
	 "A process deleted the binary it is running from", binary_self_deletion, NULL, NULL, NULL},
	{"auth_logs_tamper", "Authentication logs tampering", "critical", "defense_evasion",
	 "T1070.002 Indicator Removal: Clear Linux or Mac System Logs",
	 "Login records or authentication logs were removed, renamed or truncated",
	 auth_logs_tamper, NULL, NULL, logs},
	{"ssh_auth_keys_modification", "SSH authorized keys modification", "high", "persistence",
	 "T1098.004 Account Manipulation: SSH Authorized Keys",
	 "An authorized_keys file was written, created, renamed or removed",
	 ssh_auth_keys_modification, NULL, NULL, keys},
	{"sudoers_modification", "Sudoers modification", "high", "privilege_escalation",
	 "T1548.003 Abuse Elevation Control Mechanism: Sudo and Sudo Caching",
	 "The sudoers configuration was modified", sudoers_modification, NULL, NULL, sudoers},
};

const struct wrk_mechanism wrk_file_access = {"file_access", WRK_SRC_LINKS, defs,
					      sizeof(defs) / sizeof(defs[0])};
