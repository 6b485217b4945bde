/*
 * workloads.c - see workloads.h. bench/workload does the work and the
 * timing; this side builds its command lines and reads its one line.
 *
 * Invariants:
 *  - every run is bounded (child_capture's deadline: 2 min for a timed
 *    workload, 3 for a storm, 5 to create a file set).
 *  - a run that fails or prints no figure is an error in J, and the
 *    section that asked stops rather than report a partial figure.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/harness/bench.h"
#include "bench/harness/children.h"
#include "bench/harness/workloads.h"
#include "tests/lib/file.h"

/* value of " key=" in a key=value line; NAN when absent */
double kv(const char *line, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = line; (p = strstr(p, key)); p += kl)
		if ((p == line || p[-1] == ' ') && p[kl] == '=')
			return strtod(p + kl + 1, NULL);
	return NAN;
}

/* bin-dir/workload CMD args... */
static int workload(char *out, size_t outsz, unsigned timeout_ms, pid_t *pid, const char *cmd, ...)
{
	char *argv[24];
	int n = 0;
	va_list ap;
	const char *a;

	argv[n++] = O.workload;
	argv[n++] = (char *)cmd;
	va_start(ap, cmd);
	while ((a = va_arg(ap, const char *)) && n < 20)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	return child_capture(argv, out, outsz, timeout_ms, pid);
}

int wl_run(int w, double *ns)
{
	char out[1024], it[32], nf[32];

	snprintf(it, sizeof(it), "%llu", O.iters[w]);
	snprintf(nf, sizeof(nf), "%u", O.open_files);
	switch (w) {
	case 0:
		if (workload(out, sizeof(out), 120000, NULL, "open", "--dir", O.d_open, "--files", nf,
			     "--iters", it, NULL) < 0)
			return -1;
		break;
	case 1:
		if (workload(out, sizeof(out), 120000, NULL, "exec", "--tiny", O.tiny, "--iters", it,
			     NULL) < 0)
			return -1;
		break;
	case 2:
		if (workload(out, sizeof(out), 120000, NULL, "connect", "--iters", it, NULL) < 0)
			return -1;
		break;
	default:
		if (workload(out, sizeof(out), 120000, NULL, "mixed", "--dir", O.d_open, "--files", nf,
			     "--tiny", O.tiny, "--iters", it, NULL) < 0)
			return -1;
		break;
	}
	*ns = kv(out, "ns_per_op");
	return isfinite(*ns) ? 0 : -1;
}

int wl_mkfiles(const char *dir, unsigned n)
{
	char out[512], nf[32];

	snprintf(nf, sizeof(nf), "%u", n);
	return workload(out, sizeof(out), 300000, NULL, "mkfiles", "--dir", dir, "--files", nf, NULL);
}

/*
 * The cat of trial i: a copy of /bin/cat of its own. The credentials recipe
 * limits detections per process and per chain of executables (times), so
 * fifty identical `cat /etc/shadow` from the same parent would be five
 * detections and a suppression summary, by design. A copy per trial makes
 * each trial a new chain: what is measured is detection, not the limit.
 */
const char *reader(unsigned i)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/cat.%u", O.tmp, i);
	if (access(path, X_OK) == 0)
		return path;
	return tl_copy_file("/bin/cat", path, 0755) == 0 ? path : "/bin/cat";
}

int storm(const char *dir, unsigned files, int needle, unsigned trial, pid_t *spid, pid_t *npid,
	  uint64_t *nns, double *storm_ms)
{
	char out[1024], nf[32];

	snprintf(nf, sizeof(nf), "%u", files);
	if (workload(out, sizeof(out), 180000, spid, "storm", "--dir", dir, "--files", nf, "--reader",
		     reader(1000 + trial), needle ? "--needle" : NULL, "/etc/shadow", NULL) < 0)
		return -1;
	if (storm_ms)
		*storm_ms = kv(out, "ns") / 1e6;
	if (needle) {
		double p = kv(out, "needle_pid"), t = kv(out, "needle_mono_ns");
		if (!isfinite(p) || !isfinite(t) || p <= 0)
			return -1;
		*npid = (pid_t)p;
		*nns = (uint64_t)t;
	}
	return 0;
}
