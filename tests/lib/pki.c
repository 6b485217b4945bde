/*
 * pki.c - CAs and certificates for the TLS tests (see pki.h), made by the
 * openssl program (RSA 2048, no passphrase), as check_https and check_nats
 * both need them.
 *
 * Invariants:
 *  - every file is made inside the caller's directory, under names the
 *    caller chose; nothing goes through a shell (argv, not a command line);
 *  - each step is waited for with a deadline; a step that fails or times
 *    out fails the whole call, naming the step.
 */
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/pki.h"
#include "tests/lib/spawn.h"

#define STEP_MS 30000

const char *tl_pki_openssl(void)
{
	static const char *const c[] = {"/usr/bin/openssl", "/bin/openssl", NULL};

	for (int i = 0; c[i]; i++)
		if (access(c[i], X_OK) == 0)
			return c[i];
	return NULL;
}

static int step(const char *what, char *const argv[])
{
	int st = tl_run(argv[0], argv, STEP_MS, NULL);

	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "pki: %s: openssl failed (status 0x%x)\n", what, st);
		return -1;
	}
	return 0;
}

int tl_pki_ca(const char *dir, const char *name)
{
	char key[PATH_MAX], pem[PATH_MAX], subj[128];
	const char *o = tl_pki_openssl();
	char *argv[] = {(char *)o, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
			"-out", pem, "-days", "2", "-subj", subj, NULL};

	if (!o)
		return -1;
	snprintf(key, sizeof(key), "%s/%s-ca.key", dir, name);
	snprintf(pem, sizeof(pem), "%s/%s-ca.pem", dir, name);
	snprintf(subj, sizeof(subj), "/CN=jibril-test-%s-ca", name);
	return step(pem, argv);
}

int tl_pki_cert(const char *dir, const char *ca, const char *name)
{
	char key[PATH_MAX], csr[PATH_MAX], pem[PATH_MAX], ext[PATH_MAX], cap[PATH_MAX],
		cak[PATH_MAX];
	const char *o = tl_pki_openssl();
	char *req[] = {(char *)o, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
		       "-subj", "/CN=localhost", NULL};
	char *sign[] = {(char *)o, "x509", "-req", "-in", csr, "-CA", cap, "-CAkey", cak,
			"-CAcreateserial", "-out", pem, "-days", "2", "-extfile", ext, NULL};
	FILE *f;
	int rc;

	if (!o)
		return -1;
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	snprintf(csr, sizeof(csr), "%s/%s.csr", dir, name);
	snprintf(pem, sizeof(pem), "%s/%s.pem", dir, name);
	snprintf(ext, sizeof(ext), "%s/%s.ext", dir, name);
	snprintf(cap, sizeof(cap), "%s/%s-ca.pem", dir, ca);
	snprintf(cak, sizeof(cak), "%s/%s-ca.key", dir, ca);
	f = fopen(ext, "w");
	if (!f)
		return -1;
	fputs("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
	      "extendedKeyUsage=serverAuth,clientAuth\n", f);
	if (fclose(f) != 0)
		return -1;
	rc = step(key, req) < 0 || step(pem, sign) < 0 ? -1 : 0;
	if (rc == 0 && chmod(key, 0600) < 0)
		rc = -1;
	unlink(csr);
	unlink(ext);
	return rc;
}
