/*
 * cgpath.c - the systemd unit, container id and Kubernetes pod uid a
 * cgroup v2 path names (cgpath.h has the shapes it knows).
 *
 * Cgroup names are chosen by whoever creates the cgroup (a container
 * runtime, systemd, or any process with a delegated subtree), so this is a
 * parser of hostile input, run in the sandboxed workers and fuzzed
 * (fuzz/fuzz_cgpath.c).
 *
 * Invariants:
 *  - one pass over the bytes, no allocation, no recursion; nothing is read
 *    outside path[0..len), and a NUL inside it makes the path malformed.
 *  - what is reported is copied only after it was checked against a closed
 *    character set (hex digits, systemd's unit name characters), so an
 *    output string never holds a byte the shapes do not allow; each fits
 *    its field with its NUL.
 *  - a malformed path reports nothing at all: a partial answer from a path
 *    we do not understand would be a guess.
 */
#include <string.h>

#include "cgpath.h"

static int is_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static char lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static int all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_hex(s[i]))
			return 0;
	return 1;
}

static int has_prefix(const char *s, size_t n, const char *p)
{
	size_t pl = strlen(p);
	return n >= pl && !memcmp(s, p, pl);
}

static int has_suffix(const char *s, size_t n, const char *x)
{
	size_t xl = strlen(x);
	return n >= xl && !memcmp(s + n - xl, x, xl);
}

/* systemd's unit name characters (unit_name_is_valid: VALID_CHARS plus '@') */
static int unit_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == ':' || ch == '-' || ch == '_' || ch == '.' || ch == '\\' || ch == '@';
}

/* A valid unit name of this type suffix (".slice", ".service"...): systemd's
 * characters, at most 255 bytes, a name before the suffix, at most one '@'
 * and not first. */
static int valid_unit(const char *s, size_t n, const char *suffix)
{
	size_t sl = strlen(suffix);
	int at = 0;

	if (n >= JB_CG_UNIT_MAX || n <= sl || !has_suffix(s, n, suffix) || s[0] == '@')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!unit_char(s[i]))
			return 0;
		at += s[i] == '@';
	}
	return at <= 1;
}

/* A container id: exactly 64 hex digits, stored lower case. */
static int take_id(const char *s, size_t n, struct jb_cgctx *out, const char *runtime)
{
	if (n != JB_CG_CONTAINER_LEN || !all_hex(s, n))
		return 0;
	for (size_t i = 0; i < n; i++)
		out->container_id[i] = lower(s[i]);
	out->container_id[n] = '\0';
	out->runtime = runtime;
	return 1;
}

/* RUNTIME-ID.scope (systemd driver) or RUNTIME-ID (cgroupfs drivers). */
static int scope_id(const char *s, size_t n, struct jb_cgctx *out)
{
	static const struct {
		const char *prefix, *runtime;
	} shapes[] = {
		{"docker-", "docker"},
		{"cri-containerd-", "containerd"},
		{"crio-", "cri-o"},
		{"libpod-", "podman"},
	};

	if (has_suffix(s, n, ".scope"))
		n -= strlen(".scope");
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		size_t pl = strlen(shapes[i].prefix);

		if (has_prefix(s, n, shapes[i].prefix))
			return take_id(s + pl, n - pl, out, shapes[i].runtime);
	}
	return 0;
}

/* A pod uid: a UUID (8-4-4-4-12 hex digits; dash is '_' in systemd slice
 * names, given as dash) or 32 hex digits (a static pod's hash). */
static int take_pod(const char *s, size_t n, char dash, struct jb_cgctx *out)
{
	if (n == 32) {
		if (!all_hex(s, n))
			return 0;
	} else if (n == 36) {
		for (size_t i = 0; i < n; i++) {
			int want_dash = i == 8 || i == 13 || i == 18 || i == 23;
			if (want_dash ? s[i] != dash : !is_hex(s[i]))
				return 0;
		}
	} else {
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		out->pod_uid[i] = s[i] == dash ? '-' : lower(s[i]);
	out->pod_uid[n] = '\0';
	return 1;
}

/* kubepods-podUID.slice, kubepods-QOS-podUID.slice */
static int slice_pod(const char *s, size_t n, struct jb_cgctx *out)
{
	size_t end, at;

	if (!has_prefix(s, n, "kubepods-") || !has_suffix(s, n, ".slice"))
		return 0;
	end = n - strlen(".slice");
	/* the last "-pod" of the name: the QOS class never holds one after it */
	for (at = end; at >= 4; at--)
		if (!memcmp(s + at - 4, "-pod", 4))
			return take_pod(s + at, end - at, '_', out);
	return 0;
}

int jb_cgpath_parse(const char *path, size_t len, int cut, struct jb_cgctx *out)
{
	int in_slices = 1, under_kubepods = 0, prev_docker = 0, prev_pod = 0;
	size_t at = 1;

	memset(out, 0, sizeof(*out));
	if (!path || len == 0 || path[0] != '/' || memchr(path, '\0', len))
		return -1;
	if (cut) {
		/* the last name may be partial: keep what is before it */
		while (len > 1 && path[len - 1] != '/')
			len--;
		if (len > 1)
			len--; /* and its slash */
	}
	if (len == 1)
		return 0; /* the root: no unit, no container */
	while (at <= len) {
		const char *c = path + at;
		const char *slash = memchr(c, '/', len - at);
		size_t n = slash ? (size_t)(slash - c) : len - at;
		int was_docker = prev_docker, was_pod = prev_pod;

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) {
			memset(out, 0, sizeof(*out));
			return -1;
		}
		prev_docker = prev_pod = 0;
		if (in_slices && !valid_unit(c, n, ".slice")) {
			in_slices = 0;
			if (valid_unit(c, n, ".service") || valid_unit(c, n, ".scope")) {
				memcpy(out->unit, c, n);
				out->unit[n] = '\0';
			}
		}
		if (scope_id(c, n, out)) {
			/* done with this name */
		} else if (was_docker && take_id(c, n, out, "docker")) {
			/* /docker/ID: docker's cgroupfs driver */
		} else if (was_pod && take_id(c, n, out, "kubernetes")) {
			/* /kubepods/QOS/podUID/ID: kubelet's cgroupfs driver */
		} else if (n == 6 && !memcmp(c, "docker", 6)) {
			prev_docker = 1;
		} else if (slice_pod(c, n, out)) {
			under_kubepods = 1;
		} else if (under_kubepods && has_prefix(c, n, "pod") && take_pod(c + 3, n - 3, '-', out)) {
			prev_pod = 1;
		}
		if ((n == 8 && !memcmp(c, "kubepods", 8)) || has_prefix(c, n, "kubepods-") ||
		    has_prefix(c, n, "kubepods."))
			under_kubepods = 1;
		at += n + 1;
	}
	return 0;
}
