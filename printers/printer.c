/*
 * printer.c - the printer runtime: for each PRINT, re-validate the JSON
 * (a worker may be compromised; the line must stay one valid JSON object),
 * write it as one line, flush, and acknowledge with PRINTED.
 *
 * Invariants:
 *  - PRINTED seq is sent only after the line is written and flushed: the
 *    supervisor keeps every unacknowledged line and sends it again to a
 *    restarted printer (at-least-once; a crash between write and ack can
 *    repeat a line, never lose one).
 *  - a line that fails to write makes the printer exit non-zero so it is
 *    restarted, rather than acknowledging what it did not print.
 *  - while its output cannot take more (a paused terminal, a full pipe)
 *    the printer keeps sending heartbeats: it is busy, not hung.
 *  - a loss the printer knows of (prn_loss: a spool that dropped its
 *    oldest, a batch given up) goes to the supervisor as IPC_LOSS, which
 *    reports it as a data_loss event through the other printers too. One
 *    reported before READY (the supervisor takes a role's messages only
 *    from READY on) waits here, summed per cause, and is sent right after
 *    READY; one that cannot be sent ends the printer with the counts in
 *    its last log line, never silently.
 *  - a printer whose [privacy] policy is on (its settings hold the key:
 *    supervisor/privacy.c) pseudonymises every line (common/privacy.h)
 *    before its output sees it; a line that cannot be is never written
 *    as it came: dropped, acknowledged and reported (prn_loss "privacy").
 *    With the policy off a line is exactly what it was before.
 *  - its figures (IPC_PRN_STATS: memory queue, spool, delivered, retries,
 *    rejected) go to the supervisor from the heartbeat, after READY, at
 *    most once a second and only when they changed; a report that cannot
 *    be queued waits for the next beat (figures, not detections).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/child.h"
#include "common/log.h"
#include "common/privacy.h"
#include "common/settings.h"
#include "printers/printer.h"

static const struct prn_output *out;
static const char *out_name;
static int out_fd = -1, fault_hooks;
static uint64_t printed, invalid;

#define LOSS_PENDING_MAX 16 /* distinct causes held before READY */

static struct {
	char cause[IPC_CAUSE_MAX + 1];
	uint64_t count;
	char detail[IPC_DETAIL_MAX + 1];
} loss_pending[LOSS_PENDING_MAX];
static size_t loss_npending;
static int ready;

/* Wait until fd can take bytes, sending heartbeats meanwhile: a printer
 * whose output is paused (a terminal on Ctrl-S, a slow pipe) is busy,
 * not hung, and must not be replaced (it would print its lines again). */
static void wait_writable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};

	while (poll(&p, 1, 100) == 0)
		jb_child_beat_if_due();
}

int prn_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		wait_writable(fd);
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static struct jb_settings settings;
static int have_settings;

const struct jb_settings *prn_settings(void)
{
	return have_settings ? &settings : NULL;
}

static struct prv_policy privacy; /* fields 0: lines go out as they came */

const struct prv_policy *prn_privacy(void)
{
	return privacy.fields ? &privacy : NULL;
}

/* [privacy]'s records of the settings (supervisor/privacy.h): all three,
 * or none. 0, or -1 with err. */
static int privacy_setup(char *err, size_t errlen)
{
	const char *pol = jb_settings_get(&settings, "prv_policy", NULL), *key, *users;
	size_t klen = 0, ulen = 0;
	unsigned f, v4, v6;
	char end;

	if (!pol)
		return 0;
	key = jb_settings_get(&settings, "prv_key", &klen);
	users = jb_settings_get(&settings, "prv_users", &ulen);
	if (sscanf(pol, "%u %u %u%c", &f, &v4, &v6, &end) != 3 || !f ||
	    f & ~(unsigned)(PRV_USERS | PRV_HOSTS | PRV_IPS) || v4 > 32 || v6 > 128 || !key ||
	    klen != PRV_KEY_LEN || !users || (ulen && users[ulen - 1])) {
		snprintf(err, errlen, "%s printer: [privacy] settings are malformed", out_name);
		return -1;
	}
	privacy.fields = f;
	privacy.ipv4_prefix = v4;
	privacy.ipv6_prefix = v6;
	memcpy(privacy.key, key, PRV_KEY_LEN);
	privacy.users = users; /* in settings.mem, kept for the process's life */
	privacy.users_len = ulen;
	return 0;
}

static int prn_setup(const struct jb_kind *k, char *err, size_t errlen)
{
	out = k->output;
	out_name = k->name;
	if (!out) {
		snprintf(err, errlen, "printer kind '%s' has no output", k->name);
		return -1;
	}
	/* fd 5 is handed to a kind with its own section, and to any printer
	 * that pseudonymises ([privacy]); only a memfd has seals */
	if (k->settings || fcntl(JB_CHILD_SETTINGS_FD, F_GET_SEALS) >= 0) {
		/* everything the supervisor read for us; the fd goes before
		 * confinement, the values stay for the output's setup */
		if (jb_settings_read_fd(JB_CHILD_SETTINGS_FD, &settings, err, errlen) < 0)
			return -1;
		close(JB_CHILD_SETTINGS_FD);
		have_settings = 1;
		if (privacy_setup(err, errlen) < 0)
			return -1;
	}
	out_fd = out->setup(err, errlen);
	return out_fd < 0 ? -1 : 0;
}

static void prn_config(const struct ipc_msg *m)
{
	char err[256];

	fault_hooks = m->u.config.fault_hooks != 0;
	if (out->start && out->start(jb_child_base(), err, sizeof(err)) < 0)
		fatalx("%s printer: %s", out_name, err);
}

/* Test-only: a line that names "jibril-fault.<kind>.<what>" (in a
 * process's arguments, say) makes this printer do WHAT once it has printed
 * and acknowledged the line, so its replacement is not sent it again:
 * "loss" reports 3 detections lost (prn_loss, cause "fault_hook"), the
 * rest is jb_child_fault()'s. */
static char fault_what[32];	/* a take output: done once acknowledged */
static uint64_t fault_seq;

static void fault_hook(const char *json, uint64_t seq)
{
	char want[96], what[32];
	const char *p;
	size_t n = (size_t)snprintf(want, sizeof(want), "jibril-fault.%s.", out_name), w = 0;

	if (!fault_hooks || !(p = strstr(json, want)))
		return;
	for (p += n; w + 1 < sizeof(what) && ((*p >= 'a' && *p <= 'z') || *p == '-'); p++)
		what[w++] = *p;
	what[w] = '\0';
	if (!strcmp(what, "loss")) {
		/* a printer's own loss, as a spool or a batch would report it */
		log_warnx("fault hook: loss");
		prn_loss("fault_hook", 3, "test-only fault hook: 3 detections reported lost");
		return;
	}
	if (out->take) {
		snprintf(fault_what, sizeof(fault_what), "%s", what);
		fault_seq = seq;
		return;
	}
	jb_child_fault(what);
}

void prn_acknowledge(uint64_t seq)
{
	char ack[64];
	int n = ipc_enc_printed(ack, sizeof(ack), seq);

	if (n < 0 || jb_child_send_wait(ack, (size_t)n) < 0)
		fatalx("cannot acknowledge line %llu", (unsigned long long)seq);
	if (fault_what[0] && seq >= fault_seq) {
		char what[32];

		snprintf(what, sizeof(what), "%s", fault_what);
		fault_what[0] = '\0';
		jb_child_fault(what);
	}
}

/* At most IPC_DETAIL_MAX bytes of detail, not cut inside a UTF-8 sequence. */
static void cut_detail(char *to, const char *detail)
{
	size_t n = strlen(detail);

	if (n > IPC_DETAIL_MAX) {
		n = IPC_DETAIL_MAX;
		while (n > 0 && ((unsigned char)detail[n] & 0xc0) == 0x80)
			n--; /* detail[n] would begin the cut-off part mid-sequence */
	}
	memcpy(to, detail, n);
	to[n] = '\0';
}

static void loss_send(const char *cause, uint64_t count, const char *detail)
{
	char buf[IPC_CAUSE_MAX + IPC_DETAIL_MAX + 64];
	int n = ipc_enc_loss(buf, sizeof(buf), cause, count, detail);

	if (n < 0 || jb_child_send_wait(buf, (size_t)n) < 0)
		fatalx("cannot report to the supervisor the loss of %llu detections (%s: %s)",
		       (unsigned long long)count, cause, detail);
}

void prn_loss(const char *cause, uint64_t count, const char *detail)
{
	char d[IPC_DETAIL_MAX + 1];
	size_t i;

	if (!ipc_loss_cause_valid(cause))
		fatalx("prn_loss: cause \"%.40s\" is not 1..%d bytes of [a-z0-9_] (%llu detections "
		       "lost)", cause ? cause : "(null)", IPC_CAUSE_MAX, (unsigned long long)count);
	if (!count)
		return; /* nothing lost */
	cut_detail(d, detail ? detail : "");
	if (ready) {
		loss_send(cause, count, d);
		return;
	}
	for (i = 0; i < loss_npending && strcmp(loss_pending[i].cause, cause); i++)
		;
	if (i == LOSS_PENDING_MAX)
		fatalx("prn_loss: more than %d causes before READY (%llu detections lost: %s: %s)",
		       LOSS_PENDING_MAX, (unsigned long long)count, cause, d);
	if (i == loss_npending) {
		snprintf(loss_pending[i].cause, sizeof(loss_pending[i].cause), "%s", cause);
		loss_pending[i].count = 0;
		loss_npending++;
	}
	loss_pending[i].count = count > UINT64_MAX - loss_pending[i].count
					? UINT64_MAX
					: loss_pending[i].count + count;
	memcpy(loss_pending[i].detail, d, sizeof(d));
}

int prn_loss_held(void)
{
	return out != NULL && !ready;
}

static void prn_ready(void)
{
	ready = 1;
	for (size_t i = 0; i < loss_npending; i++)
		loss_send(loss_pending[i].cause, loss_pending[i].count, loss_pending[i].detail);
	loss_npending = 0;
}

#define STATS_EVERY_NS 1000000000ull

static struct prn_figures stats_sent;
static uint64_t stats_sent_ns;
static int stats_ever;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* IPC_PRN_STATS when due and changed (see the top). */
static void stats_if_due(void)
{
	struct prn_figures f = {0};
	uint64_t now = now_ns();
	char buf[128];
	int n;

	if (!ready || (stats_ever && now - stats_sent_ns < STATS_EVERY_NS))
		return;
	if (out->figures) {
		out->figures(&f);
	} else {
		f.delivered = printed;
		f.rejected = invalid;
	}
	if (stats_ever && !memcmp(&f, &stats_sent, sizeof(f)))
		return;
	n = ipc_enc_prn_stats(buf, sizeof(buf), f.queue_lines, f.queue_bytes, f.spool_lines,
			      f.spool_bytes, f.delivered, f.retries, f.rejected);
	if (n < 0 || jb_child_send(buf, (size_t)n) < 0)
		return;
	stats_sent = f;
	stats_sent_ns = now;
	stats_ever = 1;
}

static void prn_counters(uint64_t *p, uint64_t *d)
{
	*p = printed;
	*d = invalid;
	stats_if_due();
}

static void prn_message(const struct ipc_msg *m)
{
	json_error_t jerr;
	json_t *j;
	char *line, ack[64];
	int n;

	if (m->type != IPC_PRINT) {
		log_warnx("unexpected %s", ipc_msg_name(m->type));
		exit(1);
	}
	j = json_loadb(m->u.print.json, m->u.print.json_len, JSON_REJECT_DUPLICATES, &jerr);
	if (j && json_is_object(j) && privacy.fields && prv_apply(j, &privacy) < 0) {
		/* never printed as it came: dropped, and the loss said */
		invalid++;
		json_decref(j);
		log_warnx("detection %llu could not be pseudonymised (out of memory): dropped",
			  (unsigned long long)m->u.print.seq);
		prn_loss("privacy", 1, "a detection could not be pseudonymised (out of memory) "
				       "and was not printed");
		if (out->take) {
			out->take(m->u.print.seq, NULL, 0);
			return;
		}
	} else if (!j || !json_is_object(j)) {
		invalid++;
		log_warnx("detection %llu is not a JSON object (%s): dropped",
			  (unsigned long long)m->u.print.seq, j ? "not an object" : jerr.text);
		json_decref(j);
		if (out->take) {
			out->take(m->u.print.seq, NULL, 0);
			return;
		}
	} else if (out->take) {
		/* it acknowledges once the line is durable (prn_acknowledge) */
		line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(j);
		if (!line)
			fatalx("out of memory");
		fault_hook(m->u.print.json, m->u.print.seq);
		out->take(m->u.print.seq, line, strlen(line));
		free(line);
		printed++;
		return;
	} else {
		line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(j);
		if (!line)
			fatalx("out of memory");
		n = (int)strlen(line);
		line[n] = '\n'; /* json_dumps left room: it NUL-terminated at n */
		if (prn_write_all(out_fd, line, (size_t)n + 1) < 0 || out->flush(out_fd) < 0)
			fatal("%s printer: write", out_name);
		free(line);
		printed++;
	}
	n = ipc_enc_printed(ack, sizeof(ack), m->u.print.seq);
	if (n < 0 || jb_child_send(ack, (size_t)n) < 0)
		fatalx("cannot acknowledge line %llu", (unsigned long long)m->u.print.seq);
	fault_hook(m->u.print.json, m->u.print.seq);
}

/* As the kind's uid: first what needs the system's files (init_as_kind:
 * a Landlock ruleset, when there is one, must come after it), then what
 * needs the kind's own directory (setup_as_kind). */
static int prn_setup_as_kind(char *err, size_t errlen)
{
	if (privacy.fields) {
		/* OpenSSL finds its HMAC now, reading its configuration as this
		 * kind's uid: once confined it could open nothing */
		char ps[PRV_PSEUDO_MAX];
		prv_pseudonym(privacy.key, "user", "", ps);
	}
	if (out->init_as_kind) {
		/* the handshake deadline counts from the spawn: a name server
		 * that does not answer costs a second (one try each), not
		 * glibc's 5 s times 2; an unresolved name is spooled for and
		 * retried by a restart */
		if (setenv("RES_OPTIONS", "timeout:1 attempts:1", 1) < 0 || res_init() < 0) {
			snprintf(err, errlen, "%s printer: cannot set up the resolver", out_name);
			return -1;
		}
		if (out->init_as_kind(err, errlen) < 0)
			return -1;
	}
	return out->setup_as_kind ? out->setup_as_kind(err, errlen) : 0;
}

static const struct jb_child_ops printer_ops = {
	.setup = prn_setup,
	.setup_as_kind = prn_setup_as_kind,
	.on_config = prn_config,
	.on_message = prn_message,
	.counters = prn_counters,
	.on_ready = prn_ready,
};

void prn_main(const struct jb_kind *k, const struct jb_child_args *a)
{
	jb_child_main(k, &printer_ops, a);
}
