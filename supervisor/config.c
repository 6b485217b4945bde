/*
 * config.c - parse jibril.conf (INI, via inih) into struct jb_config.
 *
 * Invariants:
 *  - Strict: unknown section, unknown key, bad value, a key given twice,
 *    a line inih cannot parse, an overlong line, indentation/continuation,
 *    ':' as separator and text after a section's ']' are all errors.
 *    Only the FIRST error is reported, as "FILE:LINE: what is wrong";
 *    cross-field errors name the later line of the keys involved, or just
 *    "FILE:" when none of them was set in the file; I/O errors are
 *    "FILE: cannot open|read: strerror".
 *  - *c is written only on success (we parse into a copy).
 *  - Exact line numbers: inih 55 gives the handler no line number, so we
 *    feed it through our own reader (ini_parse_stream) that counts lines,
 *    hands inih exactly one whole line per call, and pre-checks each raw
 *    line. inih's own syntax errors are reported at the line ini_parse_stream
 *    returns, unless our handler/reader already stored an earlier error.
 *  - Debian's libinih exposes its options as process-wide variables. We pin
 *    them for the duration of one parse (heap line buffer of JB_CONF_LINE_MAX
 *    so a 4095-char path fits, no multi-line values, no value-less keys,
 *    stop on first error, ';'/'#' start-of-line comments, ';' inline
 *    comments) and restore them afterwards. Not thread-safe: load the
 *    config once at startup, before threads exist.
 *  - Accepted inline comments: "key = value ; comment" (';' preceded by
 *    whitespace, inih's rule). '#' is only a comment at the start of a line;
 *    a ';' not preceded by whitespace is part of the value.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <ini.h>

#include "common/log.h"
#include "common/privacy.h"
#include "ipc/msg.h"
#include "supervisor/config.h"

/* Longest line handed to inih, including "\r\n\0". */
#define JB_CONF_LINE_MAX 8192

enum key_kind { K_U32, K_BOOL, K_LEVEL, K_PATH, K_KINDS, K_MEM, K_PIDS, K_CPU, K_BACKEND,
		K_SETTING, K_PRINTERS, K_PRVFIELDS };

struct conf_key {
	const char *section;
	const char *name;
	enum key_kind kind;
	size_t off;		/* offsetof(struct jb_config, field) */
	uint32_t min, max;	/* K_U32 only */
};

#define U32(s, n, f, lo, hi) { s, n, K_U32, offsetof(struct jb_config, f), lo, hi }
#define BOOL(s, n, f)        { s, n, K_BOOL, offsetof(struct jb_config, f), 0, 0 }
#define LIMIT(n, k, f)       { "limits", n, k, offsetof(struct jb_config, f), 0, 0 }

static const struct conf_key conf_keys[] = {
	U32("agent", "cadence_ms", cadence_ms, 50, 60000),
	U32("agent", "heartbeat_ms", heartbeat_ms, 50, 60000),
	U32("agent", "heartbeat_deadline_ms", heartbeat_deadline_ms, 1, 600000),
	U32("agent", "handshake_ms", handshake_ms, 100, 600000),
	{ "agent", "log_level", K_LEVEL, offsetof(struct jb_config, log_level), 0, 0 },
	U32("agent", "child_uid_base", child_uid_base, 1, UINT32_MAX - 1 - JB_KINDS_MAX),
	U32("agent", "backlog_bytes", backlog_bytes, JB_CONF_BACKLOG_MIN, UINT32_MAX),
	{ "agent", "status_socket", K_PATH, offsetof(struct jb_config, status_socket), 0, 0 },
	U32("maps", "tasks", map_tasks, 64, 4194304),
	U32("maps", "files", map_files, 64, 4194304),
	U32("maps", "links", map_links, 64, 4194304),
	U32("maps", "flows", map_flows, 64, 4194304),
	U32("maps", "hot_tasks", map_hot_tasks, 16, 65536),
	U32("maps", "hot_files", map_hot_files, 16, 65536),
	U32("maps", "hot_links", map_hot_links, 16, 262144),
	/* [workers] and [printers]: derived from the kind table (kind_key) */
	U32("printers", "file_max_bytes", file_max_bytes, 0, UINT32_MAX),
	U32("printers", "file_keep", file_keep, 1, JB_CONF_FILE_KEEP_MAX),
	U32("restart", "backoff_initial_ms", backoff_initial_ms, 10, 60000),
	U32("restart", "backoff_max_ms", backoff_max_ms, 10, 3600000),
	U32("restart", "stable_ms", stable_ms, 100, 86400000),
	U32("restart", "throttle_ms", throttle_ms, 100, 3600000),
	{ "recipes", "dir", K_PATH, offsetof(struct jb_config, recipes_dir), 0, 0 },
	{ "recipes", "disable", K_KINDS, offsetof(struct jb_config, recipes_disable), 0, 0 },
	U32("recipes", "summary_s", summary_s, 1, 86400),
	BOOL("debug", "fault_hooks", fault_hooks),
	U32("debug", "query_gap_ms", query_gap_ms, 0, 1000),
	BOOL("tamper", "raw_syscall_hook", tamper_raw_hook),
	{ "bpf", "backend", K_BACKEND, offsetof(struct jb_config, bpf_backend), 0, 0 },
	{ "bpf", "pin_dir", K_PATH, offsetof(struct jb_config, bpf_pin_dir), 0, 0 },
	BOOL("bpf", "keep_on_stop", bpf_keep_on_stop),
	{ "audit", "file", K_PATH, offsetof(struct jb_config, audit_file), 0, 0 },
	{ "audit", "key", K_PATH, offsetof(struct jb_config, audit_key), 0, 0 },
	{ "privacy", "printers", K_PRINTERS, offsetof(struct jb_config, privacy_printers), 0, 0 },
	{ "privacy", "clear", K_PRINTERS, offsetof(struct jb_config, privacy_clear), 0, 0 },
	{ "privacy", "fields", K_PRVFIELDS, offsetof(struct jb_config, privacy_fields), 0, 0 },
	U32("privacy", "ipv4_prefix", privacy_ipv4_prefix, 0, 32),
	U32("privacy", "ipv6_prefix", privacy_ipv6_prefix, 0, 128),
	{ "privacy", "key_file", K_PATH, offsetof(struct jb_config, privacy_key), 0, 0 },
	LIMIT("worker_memory", K_MEM, limits_worker.memory),
	LIMIT("worker_pids", K_PIDS, limits_worker.pids),
	LIMIT("worker_cpu", K_CPU, limits_worker.cpu_pct),
	LIMIT("printer_memory", K_MEM, limits_printer.memory),
	LIMIT("printer_pids", K_PIDS, limits_printer.pids),
	LIMIT("printer_cpu", K_CPU, limits_printer.cpu_pct),
};
#define NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

static const char *const conf_sections[] = {
	"agent", "maps", "workers", "printers", "restart", "recipes", "debug", "tamper", "audit",
	"limits", "bpf", "privacy",
};

static const char *const level_names[] = {
	[LOG_L_ERR] = "error", [LOG_L_WARN] = "warn",
	[LOG_L_INFO] = "info", [LOG_L_DEBUG] = "debug",
	[LOG_L_TRACE] = "trace",
};

static const char *const backend_names[] = {
	[JB_BACKEND_AUTO] = "auto", [JB_BACKEND_TRACEPOINT] = "tracepoint",
	[JB_BACKEND_FENTRY] = "fentry",
};

struct conf_ctx {
	const char *path;
	FILE *fp;
	struct jb_config cfg;		/* the copy being filled */
	int lineno;			/* line last handed to inih */
	char *raw;			/* that line, unmodified (getline) */
	size_t rawcap;
	/* line a key was set on, 0 = not set: the fixed keys, the kind keys,
	 * then each row's own section (SEEN_SET) */
	int seen[NKEYS + JB_KINDS_MAX + JB_KINDS_MAX * JB_SET_KEYS_MAX];
	struct conf_key kind_key;	/* the row of a kind key being parsed */
	size_t set_row, set_key;	/* the row's own key being parsed (K_SETTING) */
	int failed;
	int err_line;			/* 0 = error not tied to a line */
	char err[JB_CONF_ERR_MAX];
};

void jb_config_defaults(struct jb_config *c)
{
	memset(c, 0, sizeof(*c));
	c->cadence_ms = 1000;
	c->heartbeat_ms = 500;
	c->heartbeat_deadline_ms = 2000;
	c->handshake_ms = 5000;
	c->log_level = LOG_L_INFO;
	c->child_uid_base = JB_CONF_UID_BASE;
	c->backlog_bytes = JB_CONF_BACKLOG_BYTES;
	c->map_tasks = 8192;
	c->map_files = 16384;
	c->map_links = 32768;
	c->map_flows = 8192;
	c->map_hot_tasks = 1024;
	c->map_hot_files = 1024;
	c->map_hot_links = 4096;
	for (size_t i = 0; i < jb_nkinds; i++)
		c->kind_on[i] = jb_kinds[i].enable == JB_EN_ON;
	c->printer_file[0] = '\0';
	c->file_max_bytes = JB_CONF_FILE_MAX_BYTES;
	c->file_keep = JB_CONF_FILE_KEEP;
	c->backoff_initial_ms = 250;
	c->backoff_max_ms = 30000;
	c->stable_ms = 60000;
	c->throttle_ms = 10000;
	c->summary_s = 60;
	c->fault_hooks = 0;
	c->query_gap_ms = 0;
	c->tamper_raw_hook = 0;
	c->bpf_backend = JB_BACKEND_AUTO;
	snprintf(c->bpf_pin_dir, sizeof(c->bpf_pin_dir), "%s", JB_CONF_PIN_DIR);
	snprintf(c->audit_file, sizeof(c->audit_file), "%s", JB_CONF_AUDIT_FILE);
	snprintf(c->status_socket, sizeof(c->status_socket), "%s", JB_CONF_STATUS_SOCKET);
	snprintf(c->audit_key, sizeof(c->audit_key), "%s", JB_CONF_AUDIT_KEY);
	c->privacy_fields = PRV_USERS | PRV_HOSTS;
	c->privacy_ipv4_prefix = 24;
	c->privacy_ipv6_prefix = 48;
	snprintf(c->privacy_key, sizeof(c->privacy_key), "%s", JB_CONF_PRIVACY_KEY);
	c->limits_worker = (struct jb_limits){JB_CONF_WORKER_MEMORY, 16, 100};
	c->limits_printer = (struct jb_limits){JB_CONF_PRINTER_MEMORY, 16, 50};
	c->limits_line = 0;
}

const struct jb_limits *jb_config_limits(const struct jb_config *c, uint32_t role)
{
	return role == IPC_ROLE_PRINTER ? &c->limits_printer : &c->limits_worker;
}

/* Record the first error only; line 0 means "FILE: msg". Returns 0. */
__attribute__((format(printf, 3, 4)))
static int fail(struct conf_ctx *x, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (x->failed)
		return 0;
	if (line > 0)
		n = snprintf(x->err, sizeof(x->err), "%s:%d: ", x->path, line);
	else
		n = snprintf(x->err, sizeof(x->err), "%s: ", x->path);
	if (n >= 0 && (size_t)n < sizeof(x->err)) {
		va_start(ap, fmt);
		vsnprintf(x->err + n, sizeof(x->err) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	x->failed = 1;
	x->err_line = line;
	return 0;
}

static const char *skip_ws(const char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	return s;
}

/* The current raw line, past a UTF-8 BOM on line 1 (inih skips it too). */
static const char *raw_line(const struct conf_ctx *x)
{
	const char *p = x->raw;

	if (x->lineno == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	return p;
}

#define SEEN_SET(row, key) (NKEYS + JB_KINDS_MAX + (row) * JB_SET_KEYS_MAX + (key))

static int section_known(const char *name)
{
	for (size_t i = 0; i < sizeof(conf_sections) / sizeof(conf_sections[0]); i++)
		if (strcmp(name, conf_sections[i]) == 0)
			return 1;
	/* a row with settings has a section of its own, [NAME] */
	for (size_t i = 0; i < jb_nkinds; i++)
		if (jb_kinds[i].settings && !strcmp(name, jb_kinds[i].name))
			return 1;
	return 0;
}

/*
 * Checks inih would not make: indentation (inih treats an indented line
 * after a key as a continuation of its value), section headers (unknown,
 * unterminated, trailing text; inih never calls the handler for a section
 * line, so an empty unknown section would otherwise pass). Returns 0 and
 * records an error if the line is rejected.
 */
static int check_raw_line(struct conf_ctx *x)
{
	const char *p = raw_line(x), *q, *end;
	char name[128];

	if (*p == ' ' || *p == '\t') {
		q = skip_ws(p);
		if (*q && *q != ';' && *q != '#')
			return fail(x, x->lineno, "line starts with whitespace "
			    "(indentation and continuation lines are not supported)");
		return 1;
	}
	if (*p != '[')
		return 1;
	end = strchr(p + 1, ']');
	if (end == NULL)
		return fail(x, x->lineno, "section header has no closing ']'");
	q = skip_ws(end + 1);
	if (*q && *q != ';' && *q != '#') {
		size_t len = strlen(q);

		while (len > 0 && isspace((unsigned char)q[len - 1]))
			len--;
		return fail(x, x->lineno, "unexpected text after section header: '%.*s'",
		    (int)(len > 64 ? 64 : len), q);
	}
	if ((size_t)(end - (p + 1)) >= sizeof(name) ||
	    (snprintf(name, sizeof(name), "%.*s", (int)(end - (p + 1)), p + 1),
	     !section_known(name)))
		return fail(x, x->lineno, "unknown section [%.*s]",
		    (int)(end - (p + 1) > 64 ? 64 : end - (p + 1)), p + 1);
	return 1;
}

/* fgets-style reader for ini_parse_stream: one whole line per call. */
static char *conf_reader(char *str, int num, void *stream)
{
	struct conf_ctx *x = stream;
	ssize_t n;
	size_t len;

	if (x->failed)
		return NULL;	/* stop: first error already recorded */
	errno = 0;
	n = getline(&x->raw, &x->rawcap, x->fp);
	if (n < 0) {
		if (ferror(x->fp))
			fail(x, 0, "cannot read: %s", strerror(errno ? errno : EIO));
		return NULL;
	}
	x->lineno++;
	if (memchr(x->raw, '\0', (size_t)n) != NULL) {
		fail(x, x->lineno, "line contains a NUL byte");
		return NULL;
	}
	len = (size_t)n;	/* content, without the line ending */
	if (len > 0 && x->raw[len - 1] == '\n')
		len--;
	if (len > 0 && x->raw[len - 1] == '\r')
		len--;
	if (num < 3 || len > (size_t)num - 3) {	/* inih needs room for \r\n\0 */
		fail(x, x->lineno, "line too long (max %d characters)", num - 3);
		return NULL;
	}
	if (!check_raw_line(x))
		return NULL;
	memcpy(str, x->raw, (size_t)n + 1);
	return str;
}

const char *jb_config_kind_section(const struct jb_kind *k)
{
	if (k->enable == JB_EN_SETTING)
		return k->name; /* its own section holds what enables it */
	return k->role == IPC_ROLE_WORKER ? "workers" : "printers";
}

/* A key of [workers]/[printers]: the row of that name in the kind table,
 * as a key (x->kind_key); its seen[] index follows the fixed keys'. */
static const struct conf_key *kind_key(struct conf_ctx *x, const char *section, const char *name,
				       size_t *idx)
{
	for (size_t i = 0; i < jb_nkinds; i++) {
		const struct jb_kind *k = &jb_kinds[i];

		if (k->enable == JB_EN_SETTING || strcmp(jb_config_kind_section(k), section) != 0 ||
		    strcmp(k->name, name) != 0)
			continue;
		x->kind_key = (struct conf_key){jb_config_kind_section(k), k->name, K_BOOL,
						offsetof(struct jb_config, kind_on) + i * sizeof(int),
						0, 0};
		if (k->enable == JB_EN_PATH) {
			x->kind_key.kind = K_PATH;
			x->kind_key.off = k->path_off;
		}
		*idx = NKEYS + i;
		return &x->kind_key;
	}
	return NULL;
}

/* A key of a row's own section [NAME] (its settings table). */
static const struct conf_key *setting_key(struct conf_ctx *x, const char *section,
					  const char *name, size_t *idx)
{
	for (size_t i = 0; i < jb_nkinds; i++) {
		const struct jb_settings_def *d = jb_kinds[i].settings;

		if (!d || strcmp(jb_kinds[i].name, section) != 0)
			continue;
		for (size_t j = 0; j < d->nkeys && j < JB_SET_KEYS_MAX; j++) {
			if (strcmp(d->keys[j].name, name) != 0)
				continue;
			x->kind_key = (struct conf_key){jb_kinds[i].name, d->keys[j].name, K_SETTING,
							0, 0, 0};
			x->set_row = i;
			x->set_key = j;
			*idx = SEEN_SET(i, j);
			return &x->kind_key;
		}
	}
	return NULL;
}

static const struct conf_key *find_key(struct conf_ctx *x, const char *section, const char *name,
				       size_t *idx)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(conf_keys[i].section, section) == 0 &&
		    strcmp(conf_keys[i].name, name) == 0) {
			*idx = i;
			return &conf_keys[i];
		}
	}
	const struct conf_key *k = kind_key(x, section, name, idx);

	return k ? k : setting_key(x, section, name, idx);
}

const char *jb_config_key_at(size_t i, const char **section)
{
	if (i < NKEYS) {
		*section = conf_keys[i].section;
		return conf_keys[i].name;
	}
	i -= NKEYS;
	if (i < jb_nkinds) {
		/* a row enabled by a key of its own section has no key of its
		 * name: its place here is the first of its section's keys */
		if (jb_kinds[i].enable == JB_EN_SETTING && jb_kinds[i].settings &&
		    jb_kinds[i].settings->nkeys) {
			*section = jb_kinds[i].name;
			return jb_kinds[i].settings->keys[0].name;
		}
		*section = jb_config_kind_section(&jb_kinds[i]);
		return jb_kinds[i].name;
	}
	i -= jb_nkinds;
	for (size_t r = 0; r < jb_nkinds; r++) {
		const struct jb_settings_def *d = jb_kinds[r].settings;

		if (d && i < d->nkeys) {
			*section = jb_kinds[r].name;
			return d->keys[i].name;
		}
		i -= d ? d->nkeys : 0;
	}
	return NULL;
}

int *jb_config_kind(struct jb_config *c, const char *name)
{
	for (size_t i = 0; i < jb_nkinds; i++)
		if (jb_kinds[i].enable != JB_EN_PATH && jb_kinds[i].enable != JB_EN_SETTING &&
		    !strcmp(jb_kinds[i].name, name))
			return &c->kind_on[i];
	return NULL;
}

int jb_config_kind_on(const struct jb_config *c, const char *name)
{
	int *on = jb_config_kind((struct jb_config *)c, name);
	return on ? *on : -1;
}

int jb_config_kind_enabled(const struct jb_config *c, const struct jb_kind *k)
{
	int on;

	if (k->enable == JB_EN_PATH)
		return ((const char *)c + k->path_off)[0] != '\0';
	if (k->enable == JB_EN_SETTING) {
		/* its section's first key (a row of another table: its default) */
		const char *v = k >= jb_kinds && k < jb_kinds + jb_nkinds
					? jb_config_setting(c, (size_t)(k - jb_kinds), 0, NULL)
				: k->settings && k->settings->nkeys ? k->settings->keys[0].dflt
								    : NULL;
		return v && v[0];
	}
	on = jb_config_kind_on(c, k->name);
	return on >= 0 ? on : k->enable == JB_EN_ON; /* a row of another table (tests) */
}

/* Decimal, digits only, full string, no sign, no overflow. */
static int parse_u32(struct conf_ctx *x, const struct conf_key *k, const char *v, uint32_t *out)
{
	unsigned long n;
	char *end;

	if (v[0] == '-' && isdigit((unsigned char)v[1]))
		return fail(x, x->lineno, "%s: '%.64s' is not a number "
		    "(negative values are not allowed)", k->name, v);
	if (!isdigit((unsigned char)v[0]))
		return fail(x, x->lineno, "%s: '%.64s' is not a number", k->name, v);
	errno = 0;
	n = strtoul(v, &end, 10);
	if (*end != '\0')
		return fail(x, x->lineno, "%s: '%.64s' is not a number "
		    "(trailing characters '%.32s')", k->name, v, end);
	if (errno == ERANGE || n < k->min || n > k->max)
		return fail(x, x->lineno, "%s: %.64s is out of range %u..%u",
		    k->name, v, k->min, k->max);
	*out = (uint32_t)n;
	return 1;
}

static int parse_bool(struct conf_ctx *x, const struct conf_key *k, const char *v, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 1;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 1;
		}
	}
	return fail(x, x->lineno, "%s: '%.64s' is not a boolean "
	    "(use yes/no, true/false, on/off or 1/0)", k->name, v);
}

static int parse_level(struct conf_ctx *x, const struct conf_key *k, const char *v, int *out)
{
	for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++) {
		if (strcasecmp(v, level_names[i]) == 0) {
			*out = i;
			return 1;
		}
	}
	return fail(x, x->lineno, "%s: '%.64s' is not a log level "
	    "(use error, warn, info, debug or trace)", k->name, v);
}

static int parse_backend(struct conf_ctx *x, const struct conf_key *k, const char *v, int *out)
{
	for (int i = 0; i < (int)(sizeof(backend_names) / sizeof(backend_names[0])); i++) {
		if (strcasecmp(v, backend_names[i]) == 0) {
			*out = i;
			return 1;
		}
	}
	return fail(x, x->lineno, "%s: '%.64s' is not a backend "
	    "(use auto, tracepoint or fentry)", k->name, v);
}

static int parse_path(struct conf_ctx *x, const struct conf_key *k, const char *v, char *out)
{
	size_t len = strlen(v), max = sizeof(x->cfg.printer_file) - 1;

	if (len > max)
		return fail(x, x->lineno, "%s: path is too long (%zu characters, max %zu)",
		    k->name, len, max);
	if (len > 0 && v[0] != '/')
		return fail(x, x->lineno, "%s: '%.64s' is not an absolute path", k->name, v);
	memcpy(out, v, len + 1);
	return 1;
}

/* Recipe kinds: a-z, 0-9, _ separated by spaces or commas. */
static int parse_kinds(struct conf_ctx *x, const struct conf_key *k, const char *v, char *out)
{
	size_t len = strlen(v);

	if (len >= sizeof(x->cfg.recipes_disable))
		return fail(x, x->lineno, "%s: list is too long (max %zu characters)", k->name,
		    sizeof(x->cfg.recipes_disable) - 1);
	for (const char *p = v; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_' &&
		    *p != ',' && *p != ' ' && *p != '\t')
			return fail(x, x->lineno, "%s: '%c' cannot be part of a recipe kind "
			    "(kinds are a-z, 0-9 and _, separated by spaces or commas)", k->name, *p);
	memcpy(out, v, len + 1);
	x->cfg.recipes_disable_line = x->lineno;
	return 1;
}

/* [limits]: "max" is no limit (0); any other value is a limit the
 * operator asked for, and its line is remembered (cgroup.c refuses to
 * start without cgroups then). */
static int parse_max(struct conf_ctx *x, const char *v)
{
	if (strcmp(v, "max") != 0) {
		if (!x->cfg.limits_line)
			x->cfg.limits_line = x->lineno;
		return 0;
	}
	return 1;
}

/* Bytes: digits and an optional K, M, G or T (powers of 1024). */
static int parse_mem(struct conf_ctx *x, const struct conf_key *k, const char *v, uint64_t *out)
{
	static const char units[] = "KMGTkmgt";
	unsigned long long n;
	const char *u;
	char *end;
	int shift = 0;

	if (parse_max(x, v)) {
		*out = 0;
		return 1;
	}
	if (!isdigit((unsigned char)v[0]))
		return fail(x, x->lineno, "%s: '%.64s' is not a size "
		    "(digits with an optional K, M, G or T, or max)", k->name, v);
	errno = 0;
	n = strtoull(v, &end, 10);
	if (*end) {
		if (end[1] != '\0' || !(u = strchr(units, *end)))
			return fail(x, x->lineno, "%s: '%.64s' is not a size "
			    "(digits with an optional K, M, G or T, or max)", k->name, v);
		shift = 10 * (int)((u - units) % 4 + 1);
	}
	if (errno == ERANGE || n > (JB_CONF_MEMORY_MAX >> shift) ||
	    (n << shift) < JB_CONF_MEMORY_MIN)
		return fail(x, x->lineno, "%s: %.64s is out of range 16M..1T", k->name, v);
	*out = (uint64_t)n << shift;
	return 1;
}

static int parse_pids(struct conf_ctx *x, const struct conf_key *k, const char *v, uint32_t *out)
{
	static const struct conf_key range = {"limits", NULL, K_U32, 0, 1, 4194304};
	struct conf_key r = range;

	if (parse_max(x, v)) {
		*out = 0;
		return 1;
	}
	r.name = k->name;
	return parse_u32(x, &r, v, out);
}

/* "N%" of one CPU, 1..10000 (100 CPUs). */
static int parse_cpu(struct conf_ctx *x, const struct conf_key *k, const char *v, uint32_t *out)
{
	unsigned long n;
	char *end;

	if (parse_max(x, v)) {
		*out = 0;
		return 1;
	}
	errno = 0;
	n = isdigit((unsigned char)v[0]) ? strtoul(v, &end, 10) : 0;
	if (!isdigit((unsigned char)v[0]) || strcmp(end, "%") != 0)
		return fail(x, x->lineno, "%s: '%.64s' is not a CPU share "
		    "(a percentage of one CPU such as 50%%, or max)", k->name, v);
	if (errno == ERANGE || n < 1 || n > 10000)
		return fail(x, x->lineno, "%s: %.64s is out of range 1%%..10000%%", k->name, v);
	*out = (uint32_t)n;
	return 1;
}

int jb_config_setting_num(const struct jb_setting *k, const char *v, uint64_t *out)
{
	static const char units[] = "KMGkmg";
	unsigned long long n;
	const char *u;
	char *end;
	int shift = 0;

	if (!isdigit((unsigned char)v[0]))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (*end) {
		if (k->type != JB_SET_BYTES || end[1] != '\0' || !(u = strchr(units, *end)))
			return -1;
		shift = 10 * (int)((u - units) % 3 + 1);
	}
	if (errno == ERANGE || n > (UINT64_MAX >> shift))
		return -1;
	n <<= shift;
	if (n < k->min || n > k->max)
		return -1;
	*out = n;
	return 0;
}

/* A key of a row's own section: checked by its type, kept in the pool. */
static int parse_setting(struct conf_ctx *x, const char *v)
{
	const struct jb_setting *k = &jb_kinds[x->set_row].settings->keys[x->set_key];
	size_t len = strlen(v);
	uint64_t n;

	switch (k->type) {
	case JB_SET_STR:
		if (len < k->min || len > (k->max ? k->max : 4095))
			return fail(x, x->lineno, "%s: %zu characters (%llu..%llu)", k->name, len,
				    (unsigned long long)k->min,
				    (unsigned long long)(k->max ? k->max : 4095));
		for (const char *c = v; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return fail(x, x->lineno, "%s: a control character in the value",
					    k->name);
		/* "key = ;x" is a comment after a space, a value without one */
		if (v[0] == ';' || v[0] == '#')
			return fail(x, x->lineno, "%s: a value may not begin with '%c' (it reads "
				    "as a comment)", k->name, v[0]);
		break;
	case JB_SET_U32:
	case JB_SET_BYTES:
		if (jb_config_setting_num(k, v, &n) < 0)
			return fail(x, x->lineno, "%s: '%.64s' is not %s in %llu..%llu", k->name, v,
				    k->type == JB_SET_U32 ? "a number"
							  : "a size (digits and an optional K, M or G)",
				    (unsigned long long)k->min, (unsigned long long)k->max);
		break;
	case JB_SET_SECRET:
	case JB_SET_FILE:
	case JB_SET_DIR:
		if (len > 4095)
			return fail(x, x->lineno, "%s: path is too long (%zu characters, max 4095)",
				    k->name, len);
		if (len > 0 && v[0] != '/')
			return fail(x, x->lineno, "%s: '%.64s' is not an absolute path", k->name, v);
		break;
	}
	if (!x->cfg.set_used)
		x->cfg.set_used = 1; /* offset 0 means "not set" */
	if (x->cfg.set_used + len + 1 > sizeof(x->cfg.set_pool))
		return fail(x, x->lineno, "%s: the kinds' own sections hold more than %zu bytes",
			    k->name, sizeof(x->cfg.set_pool));
	memcpy(x->cfg.set_pool + x->cfg.set_used, v, len + 1);
	x->cfg.set_val[x->set_row][x->set_key].off = x->cfg.set_used;
	x->cfg.set_val[x->set_row][x->set_key].line = x->lineno;
	x->cfg.set_used += (uint32_t)(len + 1);
	return 1;
}

const char *jb_config_setting(const struct jb_config *c, size_t kind_index, size_t i, int *line)
{
	const struct jb_settings_def *d = kind_index < jb_nkinds ? jb_kinds[kind_index].settings
								  : NULL;
	uint32_t off;

	if (line)
		*line = 0;
	if (!d || i >= d->nkeys || i >= JB_SET_KEYS_MAX)
		return NULL;
	off = c->set_val[kind_index][i].off;
	if (off && off < sizeof(c->set_pool)) {
		if (line)
			*line = c->set_val[kind_index][i].line;
		return c->set_pool + off;
	}
	return d->keys[i].dflt ? d->keys[i].dflt : "";
}

const char *jb_config_setting_get(const struct jb_config *c, size_t kind_index, const char *name,
				  int *line)
{
	const struct jb_settings_def *d = kind_index < jb_nkinds ? jb_kinds[kind_index].settings
								  : NULL;

	for (size_t i = 0; d && i < d->nkeys; i++)
		if (!strcmp(d->keys[i].name, name))
			return jb_config_setting(c, kind_index, i, line);
	return NULL;
}

int jb_config_settings_differ(const struct jb_config *a, const struct jb_config *b)
{
	for (size_t r = 0; r < jb_nkinds; r++)
		for (size_t i = 0; jb_kinds[r].settings && i < jb_kinds[r].settings->nkeys; i++)
			if (strcmp(jb_config_setting(a, r, i, NULL), jb_config_setting(b, r, i, NULL)))
				return 1;
	return 0;
}

/* The words of a [privacy] list: names separated by commas and blanks.
 * Calls each(x, k, word, len, arg) per word; 0 as soon as one fails. */
static int words(struct conf_ctx *x, const struct conf_key *k, const char *v,
		 int (*each)(struct conf_ctx *, const struct conf_key *, const char *, size_t, void *),
		 void *arg)
{
	while (*v) {
		size_t n;

		v += strspn(v, ", \t");
		n = strcspn(v, ", \t");
		if (n && !each(x, k, v, n, arg))
			return 0;
		v += n;
	}
	return 1;
}

static int printer_word(struct conf_ctx *x, const struct conf_key *k, const char *w, size_t n,
			void *arg)
{
	uint32_t *mask = arg;

	for (size_t i = 0; i < jb_nkinds; i++)
		if (jb_kinds[i].role == IPC_ROLE_PRINTER && strlen(jb_kinds[i].name) == n &&
		    !memcmp(jb_kinds[i].name, w, n)) {
			*mask |= 1u << i;
			return 1;
		}
	char known[256] = "";
	size_t o = 0;
	for (size_t i = 0; i < jb_nkinds && o < sizeof(known); i++)
		if (jb_kinds[i].role == IPC_ROLE_PRINTER)
			o += (size_t)snprintf(known + o, sizeof(known) - o, "%s%s", o ? ", " : "",
					      jb_kinds[i].name);
	return fail(x, x->lineno, "%s: '%.*s' is not a printer (the printers: %s)", k->name,
		    (int)(n > 64 ? 64 : n), w, known);
}

/* [privacy] printers / clear: printer kinds by name. */
static int parse_printers(struct conf_ctx *x, const struct conf_key *k, const char *v,
			  uint32_t *out)
{
	*out = 0;
	return words(x, k, v, printer_word, out);
}

static int field_word(struct conf_ctx *x, const struct conf_key *k, const char *w, size_t n,
		      void *arg)
{
	static const struct { const char *name; uint32_t bit; } f[] = {
		{"users", PRV_USERS}, {"hosts", PRV_HOSTS}, {"ips", PRV_IPS},
	};
	uint32_t *mask = arg;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (strlen(f[i].name) == n && !memcmp(f[i].name, w, n)) {
			*mask |= f[i].bit;
			return 1;
		}
	return fail(x, x->lineno, "%s: '%.*s' is not users, hosts or ips", k->name,
		    (int)(n > 64 ? 64 : n), w);
}

/* [privacy] fields: users, hosts, ips; at least one. */
static int parse_prvfields(struct conf_ctx *x, const struct conf_key *k, const char *v,
			   uint32_t *out)
{
	*out = 0;
	if (!words(x, k, v, field_word, out))
		return 0;
	if (!*out)
		return fail(x, x->lineno, "%s: empty: name at least one of users, hosts, ips (a "
			    "printer that should pseudonymise nothing is left out of printers)",
			    k->name);
	return 1;
}

uint32_t jb_config_privacy(const struct jb_config *c, size_t kind_index)
{
	const struct jb_kind *k = &jb_kinds[kind_index];
	uint32_t bit = 1u << kind_index;

	if (kind_index >= jb_nkinds || k->role != IPC_ROLE_PRINTER)
		return 0;
	if ((c->privacy_printers & bit) || (k->pseudonymise && !(c->privacy_clear & bit)))
		return c->privacy_fields;
	return 0;
}

static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct conf_ctx *x = user;
	const struct conf_key *k;
	const char *p;
	size_t idx;
	char *field;

	if (x->failed)
		return 0;
	if (value == NULL)	/* only with ini_allow_no_value, which we pin off */
		return fail(x, x->lineno, "key '%.64s' has no value", name);
	/* inih also splits on ':'; we accept only '='. */
	p = skip_ws(raw_line(x));
	if (strncmp(p, name, strlen(name)) == 0) {
		p += strlen(name);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == ':')
			return fail(x, x->lineno, "expected 'key = value' "
			    "(':' is not accepted as a separator)");
	}
	if (name[0] == '\0')
		return fail(x, x->lineno, "missing key name before '='");
	if (section[0] == '\0')
		return fail(x, x->lineno, "key '%.64s' is outside of any [section]", name);
	if (!section_known(section))	/* the reader already rejects these */
		return fail(x, x->lineno, "unknown section [%.64s]", section);
	k = find_key(x, section, name, &idx);
	if (k == NULL)
		return fail(x, x->lineno, "unknown key '%.64s' in section [%s]", name, section);
	if (x->seen[idx])
		return fail(x, x->lineno, "duplicate key '%s' in section [%s] "
		    "(first set on line %d)", name, section, x->seen[idx]);
	x->seen[idx] = x->lineno;

	field = (char *)&x->cfg + k->off;
	switch (k->kind) {
	case K_U32:
		return parse_u32(x, k, value, (uint32_t *)(void *)field);
	case K_BOOL:
		return parse_bool(x, k, value, (int *)(void *)field);
	case K_LEVEL:
		return parse_level(x, k, value, (int *)(void *)field);
	case K_PATH:
		return parse_path(x, k, value, field);
	case K_KINDS:
		return parse_kinds(x, k, value, field);
	case K_MEM:
		return parse_mem(x, k, value, (uint64_t *)(void *)field);
	case K_PIDS:
		return parse_pids(x, k, value, (uint32_t *)(void *)field);
	case K_CPU:
		return parse_cpu(x, k, value, (uint32_t *)(void *)field);
	case K_BACKEND:
		return parse_backend(x, k, value, (int *)(void *)field);
	case K_SETTING:
		return parse_setting(x, value);
	case K_PRINTERS:
		return parse_printers(x, k, value, (uint32_t *)(void *)field);
	case K_PRVFIELDS:
		return parse_prvfields(x, k, value, (uint32_t *)(void *)field);
	}
	return fail(x, x->lineno, "internal error: bad key kind");
}

static int seen_line(struct conf_ctx *x, const char *section, const char *name)
{
	size_t idx;

	return find_key(x, section, name, &idx) ? x->seen[idx] : 0;
}

static int max_line(int a, int b)
{
	return a > b ? a : b;
}

/* At least one printer row is enabled; else the error names the last
 * printer key set and how to enable each. */
static int printer_enabled(struct conf_ctx *x)
{
	char how[512] = "";
	size_t o = 0;
	int line = 0;

	for (size_t i = 0; i < jb_nkinds; i++) {
		const struct jb_kind *k = &jb_kinds[i];

		if (k->role != IPC_ROLE_PRINTER)
			continue;
		if (jb_config_kind_enabled(&x->cfg, k))
			return 1;
		line = max_line(line, seen_line(x, "printers", k->name));
		if (o < sizeof(how))
			o += (size_t)snprintf(how + o, sizeof(how) - o, "%s%s = %s", o ? " or " : "",
					      k->name,
					      k->enable == JB_EN_PATH ? "/absolute/path" : "yes");
	}
	return fail(x, line, "no printer enabled: set [printers] %s", how);
}

/* [audit]: a log needs a key, and the key (with its anchor, KEY.anchor)
 * must not be the log itself. */
static int audit_ok(struct conf_ctx *x)
{
	const struct jb_config *c = &x->cfg;
	int line = max_line(seen_line(x, "audit", "file"), seen_line(x, "audit", "key"));

	if (!c->audit_file[0])
		return 1;
	if (!c->audit_key[0])
		return fail(x, line, "[audit] key is empty: the audit log %s needs a key file "
		    "(or leave file empty to turn the audit log off)", c->audit_file);
	if (strlen(c->audit_key) + sizeof(".anchor.tmp") > sizeof(c->audit_key))
		return fail(x, line, "[audit] key: path too long (its anchor is KEY.anchor)");
	if (!strcmp(c->audit_file, c->audit_key))
		return fail(x, line, "[audit] file and key are the same path (%s)", c->audit_key);
	return 1;
}

/* [privacy]: a printer is not both pseudonymised and in clear; a key
 * when any printer pseudonymises, and not one of the audit log's files. */
static int privacy_ok(struct conf_ctx *x)
{
	const struct jb_config *c = &x->cfg;
	int line = max_line(seen_line(x, "privacy", "printers"), seen_line(x, "privacy", "clear"));
	uint32_t both = c->privacy_printers & c->privacy_clear, any = 0;

	for (size_t i = 0; i < jb_nkinds; i++)
		if (both & (1u << i))
			return fail(x, line, "[privacy] %s is in both printers and clear",
				    jb_kinds[i].name);
	for (size_t i = 0; i < jb_nkinds; i++)
		if (jb_config_kind_enabled(c, &jb_kinds[i]))
			any |= jb_config_privacy(c, i);
	if (!any)
		return 1;
	line = max_line(line, seen_line(x, "privacy", "key_file"));
	if (!c->privacy_key[0])
		return fail(x, line, "[privacy] key_file is empty: a printer pseudonymises, and "
			    "needs the key");
	if (!strcmp(c->privacy_key, c->audit_key) || !strcmp(c->privacy_key, c->audit_file))
		return fail(x, line, "[privacy] key_file %s is a file of [audit]: give each key "
			    "its own file", c->privacy_key);
	return 1;
}

/* [agent] status_socket: a UNIX socket's path fits sun_path. */
static int status_socket_ok(struct conf_ctx *x)
{
	size_t len = strlen(x->cfg.status_socket);

	if (len > JB_CONF_STATUS_SOCKET_MAX)
		return fail(x, seen_line(x, "agent", "status_socket"), "status_socket: a UNIX "
			    "socket's path is at most %d bytes (this one has %zu)",
			    JB_CONF_STATUS_SOCKET_MAX, len);
	return 1;
}

/* Each enabled row's own section: its required keys set, its checks
 * passed. The error names the key's line, else the row's enabling key. */
static int settings_ok(struct conf_ctx *x)
{
	for (size_t r = 0; r < jb_nkinds; r++) {
		const struct jb_kind *k = &jb_kinds[r];
		const struct jb_settings_def *d = k->settings;
		const char *vals[JB_SET_KEYS_MAX];
		int on_line = seen_line(x, jb_config_kind_section(k), k->name);
		char why[JB_CONF_ERR_MAX / 2] = "";
		size_t bad = 0;

		if (!d || !jb_config_kind_enabled(&x->cfg, k))
			continue;
		for (size_t i = 0; i < d->nkeys && i < JB_SET_KEYS_MAX; i++) {
			int line;

			vals[i] = jb_config_setting(&x->cfg, r, i, &line);
			if (!d->keys[i].dflt && !line)
				return fail(x, on_line, "[%s] %s is required when [%s] %s is on",
					    k->name, d->keys[i].name, jb_config_kind_section(k),
					    k->name);
		}
		if (d->check && d->check(vals, &bad, why, sizeof(why)) < 0) {
			int line = 0;

			if (bad < d->nkeys)
				jb_config_setting(&x->cfg, r, bad, &line);
			return fail(x, line ? line : on_line, "[%s] %s: %s", k->name,
				    bad < d->nkeys ? d->keys[bad].name : "?", why);
		}
	}
	return 1;
}

/* [printers] file_max_bytes: 0, or room for the largest line; and the
 * rotated names (FILE.N, N up to file_keep) must be valid file names. */
static int file_rotation_ok(struct conf_ctx *x)
{
	const struct jb_config *c = &x->cfg;
	const char *base = strrchr(c->printer_file, '/');
	char suffix[16];

	if (c->file_max_bytes && c->file_max_bytes < JB_CONF_FILE_MAX_MIN)
		return fail(x, seen_line(x, "printers", "file_max_bytes"),
		    "file_max_bytes: %u is too small: 0 (never rotate by size) or at least %u "
		    "(the largest line)", c->file_max_bytes, JB_CONF_FILE_MAX_MIN);
	snprintf(suffix, sizeof(suffix), ".%u", c->file_keep);
	if (base && strlen(base + 1) + strlen(suffix) > NAME_MAX)
		return fail(x, max_line(seen_line(x, "printers", "file"),
		    seen_line(x, "printers", "file_keep")),
		    "file: its name (%zu characters) is too long for its rotated copies "
		    "(NAME%s: at most %d characters)", strlen(base + 1), suffix, NAME_MAX);
	return 1;
}

/* Checks between keys; the error names the later line involved. */
static int cross_check(struct conf_ctx *x)
{
	const struct jb_config *c = &x->cfg;

	if (c->heartbeat_deadline_ms <= c->heartbeat_ms)
		return fail(x, max_line(seen_line(x, "agent", "heartbeat_ms"),
		    seen_line(x, "agent", "heartbeat_deadline_ms")),
		    "heartbeat_deadline_ms (%u) must be greater than heartbeat_ms (%u)",
		    c->heartbeat_deadline_ms, c->heartbeat_ms);
	if (c->backoff_max_ms < c->backoff_initial_ms)
		return fail(x, max_line(seen_line(x, "restart", "backoff_initial_ms"),
		    seen_line(x, "restart", "backoff_max_ms")),
		    "backoff_max_ms (%u) must be at least backoff_initial_ms (%u)",
		    c->backoff_max_ms, c->backoff_initial_ms);
	if (!audit_ok(x) || !status_socket_ok(x) || !file_rotation_ok(x) || !settings_ok(x) ||
	    !privacy_ok(x))
		return 0;
	return printer_enabled(x);
}

/* inih's process-wide options (Debian build), pinned during a parse. */
struct ini_knobs {
	bool multiline, bom, inline_comments, use_stack, realloc_, no_value, stop;
	char *inline_prefixes, *start_prefixes;
	int max_line, initial_alloc;
};

static void knobs_save(struct ini_knobs *k)
{
	k->multiline = ini_allow_multiline;
	k->bom = ini_allow_bom;
	k->inline_comments = ini_allow_inline_comments;
	k->use_stack = ini_use_stack;
	k->realloc_ = ini_allow_realloc;
	k->no_value = ini_allow_no_value;
	k->stop = ini_stop_on_first_error;
	k->inline_prefixes = ini_inline_comment_prefixes;
	k->start_prefixes = ini_start_comment_prefixes;
	k->max_line = ini_max_line;
	k->initial_alloc = ini_initial_alloc;
}

static void knobs_restore(const struct ini_knobs *k)
{
	ini_allow_multiline = k->multiline;
	ini_allow_bom = k->bom;
	ini_allow_inline_comments = k->inline_comments;
	ini_use_stack = k->use_stack;
	ini_allow_realloc = k->realloc_;
	ini_allow_no_value = k->no_value;
	ini_stop_on_first_error = k->stop;
	ini_inline_comment_prefixes = k->inline_prefixes;
	ini_start_comment_prefixes = k->start_prefixes;
	ini_max_line = k->max_line;
	ini_initial_alloc = k->initial_alloc;
}

static void knobs_pin(void)
{
	static char inline_prefixes[] = ";";
	static char start_prefixes[] = ";#";

	ini_allow_multiline = false;
	ini_allow_bom = true;
	ini_allow_inline_comments = true;
	ini_inline_comment_prefixes = inline_prefixes;
	ini_start_comment_prefixes = start_prefixes;
	ini_use_stack = false;		/* heap buffer of ini_initial_alloc bytes */
	ini_allow_realloc = false;	/* our reader never hands over partial lines */
	ini_initial_alloc = JB_CONF_LINE_MAX;
	ini_max_line = JB_CONF_LINE_MAX;
	ini_allow_no_value = false;
	ini_stop_on_first_error = true;
}

int jb_config_load(struct jb_config *c, const char *path, char *err, size_t errlen)
{
	struct conf_ctx *x;
	struct ini_knobs saved;
	int r, ret = -1;

	if (err && errlen)
		err[0] = '\0';
	x = calloc(1, sizeof(*x));
	if (x == NULL) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	x->path = path;
	x->cfg = *c;

	x->fp = fopen(path, "re");
	if (x->fp == NULL) {
		fail(x, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	{
		/* who owns what we parse: judged by sup_owner_config() */
		struct stat st;
		if (fstat(fileno(x->fp), &st) < 0) {
			fail(x, 0, "cannot stat: %s", strerror(errno));
			goto out;
		}
		x->cfg.conf_uid = st.st_uid;
		x->cfg.conf_mode = st.st_mode;
	}

	knobs_save(&saved);
	knobs_pin();
	r = ini_parse_stream(conf_reader, x, conf_handler, x);
	knobs_restore(&saved);

	if (r == -2) {
		x->failed = 0;
		fail(x, 0, "out of memory");
	} else if (r > 0 && (!x->failed || x->err_line == 0 || r < x->err_line)) {
		x->failed = 0;	/* inih's error comes first */
		fail(x, r, "syntax error: expected '[section]', 'key = value' or a comment");
	} else if (r < 0 && !x->failed) {
		fail(x, 0, "cannot read: parser error %d", r);
	}
	if (!x->failed && cross_check(x)) {
		x->cfg.child_uid_base_line = seen_line(x, "agent", "child_uid_base");
		x->cfg.audit_file_line = seen_line(x, "audit", "file");
		x->cfg.status_socket_line = seen_line(x, "agent", "status_socket");
		x->cfg.audit_key_line = seen_line(x, "audit", "key");
		x->cfg.privacy_key_line = seen_line(x, "privacy", "key_file");
		x->cfg.recipes_dir_line = seen_line(x, "recipes", "dir");
		x->cfg.bpf_backend_line = seen_line(x, "bpf", "backend");
		x->cfg.bpf_pin_dir_line = seen_line(x, "bpf", "pin_dir");
		for (size_t i = 0; i < jb_nkinds; i++)
			x->cfg.kind_line[i] = x->seen[NKEYS + i];
		ret = 0;
	}
out:
	if (x->fp)
		fclose(x->fp);
	if (ret == 0)
		*c = x->cfg;
	else if (err && errlen)
		snprintf(err, errlen, "%s", x->err);
	free(x->raw);
	free(x);
	return ret;
}
