/*
 * fuzz_config.c - libFuzzer target for the jibril.conf parser
 * (supervisor/config.c, jb_config_load()).
 *
 *   make fuzz; build/fuzz/fuzz_config -dict=fuzz/config.dict DIR  (a copy of fuzz/corpus/config)
 *
 * The input is the whole file; it reaches the parser through a memfd named
 * by its /proc/self/fd path, since jb_config_load() opens a path itself.
 *
 * Besides "never crash", it checks:
 *  - a rejected file yields one line, "PATH:LINE: why" with LINE a line of
 *    the input, or "PATH: why", and leaves the caller's struct untouched;
 *  - an accepted file gives values inside the ranges jibril.conf documents
 *    (a table below, kept apart from config.c's on purpose) and the checks
 *    across keys hold: deadline > heartbeat, backoff max >= initial, a printer;
 *  - round trip: the accepted values written back as a canonical file parse
 *    to the same values;
 *  - inih's process-wide options are as they were before the parse.
 */
#include <ini.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz/broken.h"
#include "common/kind.h"
#include "common/log.h"
#include "ipc/msg.h"
#include "supervisor/config.h"

/* A property does not hold: say which, with the text it is about. */
static int fd = -1;
static char path[64];
static struct jb_config c1, c2, defaults;

/* The documented ranges (jibril.conf), one row per number key. */
static const struct {
	const char *section, *name;
	size_t off;
	uint32_t min, max;
} ranges[] = {
#define R(s, n, f, lo, hi) { s, n, offsetof(struct jb_config, f), lo, hi }
	R("agent", "cadence_ms", cadence_ms, 50, 60000),
	R("agent", "heartbeat_ms", heartbeat_ms, 50, 60000),
	R("agent", "heartbeat_deadline_ms", heartbeat_deadline_ms, 1, 600000),
	R("agent", "handshake_ms", handshake_ms, 100, 600000),
	R("agent", "child_uid_base", child_uid_base, 1, UINT32_MAX - 1 - JB_KINDS_MAX),
	R("agent", "backlog_bytes", backlog_bytes, 4194304, UINT32_MAX),
	R("maps", "tasks", map_tasks, 64, 4194304),
	R("maps", "files", map_files, 64, 4194304),
	R("maps", "links", map_links, 64, 4194304),
	R("maps", "flows", map_flows, 64, 4194304),
	R("maps", "hot_tasks", map_hot_tasks, 16, 65536),
	R("maps", "hot_files", map_hot_files, 16, 65536),
	R("maps", "hot_links", map_hot_links, 16, 262144),
	R("restart", "backoff_initial_ms", backoff_initial_ms, 10, 60000),
	R("restart", "backoff_max_ms", backoff_max_ms, 10, 3600000),
	R("restart", "stable_ms", stable_ms, 100, 86400000),
	R("restart", "throttle_ms", throttle_ms, 100, 3600000),
	R("recipes", "summary_s", summary_s, 1, 86400),
#undef R
};
#define NRANGES (sizeof(ranges) / sizeof(ranges[0]))


/* The boolean keys besides the kinds' (which come from the kind table). */
static const struct {
	const char *section, *name;
	size_t off;
} bools[] = {
	{ "debug", "fault_hooks", offsetof(struct jb_config, fault_hooks) },
};
#define NBOOLS (sizeof(bools) / sizeof(bools[0]))

/* A kind row's section and value: its enable flag, or its path. Stated
 * here again on purpose: the harness is the oracle of config.c, so it
 * does not borrow config.c's answers (jb_config_kind_enabled/_section). */
static const char *kind_section(const struct jb_kind *k)
{
	return k->role == IPC_ROLE_WORKER ? "workers" : "printers";
}

static const char *kind_path(const struct jb_config *c, const struct jb_kind *k)
{
	return (const char *)c + k->path_off;
}

/* At least one printer row enabled. */
static int prints(const struct jb_config *c)
{
	for (size_t i = 0; i < jb_nkinds; i++)
		if (jb_kinds[i].role == IPC_ROLE_PRINTER &&
		    (jb_kinds[i].enable == JB_EN_PATH ? kind_path(c, &jb_kinds[i])[0] != '\0'
						      : c->kind_on[i]))
			return 1;
	return 0;
}

static uint32_t u32_at(const struct jb_config *c, size_t off)
{
	uint32_t v;

	memcpy(&v, (const char *)c + off, sizeof(v));
	return v;
}

static void put(const void *data, size_t size)
{
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
}

static size_t count_lines(const uint8_t *d, size_t n)
{
	size_t lines = 0;

	for (size_t i = 0; i < n; i++)
		lines += d[i] == '\n';
	return lines + (n > 0 && d[n - 1] != '\n');
}

/* "PATH: why" or "PATH:LINE: why" with 1 <= LINE <= nlines, on one line. */
static void check_error(const char *err, size_t nlines)
{
	size_t plen = strlen(path);
	const char *p = err + plen;
	unsigned long line;
	char *end;

	if (err[0] == '\0' || strchr(err, '\n') || strncmp(err, path, plen) || *p != ':')
		broken("not one line 'PATH: why' or 'PATH:LINE: why': %s", err);
	if (p[1] == ' ')
		return;
	if (p[1] < '1' || p[1] > '9')
		broken("not 'PATH: why' or 'PATH:LINE: why': %s", err);
	line = strtoul(p + 1, &end, 10);
	if (end[0] != ':' || end[1] != ' ' || line > nlines)
		broken("not 'PATH:LINE: why' with LINE <= %zu: %s", nlines, err);
}

static int int_at(const struct jb_config *c, size_t off)
{
	int v;

	memcpy(&v, (const char *)c + off, sizeof(v));
	return v;
}

static int cstr_in(const char *s, size_t cap) { return memchr(s, '\0', cap) != NULL; }

static void check_values(const struct jb_config *c, size_t nlines)
{
	for (size_t i = 0; i < NRANGES; i++) {
		uint32_t v = u32_at(c, ranges[i].off);
		if (v < ranges[i].min || v > ranges[i].max)
			broken("accepted %s = %u, outside %u..%u", ranges[i].name, v,
			       ranges[i].min, ranges[i].max);
	}
	for (size_t i = 0; i < NBOOLS; i++)
		if (int_at(c, bools[i].off) != 0 && int_at(c, bools[i].off) != 1)
			broken("accepted %s = %d, not a boolean", bools[i].name,
			       int_at(c, bools[i].off));
	for (size_t i = 0; i < jb_nkinds; i++) {
		const struct jb_kind *k = &jb_kinds[i];
		const char *path = kind_path(c, k);

		if (k->enable != JB_EN_PATH && k->enable != JB_EN_SETTING && c->kind_on[i] != 0 &&
		    c->kind_on[i] != 1)
			broken("accepted %s = %d, not a boolean", k->name, c->kind_on[i]);
		if (k->enable == JB_EN_PATH &&
		    (!cstr_in(path, sizeof(c->printer_file)) || (path[0] && path[0] != '/')))
			broken("accepted %s = '%.64s', not an absolute path", k->name, path);
	}
	if (c->heartbeat_deadline_ms <= c->heartbeat_ms ||
	    c->backoff_max_ms < c->backoff_initial_ms || c->log_level < 0 || c->log_level > LOG_L_TRACE)
		abort();
	if (!cstr_in(c->printer_file, sizeof(c->printer_file)) ||
	    !cstr_in(c->recipes_dir, sizeof(c->recipes_dir)) ||
	    !cstr_in(c->recipes_disable, sizeof(c->recipes_disable)))
		abort();
	if (!cstr_in(c->audit_file, sizeof(c->audit_file)) ||
	    !cstr_in(c->audit_key, sizeof(c->audit_key)) ||
	    (c->audit_file[0] && (c->audit_file[0] != '/' || c->audit_key[0] != '/' ||
				  !strcmp(c->audit_file, c->audit_key))) ||
	    (c->audit_key[0] && c->audit_key[0] != '/'))
		broken("accepted [audit] file = '%.64s', key = '%.64s'", c->audit_file, c->audit_key);
	if ((c->printer_file[0] && c->printer_file[0] != '/') ||
	    (c->recipes_dir[0] && c->recipes_dir[0] != '/'))
		abort();
	if (!prints(c))
		abort();
	if (strspn(c->recipes_disable, "abcdefghijklmnopqrstuvwxyz0123456789_, \t") !=
	    strlen(c->recipes_disable))
		abort();
	if (c->recipes_disable_line < 0 || (size_t)c->recipes_disable_line > nlines ||
	    (c->recipes_disable[0] && !c->recipes_disable_line))
		abort();
}

/* The accepted values as a canonical file. */
static size_t emit(const struct jb_config *c, char *out, size_t cap)
{
	static const char *const levels[] = { "error", "warn", "info", "debug", "trace" };
	const char *sect = "";
	size_t n = 0;

#define OUT(...) (n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, __VA_ARGS__))
	for (size_t i = 0; i < NRANGES; i++) {
		if (strcmp(sect, ranges[i].section))
			OUT("[%s]\n", sect = ranges[i].section);
		OUT("%s = %u\n", ranges[i].name, u32_at(c, ranges[i].off));
	}
	for (size_t i = 0; i < NBOOLS; i++)
		OUT("[%s]\n%s = %s\n", bools[i].section, bools[i].name,
		    int_at(c, bools[i].off) ? "yes" : "off");
	for (size_t i = 0; i < jb_nkinds; i++) {
		const struct jb_kind *k = &jb_kinds[i];
		if (k->enable == JB_EN_SETTING)
			continue; /* no key of its own: its section's first key (below) */
		if (k->enable == JB_EN_PATH)
			OUT("[%s]\n%s = %s\n", kind_section(k), k->name, kind_path(c, k));
		else
			OUT("[%s]\n%s = %s\n", kind_section(k), k->name,
			    c->kind_on[i] ? "yes" : "off");
	}
	OUT("[agent]\nlog_level = %s\n", levels[c->log_level]);
	OUT("[recipes]\ndir = %s\n", c->recipes_dir);
	if (c->recipes_disable_line)
		OUT("disable = %s\n", c->recipes_disable);
	OUT("[audit]\nfile = %s\nkey = %s\n", c->audit_file, c->audit_key);
	/* each row's own section: the keys the file set */
	for (size_t i = 0; i < jb_nkinds; i++)
		for (size_t j = 0; jb_kinds[i].settings && j < jb_kinds[i].settings->nkeys; j++) {
			int line;
			const char *v = jb_config_setting(c, i, j, &line);

			if (line)
				OUT("[%s]\n%s = %s\n", jb_kinds[i].name,
				    jb_kinds[i].settings->keys[j].name, v);
		}
#undef OUT
	if (n >= cap)
		abort();
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char canon[5 * 4096 + 4096 + 2 * JB_CONF_SET_POOL];
	char err[JB_CONF_ERR_MAX];
	bool multiline = ini_allow_multiline, stop = ini_stop_on_first_error;
	int max_line = ini_max_line;
	char *prefixes = ini_inline_comment_prefixes;
	size_t nlines = count_lines(data, size), n;

	if (fd < 0) {
		fd = memfd_create("fuzz.conf", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		jb_config_defaults(&defaults);
	}
	put(data, size);
	c1 = defaults;
	if (jb_config_load(&c1, path, err, sizeof(err)) < 0) {
		check_error(err, nlines);
		if (memcmp(&c1, &defaults, sizeof(c1)))
			broken("the caller's struct written although rejected: %s", err);
	} else {
		check_values(&c1, nlines);
		n = emit(&c1, canon, sizeof(canon));
		put(canon, n);
		c2 = defaults;
		if (jb_config_load(&c2, path, err, sizeof(err)) < 0)
			broken("its own values, written back, are refused: %s", err);
		c2.recipes_disable_line = c1.recipes_disable_line;
		c2.child_uid_base_line = c1.child_uid_base_line;
		c2.audit_file_line = c1.audit_file_line;
		c2.audit_key_line = c1.audit_key_line;
		c2.recipes_dir_line = c1.recipes_dir_line;
		memcpy(c2.kind_line, c1.kind_line, sizeof(c2.kind_line));
		/* the rows' own sections: the same values, wherever the pool keeps them */
		if (jb_config_settings_differ(&c1, &c2))
			broken("its own section values, written back, parse to others");
		memcpy(c2.set_pool, c1.set_pool, sizeof(c2.set_pool));
		memcpy(c2.set_val, c1.set_val, sizeof(c2.set_val));
		c2.set_used = c1.set_used;
		if (memcmp(&c1, &c2, sizeof(c1)))
			broken("its own values, written back, parse to others");
	}
	if (ini_allow_multiline != multiline || ini_stop_on_first_error != stop ||
	    ini_max_line != max_line || ini_inline_comment_prefixes != prefixes)
		broken("inih's options not restored");
	return 0;
}
