/*
 * cgpath.h - what a cgroup v2 path says about where a process runs
 * (cgpath.c): its systemd unit, its container and its Kubernetes pod.
 */
#ifndef JB_WORKERS_CGPATH_H
#define JB_WORKERS_CGPATH_H

#include <stddef.h>

#define JB_CG_UNIT_MAX 256    /* systemd's limit is 255 bytes plus the NUL */
#define JB_CG_CONTAINER_LEN 64 /* hex digits of a container id */
#define JB_CG_POD_MAX 37      /* 8-4-4-4-12, or 32 hex digits (static pods) */

struct jb_cgctx {
	char unit[JB_CG_UNIT_MAX];		   /* "" when none */
	char container_id[JB_CG_CONTAINER_LEN + 1]; /* lower-case hex, "" when none */
	char pod_uid[JB_CG_POD_MAX];		   /* lower case, "" when none */
	const char *runtime; /* "docker", "containerd", "cri-o", "podman", "kubernetes"
			      * (a bare id under a pod), NULL */
};

/*
 * Parse path[0..len) (a cgroup v2 path relative to the mount: "/", or
 * "/" followed by names separated by single slashes). cut: the path was
 * cut at its end (its last name may be partial and is not used). Always
 * fills *out (empty strings when nothing is found).
 *   unit: as systemd finds it: the names ending ".slice" from the root are
 *     skipped, and the next name is the unit if it is a valid unit name
 *     ending ".service" or ".scope" ("/system.slice/nginx.service",
 *     "/user.slice/user-1000.slice/session-2.scope", "/init.scope").
 *   container_id: the innermost of docker-ID.scope, cri-containerd-ID.scope,
 *     crio-ID.scope, libpod-ID.scope (systemd driver), docker/ID (cgroupfs
 *     driver), and ID or crio-ID right below a pod directory; ID is exactly
 *     64 hex digits.
 *   pod_uid: the innermost kubepods[-QOS]-podUID.slice (systemd driver:
 *     '_' stands for '-') or podUID below a kubepods directory (cgroupfs);
 *     UID is a UUID (8-4-4-4-12 hex) or 32 hex digits.
 * Returns 0, or -1 when the path is malformed (not starting with '/', an
 * empty, "." or ".." name, a NUL inside len): then nothing is reported.
 */
int jb_cgpath_parse(const char *path, size_t len, int cut, struct jb_cgctx *out);

#endif
