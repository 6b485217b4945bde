/*
 * check_install.c - jibril as an installed systemd service: `make install`
 * into a DESTDIR, the unit, the man pages, and sd_notify end to end.
 *
 * What it proves:
 *  - `make install DESTDIR=D PREFIX=/usr` (and the default PREFIX) lays out
 *    the binary, the children's executables in PREFIX/libexec/jibril, the unit, the configuration, the recipe directory, the
 *    logrotate snippet and both man pages with their modes and root as
 *    owner; the unit's paths are filled in; the installed configuration
 *    loads (`jibril --check-config`, with the installed recipe directory,
 *    whose mode the agent checks: opened to group, it is refused); a second
 *    install keeps an edited jibril.conf and writes jibril.conf.dist;
 *    `make uninstall` removes what install put, keeps the edited one;
 *  - each child executable links only its kinds' libraries (readelf -d:
 *    no libcurl, libnats, libsystemd or libbpf in a worker, no libbpf in
 *    any); the installed supervisor takes them from ../libexec/jibril and
 *    refuses to start, naming the path, when one is writable by its group
 *    or missing;
 *  - the man pages format without a warning (mandoc -T lint); every key
 *    supervisor/config.c knows is documented in jibril.conf(5) under its
 *    section and every documented key is known; every option of
 *    `jibril --help` is in jibril(8);
 *  - the unit passes `systemd-analyze verify` (skipped, with the reason,
 *    without the tool) and carries the directives the agent depends on,
 *    and none that would take the pinned programs away at a stop;
 *  - the watchdog's rule (notify.c), and WATCHDOG_PID honoured;
 *  - sd_notify without systemd: this test binds the NOTIFY_SOCKET and
 *    starts the real agent with WATCHDOG_USEC and WATCHDOG_PID: READY=1
 *    with every child ready, STATUS= refreshed, WATCHDOG=1 at half the
 *    period and never a gap of a whole one, none while the supervisor is
 *    stopped (SIGSTOP) and again after SIGCONT, RELOADING=1 then READY=1
 *    at SIGHUP, STOPPING=1 at SIGTERM;
 *  - under the real systemd (only where PID 1 is systemd, else a SKIP with
 *    that reason): the unit started is active with its STATUS, and a
 *    SIGKILLed supervisor is started again by systemd.
 * Not root, or no BPF: "SKIP:" and exit 77 (the harness). Every wait polls
 * with a deadline.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "lib/spawn.h"
#include "supervisor/config.h"
#include "supervisor/notify.h"

#define READY_MS 90000
#define STOP_MS 20000
#define MAKE_MS 300000 /* make install may have to link the agent first */

/* --- running tools ------------------------------------------------------------ */

/* Run argv with its stdout and stderr into *out (malloc'd): the wait
 * status, -1 when it could not run or did not end in time. */
static int run_out(char *const argv[], char **out, unsigned timeout_ms)
{
	char path[] = "/tmp/jb-install-out-XXXXXX";
	int fd = mkstemp(path), st;
	struct tl_io io = {NULL, -1, -1, -1};
	pid_t pid;

	ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
	io.out = io.err = fd;
	pid = tl_spawn(argv[0], argv, &io);
	close(fd);
	st = pid > 0 ? tl_wait_exit(pid, timeout_ms) : -1;
	*out = jbh_slurp(path, NULL);
	if (!*out)
		*out = strdup("");
	unlink(path);
	return st;
}

static int exited_ok(int st)
{
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* make -C SRC TARGET DESTDIR=dest [PREFIX=prefix]; asserts success */
static void make_target(const char *target, const char *dest, const char *prefix)
{
	char dv[300], pv[300], *out;
	char *argv[] = {"/usr/bin/make", "-C", (char *)jbh_src(), "--no-print-directory",
			(char *)target, dv, prefix ? pv : NULL, NULL};
	int st;

	/* not the jobserver of a `make check` above us: its fds are not ours */
	unsetenv("MAKEFLAGS");
	unsetenv("MFLAGS");
	unsetenv("MAKELEVEL");
	snprintf(dv, sizeof(dv), "DESTDIR=%s", dest);
	snprintf(pv, sizeof(pv), "PREFIX=%s", prefix ? prefix : "");
	st = run_out(argv, &out, MAKE_MS);
	ck_assert_msg(exited_ok(st), "make %s DESTDIR=%s failed (status %d):\n%s", target, dest, st,
		      out);
	free(out);
}

static void mkdest(char *buf, size_t n)
{
	snprintf(buf, n, "/tmp/jb-install-XXXXXX");
	ck_assert_msg(mkdtemp(buf) != NULL, "mkdtemp: %s", strerror(errno));
}

static void rmtree(const char *dir)
{
	char *argv[] = {"/bin/rm", "-rf", (char *)dir, NULL};

	if (strncmp(dir, "/tmp/jb-", 8) == 0)
		tl_run(argv[0], argv, 30000, NULL);
}

static char *read_in(const char *dest, const char *rel)
{
	char path[512];
	char *s;

	snprintf(path, sizeof(path), "%s/%s", dest, rel);
	s = jbh_slurp(path, NULL);
	ck_assert_msg(s != NULL, "cannot read %s: %s", path, strerror(errno));
	return s;
}

static int exists_in(const char *dest, const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dest, rel);
	return lstat(path, &st) == 0;
}

/* --- the installed tree ------------------------------------------------------- */

static const struct {
	const char *path;
	mode_t type, mode;
} tree[] = {
	{"usr/sbin/jibril", S_IFREG, 0755},
	{"usr/libexec/jibril", S_IFDIR, 0755},
	{"usr/libexec/jibril/jibril-worker", S_IFREG, 0755},
	{"usr/libexec/jibril/jibril-printer", S_IFREG, 0755},
	{"usr/libexec/jibril/jibril-netprinter", S_IFREG, 0755},
	{"usr/libexec/jibril/jibril-exporter", S_IFREG, 0755},
	{"usr/lib/systemd/system/jibril.service", S_IFREG, 0644},
	{"usr/share/man/man8/jibril.8", S_IFREG, 0644},
	{"usr/share/man/man5/jibril.conf.5", S_IFREG, 0644},
	{"etc/logrotate.d/jibril", S_IFREG, 0644},
	{"etc/jibril", S_IFDIR, 0700},
	{"etc/jibril/recipes", S_IFDIR, 0700},
	{"etc/jibril/jibril.conf", S_IFREG, 0600},
};

static void check_tree(const char *dest)
{
	for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++) {
		char path[512];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dest, tree[i].path);
		ck_assert_msg(lstat(path, &st) == 0, "%s not installed: %s", path, strerror(errno));
		ck_assert_msg((st.st_mode & S_IFMT) == tree[i].type, "%s: wrong file type", path);
		ck_assert_msg((st.st_mode & 07777) == tree[i].mode, "%s: mode %04o, want %04o", path,
			      (unsigned)(st.st_mode & 07777), (unsigned)tree[i].mode);
		ck_assert_msg(st.st_uid == 0 && st.st_gid == 0, "%s: owner %u:%u, want root", path,
			      (unsigned)st.st_uid, (unsigned)st.st_gid);
	}
}

START_TEST(test_install_tree)
{
	char dest[64], dest2[64], path[512], bin[512];
	struct stat a, b;
	char *unit, *conf;

	mkdest(dest, sizeof(dest));
	make_target("install", dest, "/usr");
	check_tree(dest);
	/* the binary is the one built */
	snprintf(path, sizeof(path), "%s/usr/sbin/jibril", dest);
	ck_assert_int_eq(stat(path, &a), 0);
	ck_assert_msg(realpath(jbh_bin(), bin) != NULL, "%s: %s", jbh_bin(), strerror(errno));
	ck_assert_int_eq(stat(bin, &b), 0);
	ck_assert_msg(a.st_size == b.st_size, "installed binary %lld bytes, built %lld",
		      (long long)a.st_size, (long long)b.st_size);
	/* the unit's paths filled in, nothing left to fill */
	unit = read_in(dest, "usr/lib/systemd/system/jibril.service");
	ck_assert_msg(strstr(unit, "\nExecStart=/usr/sbin/jibril --config /etc/jibril/jibril.conf\n"),
		      "ExecStart not substituted:\n%s", unit);
	ck_assert_msg(!strstr(unit, "@SBINDIR@") && !strstr(unit, "@SYSCONFDIR@"),
		      "an @VARIABLE@ is left in the unit");
	free(unit);
	/* the installed configuration: the four lines that differ */
	conf = read_in(dest, "etc/jibril/jibril.conf");
	ck_assert_msg(strstr(conf, "\nstdout = no ; installed"), "stdout line not replaced");
	ck_assert_msg(strstr(conf, "\nfile = /var/log/jibril/detections.json ; installed"),
		      "file line not replaced");
	ck_assert_msg(strstr(conf, "\nfile_max_bytes = 0 ; installed"),
		      "file_max_bytes line not replaced");
	ck_assert_msg(strstr(conf, "\ndir = /etc/jibril/recipes ; installed"),
		      "[recipes] dir line not replaced");
	ck_assert_msg(!strstr(conf, "@SYSCONFDIR@"), "an @VARIABLE@ is left in jibril.conf");
	free(conf);
	/* the logrotate snippet rotates the file the installed conf prints to */
	conf = read_in(dest, "etc/logrotate.d/jibril");
	ck_assert(strstr(conf, "/var/log/jibril/detections.json {") != NULL);
	free(conf);
	rmtree(dest);

	/* the default prefix: /usr/local, configuration still in /etc */
	mkdest(dest2, sizeof(dest2));
	make_target("install", dest2, NULL);
	ck_assert(exists_in(dest2, "usr/local/sbin/jibril"));
	ck_assert(exists_in(dest2, "usr/local/libexec/jibril/jibril-worker"));
	ck_assert(exists_in(dest2, "usr/local/lib/systemd/system/jibril.service"));
	ck_assert(exists_in(dest2, "usr/local/share/man/man8/jibril.8"));
	ck_assert(exists_in(dest2, "etc/jibril/jibril.conf"));
	unit = read_in(dest2, "usr/local/lib/systemd/system/jibril.service");
	ck_assert_msg(strstr(unit, "\nExecStart=/usr/local/sbin/jibril --config "
				   "/etc/jibril/jibril.conf\n"),
		      "ExecStart with the default prefix:\n%s", unit);
	free(unit);
	rmtree(dest2);
}
END_TEST

/* A second install keeps the operator's jibril.conf; uninstall removes the
 * rest and keeps it; an unedited one goes with the rest. */
START_TEST(test_reinstall_and_uninstall)
{
	char dest[64], path[512];
	char *conf, *dist;
	FILE *f;

	mkdest(dest, sizeof(dest));
	make_target("install", dest, "/usr");
	snprintf(path, sizeof(path), "%s/etc/jibril/jibril.conf", dest);
	f = fopen(path, "a");
	ck_assert(f != NULL);
	fputs("# the operator's edit\n", f);
	ck_assert_int_eq(fclose(f), 0);
	make_target("install", dest, "/usr");
	conf = read_in(dest, "etc/jibril/jibril.conf");
	ck_assert_msg(strstr(conf, "# the operator's edit\n"), "the edited jibril.conf was replaced");
	dist = read_in(dest, "etc/jibril/jibril.conf.dist");
	ck_assert_msg(!strstr(dist, "operator's edit") && strstr(dist, "; installed"),
		      "jibril.conf.dist is not the installed configuration");
	snprintf(path, sizeof(path), "%s/etc/jibril/jibril.conf.dist", dest);
	{
		struct stat st;

		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_msg((st.st_mode & 07777) == 0600 && st.st_uid == 0,
			      "jibril.conf.dist: mode %04o owner %u", (unsigned)(st.st_mode & 07777),
			      (unsigned)st.st_uid);
	}
	free(conf);
	free(dist);

	make_target("uninstall", dest, "/usr");
	for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++) {
		int keep = !strcmp(tree[i].path, "etc/jibril") ||
			   !strcmp(tree[i].path, "etc/jibril/jibril.conf");

		ck_assert_msg(exists_in(dest, tree[i].path) == keep, "after uninstall %s is %s",
			      tree[i].path, keep ? "gone" : "still there");
	}
	ck_assert(!exists_in(dest, "etc/jibril/jibril.conf.dist"));

	/* unedited: nothing of ours stays */
	snprintf(path, sizeof(path), "%s/etc/jibril/jibril.conf", dest);
	ck_assert_int_eq(unlink(path), 0);
	make_target("install", dest, "/usr");
	make_target("uninstall", dest, "/usr");
	ck_assert_msg(!exists_in(dest, "etc/jibril"), "an unedited install left etc/jibril behind");
	rmtree(dest);
}
END_TEST

/* The installed jibril.conf loads, with the installed recipe directory
 * (its path moved into DESTDIR), and that directory's mode is one the
 * agent accepts: the same directory opened to group is refused. */
/* Install into a new DESTDIR (dest), and write there, as etc/jibril/NAME
 * (conf), the installed jibril.conf with its recipe directory (rdir) moved
 * into DESTDIR; bin: the installed supervisor. */
static void installed_conf(char *dest, size_t dlen, const char *name, char *conf, char *rdir,
			   char *bin, size_t len)
{
	char *text, *p;
	FILE *f;

	mkdest(dest, dlen);
	make_target("install", dest, "/usr");
	snprintf(bin, len, "%s/usr/sbin/jibril", dest);
	snprintf(rdir, len, "%s/etc/jibril/recipes", dest);
	snprintf(conf, len, "%s/etc/jibril/%s", dest, name);
	text = read_in(dest, "etc/jibril/jibril.conf");
	p = strstr(text, "\ndir = /etc/jibril/recipes ");
	ck_assert(p != NULL);
	*p = '\0';
	f = fopen(conf, "w");
	ck_assert(f != NULL);
	ck_assert_int_eq(fchmod(fileno(f), 0600), 0);
	fprintf(f, "%s\ndir = %s%s", text, rdir, p + 1 + strlen("dir = /etc/jibril/recipes"));
	ck_assert_int_eq(fclose(f), 0);
	free(text);
}

START_TEST(test_installed_config_loads)
{
	char dest[64], conf[512], rdir[512], bin[512], *out;
	char *argv[] = {bin, "--check-config", conf, NULL};
	int st;

	installed_conf(dest, sizeof(dest), "check.conf", conf, rdir, bin, sizeof(bin));

	st = run_out(argv, &out, 60000);
	ck_assert_msg(exited_ok(st) && strstr(out, ": ok ("), "the installed configuration does not "
		      "load (status %d):\n%s", st, out);
	free(out);

	ck_assert_int_eq(chmod(rdir, 0750), 0);
	st = run_out(argv, &out, 60000);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 78 && strstr(out, rdir),
		      "a recipe directory open to group was not refused (status %d):\n%s", st, out);
	free(out);
	rmtree(dest);
}
END_TEST

/* --- the children's executables ------------------------------------------------ */

/* What each child executable must link (proof that the NEEDED entries were
 * read at all) and must not: a library of another kind's (kinds.c, the
 * Makefile's CHILD_PC_*). */
static const struct {
	const char *bin, *needs, *forbidden[8];
} child_libs[] = {
	{"jibril-worker", "libpcre2-8.so",
	 {"libcurl", "libnats", "libsystemd", "libbpf", "libssl", "libcrypto", "libgnutls", NULL}},
	{"jibril-printer", "libjansson.so",
	 {"libcurl", "libnats", "libsystemd", "libbpf", "libssl", "libpcre2", "libyaml", NULL}},
	{"jibril-netprinter", "libcurl.so",
	 {"libsystemd", "libbpf", "libpcre2", "libyaml", "libinih", NULL}},
	{"jibril-exporter", "libevent",
	 {"libcurl", "libnats", "libsystemd", "libbpf", "libcrypto", "libpcre2", "libyaml", NULL}},
};

START_TEST(test_children_link_only_their_libraries)
{
	char dir[PATH_MAX], bin[PATH_MAX + 32], *out;
	char *argv[] = {"/usr/bin/readelf", "-d", "-W", bin, NULL};

	if (access(argv[0], X_OK) != 0) {
		printf("SKIP: check_install: no %s (binutils): the children's NEEDED entries were "
		       "not read\n", argv[0]);
		return;
	}
	ck_assert_msg(realpath(jbh_bin(), dir) != NULL, "%s: %s", jbh_bin(), strerror(errno));
	*strrchr(dir, '/') = '\0';
	for (size_t i = 0; i < sizeof(child_libs) / sizeof(child_libs[0]); i++) {
		int st, nneeded = 0, has = 0;
		char *line, *save = NULL;

		snprintf(bin, sizeof(bin), "%s/%s", dir, child_libs[i].bin);
		st = run_out(argv, &out, 30000);
		ck_assert_msg(exited_ok(st), "readelf -d %s (status %d):\n%s", bin, st, out);
		/* " 0x0000000000000001 (NEEDED)  Shared library: [libc.so.6]" */
		for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *lib = strstr(line, "(NEEDED)") ? strchr(line, '[') : NULL;

			if (!lib)
				continue;
			nneeded++;
			has |= strstr(lib, child_libs[i].needs) != NULL;
			for (int f = 0; child_libs[i].forbidden[f]; f++)
				ck_assert_msg(strncmp(lib + 1, child_libs[i].forbidden[f],
						      strlen(child_libs[i].forbidden[f])) != 0,
					      "%s links %s, which none of its kinds uses", bin, lib);
		}
		ck_assert_msg(has, "%s: %s not among its %d NEEDED entries", bin, child_libs[i].needs,
			      nneeded);
		free(out);
	}
}
END_TEST

/* The installed supervisor finds the children in ../libexec/jibril and
 * checks each before anything loads: one writable by its group, then one
 * missing, stops the start with EX_CONFIG and its path. */
START_TEST(test_installed_children_checked)
{
	char dest[64], conf[512], rdir[512], bin[512], child[512], *out;
	char *argv[] = {bin, "--config", conf, NULL};
	int st;

	/* the installed configuration, its recipe directory inside DESTDIR
	 * (the start ends before any other path is used) */
	installed_conf(dest, sizeof(dest), "run.conf", conf, rdir, bin, sizeof(bin));

	snprintf(child, sizeof(child), "%s/usr/libexec/jibril/jibril-printer", dest);
	ck_assert_int_eq(chmod(child, 0775), 0);
	st = run_out(argv, &out, 60000);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 78 && strstr(out, child) &&
		      strstr(out, "writable"),
		      "a group-writable %s was not refused (status %d):\n%s", child, st, out);
	free(out);
	ck_assert_int_eq(chmod(child, 0755), 0);

	snprintf(child, sizeof(child), "%s/usr/libexec/jibril/jibril-exporter", dest);
	ck_assert_int_eq(unlink(child), 0);
	st = run_out(argv, &out, 60000);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 78 && strstr(out, child),
		      "a missing %s was not refused (status %d):\n%s", child, st, out);
	free(out);
	rmtree(dest);
}
END_TEST

/* --- man pages ------------------------------------------------------------------ */

START_TEST(test_man_pages_lint)
{
	char dest[64], p8[512], p5[512], *out;
	char *argv[] = {"/usr/bin/mandoc", "-T", "lint", "-W", "warning", p8, p5, NULL};
	int st;

	if (access(argv[0], X_OK) != 0) {
		printf("SKIP: check_install: %s is missing (TEST_DEB_PKGS has mandoc): the man "
		       "pages were not linted\n", argv[0]);
		return;
	}
	mkdest(dest, sizeof(dest));
	make_target("install", dest, "/usr");
	snprintf(p8, sizeof(p8), "%s/usr/share/man/man8/jibril.8", dest);
	snprintf(p5, sizeof(p5), "%s/usr/share/man/man5/jibril.conf.5", dest);
	st = run_out(argv, &out, 60000);
	ck_assert_msg(exited_ok(st) && out[0] == '\0', "mandoc -T lint (status %d):\n%s", st, out);
	free(out);
	rmtree(dest);
}
END_TEST

/* "section/key" of every ".It Ic KEY" under a ".Ss \&[SECTION]" */
static int man_keys(const char *text, char keys[][96], int max)
{
	char section[48] = "";
	int n = 0;

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char name[48];

		if (sscanf(l, ".Ss \\&[%47[a-z_]]", name) == 1)
			snprintf(section, sizeof(section), "%s", name);
		else if (!strncmp(l, ".Sh ", 4))
			section[0] = '\0';
		else if (section[0] && sscanf(l, ".It Ic %47[a-z_0-9]", name) == 1 && n < max)
			snprintf(keys[n++], 96, "%s/%s", section, name);
	}
	return n;
}

START_TEST(test_man_documents_every_key)
{
	static char keys[512][96];
	char path[512], *text;
	const char *section, *name;
	int n;

	snprintf(path, sizeof(path), "%s/man/jibril.conf.5", jbh_src());
	text = jbh_slurp(path, NULL);
	ck_assert_msg(text != NULL, "%s: %s", path, strerror(errno));
	n = man_keys(text, keys, 512);
	ck_assert_msg(n > 50, "only %d keys found in %s: the parser here is off", n, path);
	for (size_t i = 0; (name = jb_config_key_at(i, &section)) != NULL; i++) {
		char want[96];
		int found = 0;

		snprintf(want, sizeof(want), "%s/%s", section, name);
		for (int j = 0; j < n && !found; j++)
			found = !strcmp(keys[j], want);
		ck_assert_msg(found, "[%s] %s is not documented in man/jibril.conf.5", section, name);
	}
	for (int j = 0; j < n; j++) {
		int known = 0;

		for (size_t i = 0; !known && (name = jb_config_key_at(i, &section)) != NULL; i++) {
			char have[96];

			snprintf(have, sizeof(have), "%s/%s", section, name);
			known = !strcmp(keys[j], have);
		}
		ck_assert_msg(known, "man/jibril.conf.5 documents %s, which config.c does not know",
			      keys[j]);
	}
	free(text);
}
END_TEST

START_TEST(test_man_documents_every_option)
{
	char path[512], *page, *help;
	char *argv[] = {(char *)jbh_bin(), "--help", NULL};
	int st, n = 0;

	snprintf(path, sizeof(path), "%s/man/jibril.8", jbh_src());
	page = jbh_slurp(path, NULL);
	ck_assert_msg(page != NULL, "%s: %s", path, strerror(errno));
	st = run_out(argv, &help, 10000);
	ck_assert_msg(exited_ok(st), "jibril --help: status %d", st);
	for (const char *p = strstr(help, "--"); p; p = strstr(p + 2, "--")) {
		char opt[64], want[80];

		if (sscanf(p, "--%63[a-z-]", opt) != 1)
			continue;
		snprintf(want, sizeof(want), "Fl -%s", opt);
		ck_assert_msg(strstr(page, want), "jibril --help has --%s, jibril(8) does not", opt);
		n++;
	}
	ck_assert_msg(n >= 6, "only %d options found in jibril --help", n);
	free(page);
	free(help);
}
END_TEST

/* --- the unit -------------------------------------------------------------------- */

START_TEST(test_unit_directives)
{
	static const char *const want[] = {
		"Type=notify", "NotifyAccess=main", "Restart=always", "KillMode=mixed",
		"Delegate=yes", "OOMPolicy=continue", "WatchdogSignal=SIGABRT",
		"RuntimeDirectory=jibril", "RuntimeDirectoryMode=0700",
		"ExecReload=/bin/kill -HUP $MAINPID", "LimitMEMLOCK=infinity",
	};
	/* a stop command could take the pinned programs away; the others break
	 * the agent (contrib/systemd/jibril.service says why) */
	static const char *const never[] = {
		"ExecStop", "NoNewPrivileges=yes", "PrivateTmp=", "ProtectSystem=", "ProtectHome=",
		"ProtectKernelTunables=", "ProtectControlGroups=", "WatchdogSignal=SIGTERM",
	};
	char path[512], *unit;

	snprintf(path, sizeof(path), "%s/contrib/systemd/jibril.service", jbh_src());
	unit = jbh_slurp(path, NULL);
	ck_assert_msg(unit != NULL, "%s: %s", path, strerror(errno));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char line[128];

		snprintf(line, sizeof(line), "\n%s\n", want[i]);
		ck_assert_msg(strstr(unit, line), "the unit lacks %s", want[i]);
	}
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		char line[128];

		snprintf(line, sizeof(line), "\n%s", never[i]);
		ck_assert_msg(!strstr(unit, line), "the unit sets %s", never[i]);
	}
	ck_assert_msg(strstr(unit, "\nWatchdogSec=") != NULL, "the unit has no WatchdogSec");
	/* every hardening directive set is one tests/helpers/unitfilter.c
	 * applies, so the end-to-end test ran the agent under it */
	{
		static const char *const emulated[] = {
			"LockPersonality", "RestrictRealtime", "RestrictSUIDSGID",
			"RestrictNamespaces", "SystemCallArchitectures", "RestrictAddressFamilies",
			"MemoryDenyWriteExecute",
		};
		const char *h = strstr(unit, "\n# --- hardening"), *end = strstr(unit, "\n# --- left out");
		int n = 0;

		ck_assert_msg(h && end && h < end, "the unit's hardening block markers are gone");
		for (const char *l = strchr(h + 1, '\n') + 1; l < end; l = strchr(l, '\n') + 1) {
			char name[64];
			int known = 0;

			if (*l == '#' || *l == '\n' || sscanf(l, "%63[A-Za-z]=", name) != 1)
				continue;
			for (size_t i = 0; i < sizeof(emulated) / sizeof(emulated[0]); i++)
				known |= !strcmp(name, emulated[i]);
			ck_assert_msg(known, "the unit sets %s, which tests/helpers/unitfilter.c does "
				      "not emulate", name);
			n++;
		}
		ck_assert_int_eq(n, (int)(sizeof(emulated) / sizeof(emulated[0])));
	}
	free(unit);
}
END_TEST

START_TEST(test_unit_verifies)
{
	char dest[64], unit[512], manpath[512], *text, *p, *out;
	const char *tool = access("/usr/bin/systemd-analyze", X_OK) == 0 ? "/usr/bin/systemd-analyze"
			   : access("/bin/systemd-analyze", X_OK) == 0  ? "/bin/systemd-analyze"
									: NULL;
	char *argv[] = {(char *)tool, "verify", unit, NULL};
	FILE *f;
	int st;

	if (!tool) {
		printf("SKIP: check_install: systemd-analyze is not installed (package systemd): "
		       "the unit was not verified\n");
		return;
	}
	mkdest(dest, sizeof(dest));
	make_target("install", dest, "/usr");
	/* verify wants ExecStart's binary and Documentation's pages to exist:
	 * the DESTDIR's, in a copy of the unit */
	text = read_in(dest, "usr/lib/systemd/system/jibril.service");
	p = strstr(text, "\nExecStart=/usr/sbin/jibril ");
	ck_assert(p != NULL);
	p[1] = '\0';
	snprintf(unit, sizeof(unit), "%s/jibril.service", dest);
	f = fopen(unit, "w");
	ck_assert(f != NULL);
	fprintf(f, "%sExecStart=%s/usr/sbin/jibril %s", text, dest,
		p + 1 + strlen("ExecStart=/usr/sbin/jibril "));
	ck_assert_int_eq(fclose(f), 0);
	free(text);
	snprintf(manpath, sizeof(manpath), "%s/usr/share/man", dest);
	setenv("MANPATH", manpath, 1);
	st = run_out(argv, &out, 60000);
	ck_assert_msg(exited_ok(st) && out[0] == '\0', "systemd-analyze verify (status %d):\n%s", st,
		      out);
	free(out);
	rmtree(dest);
}
END_TEST

/* --- notify.c without an agent ----------------------------------------------------- */

START_TEST(test_watchdog_rule)
{
	char pid[32];

	/* within SUP_NOTIFY_CADENCES cadences + 1 s of the last query: fed */
	ck_assert(sup_notify_healthy(10000, 10000, 200));
	ck_assert(sup_notify_healthy(11600, 10000, 200));
	ck_assert(!sup_notify_healthy(11601, 10000, 200));
	ck_assert(sup_notify_healthy(190000, 10000, 60000));
	ck_assert(!sup_notify_healthy(191001, 10000, 60000));
	ck_assert(sup_notify_healthy(5000, 10000, 200)); /* a clock that went back */

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	ck_assert_uint_eq(sup_notify_watchdog_ms(), 0);
	setenv("WATCHDOG_USEC", "30000000", 1);
	ck_assert_uint_eq(sup_notify_watchdog_ms(), 15000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_uint_eq(sup_notify_watchdog_ms(), 15000);
	/* another process's watchdog is not ours to feed */
	setenv("WATCHDOG_PID", "1", 1);
	ck_assert_uint_eq(sup_notify_watchdog_ms(), 0);
	setenv("WATCHDOG_PID", pid, 1);
	setenv("WATCHDOG_USEC", "junk", 1);
	ck_assert_uint_eq(sup_notify_watchdog_ms(), 0);
}
END_TEST

/* --- sd_notify end to end ------------------------------------------------------------ */

#define WD_USEC 2000000ull /* the watchdog period this test asks for: 2 s */
#define MAX_MSGS 512

struct notes {
	int fd;
	int n;
	uint64_t at[MAX_MSGS];
	char *text[MAX_MSGS];
};

/* Read datagrams until one contains needle (then its index) or deadline
 * (then -1). Every datagram read is kept. */
static int notes_wait(struct notes *ns, const char *needle, uint64_t deadline_ms)
{
	for (;;) {
		uint64_t now = jbh_now_ms();
		struct pollfd pfd = {ns->fd, POLLIN, 0};
		char buf[4096];
		ssize_t r;

		if (now >= deadline_ms)
			return -1;
		if (poll(&pfd, 1, (int)(deadline_ms - now)) <= 0)
			continue;
		r = recv(ns->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (r < 0)
			continue;
		buf[r] = '\0';
		ck_assert_msg(ns->n < MAX_MSGS, "more than %d notifications", MAX_MSGS);
		ns->at[ns->n] = jbh_now_ms();
		ns->text[ns->n] = strdup(buf);
		if (needle && strstr(buf, needle))
			return ns->n++;
		ns->n++;
	}
}

static void notes_drain(struct notes *ns)
{
	notes_wait(ns, NULL, jbh_now_ms() + 50);
}

static int proc_stopped(pid_t pid)
{
	char path[64], *s, *p;
	int stopped = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	s = jbh_slurp(path, NULL);
	if (s && (p = strrchr(s, ')')) != NULL)
		stopped = p[1] == ' ' && (p[2] == 'T' || p[2] == 't');
	free(s);
	return stopped;
}

START_TEST(test_sd_notify_end_to_end)
{
	struct jbh_opts o = {0};
	struct jbh_agent a;
	struct notes ns = {0};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[] = "/tmp/jb-notify-XXXXXX", wrap[128], usec[32], filter[4096], *real;
	struct jbh_match m;
	json_t *ev;
	pid_t trig;
	int i, ready, total, feeds, statuses;
	uint64_t t, last;
	FILE *f;

	ck_assert(mkdtemp(dir) != NULL);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify.sock", dir);
	ns.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert(ns.fd >= 0);
	ck_assert_msg(bind(ns.fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind: %s",
		      strerror(errno));
	/* WATCHDOG_PID must be the supervisor's: a shell that sets it to its
	 * own pid and then becomes the agent (exec keeps the pid), under the
	 * unit's seccomp hardening (tests/helpers/unitfilter.c) as systemd
	 * would run it */
	real = realpath(jbh_bin(), NULL);
	ck_assert(real != NULL);
	jbh_helper(filter, sizeof(filter), "unitfilter");
	ck_assert_msg(access(filter, X_OK) == 0, "%s is not built", filter);
	snprintf(wrap, sizeof(wrap), "%s/jibril", dir);
	f = fopen(wrap, "w");
	ck_assert(f != NULL);
	fprintf(f, "#!/bin/sh\nWATCHDOG_PID=$$ exec %s %s \"$@\"\n", filter, real);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(wrap, 0755), 0);
	free(real);
	setenv("JIBRIL_BIN", wrap, 1);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	snprintf(usec, sizeof(usec), "%llu", WD_USEC);
	setenv("WATCHDOG_USEC", usec, 1);
	/* the supervisor is stopped for longer than a heartbeat deadline
	 * below: its children must not be judged hung for it */
	o.deadline_ms = 8000;

	jbh_start(&a, &o);
	i = notes_wait(&ns, "READY=1", jbh_now_ms() + READY_MS);
	ck_assert_msg(i >= 0, "no READY=1 within %d ms", READY_MS);
	/* READY=1 comes with the status: every child ready */
	ck_assert_msg(sscanf(strstr(ns.text[i], "STATUS=running: ") ? strstr(ns.text[i], "STATUS=")
								: "",
			     "STATUS=running: %d/%d children ready", &ready, &total) == 2,
		      "READY without the status line: '%s'", ns.text[i]);
	ck_assert_msg(ready == total && total == a.nkinds, "READY with %d/%d ready, %d kinds",
		      ready, total, a.nkinds);
	for (int j = 0; j < i; j++)
		ck_assert_msg(!strstr(ns.text[j], "READY=1"), "READY=1 twice");
	ck_assert_msg(jbh_log_has(&a, "watchdog fed every 1000 ms"),
		      "the supervisor did not take WATCHDOG_USEC/WATCHDOG_PID as its own");
	/* the hardened agent detects */
	trig = jbh_trigger_for(&a, "file_access", &m);
	ev = jbh_wait_event(&a, jbh_match, &m, jbh_detect_deadline(&a));
	ck_assert_msg(ev != NULL, "no %s detection for pid %d under the unit's hardening", m.kind,
		      (int)trig);
	json_decref(ev);

	/* 6 s: WATCHDOG=1 about every second and never a gap of a whole
	 * period; a STATUS= refresh (every 5 s) */
	t = jbh_now_ms();
	notes_wait(&ns, NULL, t + 6000);
	feeds = statuses = 0;
	last = 0;
	for (int j = i + 1; j < ns.n; j++) {
		if (strstr(ns.text[j], "STATUS=running: "))
			statuses++;
		if (strcmp(ns.text[j], "WATCHDOG=1") != 0)
			continue;
		if (last)
			ck_assert_msg(ns.at[j] - last >= 300 && ns.at[j] - last < WD_USEC / 1000,
				      "WATCHDOG=1 %llu ms after the one before (period %llu ms)",
				      (unsigned long long)(ns.at[j] - last), WD_USEC / 2000);
		last = ns.at[j];
		feeds++;
	}
	ck_assert_msg(feeds >= 4, "%d WATCHDOG=1 in 6 s at a %llu ms period", feeds,
		      WD_USEC / 2000);
	ck_assert_msg(statuses >= 1, "no STATUS= refresh in 6 s");

	/* the supervisor stopped: nothing for longer than a period; fed
	 * again once it runs */
	ck_assert_int_eq(kill(a.pid, SIGSTOP), 0);
	for (t = jbh_now_ms() + 5000; !proc_stopped(a.pid) && jbh_now_ms() < t;)
		jbh_sleep_ms(10);
	ck_assert_msg(proc_stopped(a.pid), "the supervisor did not stop");
	notes_drain(&ns); /* sent before it stopped */
	i = notes_wait(&ns, "WATCHDOG=1", jbh_now_ms() + WD_USEC / 1000 + 500);
	ck_assert_msg(i < 0, "WATCHDOG=1 while the supervisor was stopped");
	ck_assert_int_eq(kill(a.pid, SIGCONT), 0);
	i = notes_wait(&ns, "WATCHDOG=1", jbh_now_ms() + WD_USEC / 1000);
	ck_assert_msg(i >= 0, "no WATCHDOG=1 within a period after SIGCONT");

	/* SIGHUP: RELOADING=1, then READY=1 */
	ck_assert_int_eq(kill(a.pid, SIGHUP), 0);
	i = notes_wait(&ns, "RELOADING=1", jbh_now_ms() + 10000);
	ck_assert_msg(i >= 0, "no RELOADING=1 at SIGHUP");
	ck_assert_msg(notes_wait(&ns, "READY=1", jbh_now_ms() + 10000) > i,
		      "no READY=1 after the reload");

	/* SIGTERM: STOPPING=1 (read once it ended: the datagrams wait) */
	jbh_stop(&a, STOP_MS);
	ck_assert_msg(notes_wait(&ns, "STOPPING=1", jbh_now_ms() + 2000) >= 0, "no STOPPING=1");
	close(ns.fd);
	for (int j = 0; j < ns.n; j++)
		free(ns.text[j]);
	unlink(sa.sun_path);
	unlink(wrap);
	rmdir(dir);
}
END_TEST

/* --- under the real systemd ------------------------------------------------------------ */

/* text with its first line that starts with prefix replaced by line
 * (malloc'd); asserts there is one */
static char *replace_line(const char *text, const char *prefix, const char *line)
{
	char want[128], *out;
	const char *p, *end;
	size_t n;

	snprintf(want, sizeof(want), "\n%s", prefix);
	p = strstr(text, want);
	ck_assert_msg(p != NULL, "no line %s", prefix);
	end = strchr(p + 1, '\n');
	end = end ? end : p + strlen(p);
	n = (size_t)(p + 1 - text);
	out = malloc(n + strlen(line) + strlen(end) + 1);
	ck_assert(out != NULL);
	memcpy(out, text, n);
	strcpy(out + n, line);
	strcat(out, end);
	return out;
}

/* systemctl show -p PROP --value UNIT, trimmed (malloc'd) */
static char *unit_prop(const char *unit, const char *prop)
{
	char *argv[] = {"/bin/systemctl", "show", "-p", (char *)prop, "--value", (char *)unit, NULL};
	char *out;

	run_out(argv, &out, 20000);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

static int systemctl(const char *verb, const char *unit)
{
	char *argv[] = {"/bin/systemctl", (char *)verb, (char *)unit, NULL}, *out;
	int st = run_out(argv, &out, 120000);

	if (!exited_ok(st))
		fprintf(stderr, "systemctl %s %s: status %d: %s\n", verb, unit ? unit : "", st, out);
	free(out);
	return exited_ok(st);
}

START_TEST(test_under_systemd)
{
	const char *unit_name = "jibril-check-install.service";
	char dir[] = "/tmp/jb-systemd-XXXXXX", conf[128], unit[256], src[512], exec[1024];
	char *text, *t1, *t2, *bin;
	char *pid0, *pid1 = NULL, *state = NULL, *status;
	FILE *f;
	uint64_t deadline;
	int ok;

	if (access("/run/systemd/system", F_OK) != 0) {
		printf("SKIP: check_install: PID 1 is not systemd (no /run/systemd/system): the unit "
		       "was not run under systemd\n");
		return;
	}
	ck_assert(mkdtemp(dir) != NULL);
	snprintf(conf, sizeof(conf), "%s/jibril.conf", dir);
	f = fopen(conf, "w");
	ck_assert(f != NULL);
	ck_assert_int_eq(fchmod(fileno(f), 0600), 0);
	fprintf(f, "[agent]\ncadence_ms = 200\n[printers]\nstdout = no\nfile = %s/out/events.json\n"
		   "[audit]\nfile = %s/audit/audit.log\nkey = %s/audit/audit.key\n",
		dir, dir, dir);
	ck_assert_int_eq(fclose(f), 0);
	/* the repository's unit, as a runtime unit of its own (gone at reboot)
	 * starting this build with this configuration, and a runtime
	 * directory of its own (an installed agent's /run/jibril stays) */
	snprintf(src, sizeof(src), "%s/contrib/systemd/jibril.service", jbh_src());
	text = jbh_slurp(src, NULL);
	ck_assert(text != NULL);
	bin = realpath(jbh_bin(), NULL);
	ck_assert(bin != NULL);
	snprintf(exec, sizeof(exec), "ExecStart=%s --config %s", bin, conf);
	t1 = replace_line(text, "ExecStart=", exec);
	t2 = replace_line(t1, "RuntimeDirectory=", "RuntimeDirectory=jibril-check-install");
	snprintf(unit, sizeof(unit), "/run/systemd/system/%s", unit_name);
	f = fopen(unit, "w");
	ck_assert(f != NULL);
	fputs(t2, f);
	ck_assert_int_eq(fclose(f), 0);
	free(text);
	free(t1);
	free(t2);
	free(bin);
	ck_assert(systemctl("daemon-reload", NULL));

	/* Type=notify: start returns once READY=1 came */
	ok = systemctl("start", unit_name);
	state = unit_prop(unit_name, "ActiveState");
	status = unit_prop(unit_name, "StatusText");
	pid0 = unit_prop(unit_name, "MainPID");
	if (ok && !strcmp(state, "active") && strstr(status, "children ready") && atoi(pid0) > 0) {
		/* a crash: systemd starts it again (Restart=always) */
		ok = kill(atoi(pid0), SIGKILL) == 0;
		for (deadline = jbh_now_ms() + 60000; ok && jbh_now_ms() < deadline;) {
			free(pid1);
			free(state);
			pid1 = unit_prop(unit_name, "MainPID");
			state = unit_prop(unit_name, "ActiveState");
			if (atoi(pid1) > 0 && strcmp(pid1, pid0) && !strcmp(state, "active"))
				break;
			jbh_sleep_ms(200);
		}
	}
	systemctl("stop", unit_name);
	unlink(unit);
	systemctl("daemon-reload", NULL);
	rmtree(dir);
	ck_assert_msg(ok, "systemctl start %s failed, or the kill did", unit_name);
	ck_assert_msg(strstr(status, "children ready"), "StatusText: '%s'", status);
	ck_assert_msg(pid1 && atoi(pid1) > 0 && strcmp(pid1, pid0) && !strcmp(state, "active"),
		      "not restarted after SIGKILL: MainPID %s -> %s, %s", pid0, pid1 ? pid1 : "?",
		      state);
	free(pid0);
	free(pid1);
	free(state);
	free(status);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("install");
	TCase *tc = tcase_create("install");
	TCase *tn = tcase_create("notify");
	SRunner *sr;
	int failed;

	jbh_main_init("check_install");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_install_tree);
	tcase_add_test(tc, test_reinstall_and_uninstall);
	tcase_add_test(tc, test_installed_config_loads);
	tcase_add_test(tc, test_children_link_only_their_libraries);
	tcase_add_test(tc, test_installed_children_checked);
	tcase_add_test(tc, test_man_pages_lint);
	tcase_add_test(tc, test_man_documents_every_key);
	tcase_add_test(tc, test_man_documents_every_option);
	tcase_add_test(tc, test_unit_directives);
	tcase_add_test(tc, test_unit_verifies);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tn, 240);
	tcase_add_test(tn, test_watchdog_rule);
	tcase_add_test(tn, test_sd_notify_end_to_end);
	tcase_add_test(tn, test_under_systemd);
	suite_add_tcase(s, tn);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jbh_kill_leftovers();
	return failed ? 1 : 0;
}
