/*
 * agent_harness.h - drive the real jibril agent from a Check test: start it
 * with a generated configuration in a fresh temp dir, find its children,
 * wait (always with a deadline) for log lines and detection lines, run
 * trigger processes, stop it and prove it stopped cleanly.
 *
 * The Makefile links agent_harness.o and tests/lib (which it is built on)
 * into every suite.
 */
#ifndef JB_AGENT_HARNESS_H
#define JB_AGENT_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define JBH_MAX_KIDS 6

/* Zero means "the harness default" for every field. */
struct jbh_opts {
	unsigned cadence_ms;	     /* 200 */
	unsigned heartbeat_ms;	     /* 100 */
	unsigned deadline_ms;	     /* heartbeat_deadline_ms, 1000 */
	unsigned backoff_initial_ms; /* 50 */
	unsigned backoff_max_ms;     /* 500 */
	int stdout_printer;	     /* also run the stdout printer (stdout -> dir/stdout.json) */
	int no_fault_hooks;	     /* [debug] fault_hooks = no */
	int debug_log;		     /* log_level = debug (else info) */
	const char *log_level;	     /* log_level = this (overrides debug_log) */
	const char *extra_conf;	     /* appended to the generated config (NULL: none) */
	int keep_dir;		     /* jbh_stop leaves dir (the test reads it, then removes it) */
	const char *events_name;     /* the file printer's file below dir ("events.json"); its
					directories may be missing: the agent makes them */
	const char *pin_dir;	     /* [bpf] pin_dir, the test's to remove (NULL: one of the
					agent's own, /sys/fs/bpf/jbtest.*, removed when it ends) */
	const char *status_socket;   /* [agent] status_socket (NULL: dir/status.sock) */
};

struct jbh_agent {
	pid_t pid;	/* the supervisor; it is our child */
	int reaped;	/* waitpid() collected it: status is valid */
	int status;
	char dir[64];	/* mkdtemp under /tmp, removed by jbh_stop on success */
	char conf[128], events[128], log[128], out[128];
	char audit[128], audit_key[128]; /* its own audit log and key: never shared */
	char pin_dir[128];	/* its [bpf] pin_dir */
	char status_sock[128];	/* its own status socket (never the default /run/jibril one) */
	struct jbh_opts o; /* resolved: no zero left */
	int nkinds;
	const char *kinds[JBH_MAX_KIDS];
};

/* main(): not root or no BPF -> "SKIP: ..." and exit 77. Sets up the
 * registry that jbh_kill_leftovers() uses. */
void jbh_main_init(const char *suite);
/* Kill any agent a (failed or timed-out) test left running. Safe to call
 * from an unchecked teardown in the runner process. */
void jbh_kill_leftovers(void);

uint64_t jbh_now_ms(void);	/* CLOCK_MONOTONIC */
uint64_t jbh_real_ms(void);	/* CLOCK_REALTIME */
void jbh_sleep_ms(unsigned ms);
const char *jbh_bin(void);	/* $JIBRIL_BIN */
const char *jbh_src(void);	/* $JIBRIL_SRC or "." */
/* build/tests/helpers/NAME next to $JIBRIL_BIN */
void jbh_helper(char *buf, size_t n, const char *name);

/* agent life cycle; all of these ck_assert on failure */
void jbh_start(struct jbh_agent *a, const struct jbh_opts *o);
/* After the supervisor was reaped (killed, as check_chaos does): start
 * it again in the same directory, on the same configuration file, its
 * stdout and log appended to the same files (systemd's Restart=always) */
void jbh_restart(struct jbh_agent *a);
/* every kind READY; timeout_ms is raised to 90 s at least (the BPF load is
 * CPU-bound: slow on a loaded machine, and only bounded, never timed) */
void jbh_wait_all_ready(struct jbh_agent *a, unsigned timeout_ms);
/* SIGTERM; asserts exit 0 within timeout and that every child is gone */
void jbh_stop(struct jbh_agent *a, unsigned timeout_ms);
int jbh_alive(struct jbh_agent *a);
/* the supervisor is running, whether or not the caller is its parent: a
 * Check test forked from the process that started it (an agent shared by
 * the tests of a TCase, started in an unchecked fixture) cannot waitpid()
 * it. A zombie or a reused pid counts as not running. */
int jbh_running(const struct jbh_agent *a);
/* jbh_start and jbh_wait_all_ready for a Check unchecked fixture: if a
 * child is not READY in time, the agent is killed and reaped before the
 * failure is reported (Check runs no teardown after a failed setup). */
void jbh_start_ready(struct jbh_agent *a, const struct jbh_opts *o, unsigned timeout_ms);
/* jbh_stop from a test that is not the supervisor's parent (see
 * jbh_running): SIGTERM, then the same assertions; the exit status is
 * read from /proc/PID/stat while it is a zombie, which its parent, blocked
 * until the test ends, has not reaped. The parent then calls jbh_reap. */
void jbh_stop_unparented(struct jbh_agent *a, unsigned timeout_ms);
/* In the supervisor's parent, with no assertion (a failure in a Check
 * unchecked teardown ends the runner with no report): SIGKILL it if it is
 * still running, say so on stderr, and reap it. */
void jbh_reap(struct jbh_agent *a);
/* Remove what an agent left pinned under dir (a supervisor that was
 * killed leaves its programs attached there): 0, or -1. */
int jbh_unpin(const char *dir);
/* Remove every /sys/fs/bpf/jbtest* and jbbench* directory no running
 * supervisor holds (jbh_kill_leftovers does it): how many. */
int jbh_unpin_stale(void);
/* a cadence-based detection deadline: 3 cadences + 1 s, from now */
uint64_t jbh_detect_deadline(const struct jbh_agent *a);

/* children */
pid_t jbh_child_pid(const struct jbh_agent *a, const char *kind); /* -1: none */
/* a child of kind that is READY (per the log) and is not not_pid; -1 on timeout */
pid_t jbh_wait_ready(struct jbh_agent *a, const char *kind, pid_t not_pid, unsigned timeout_ms);
uint64_t jbh_gen_of(struct jbh_agent *a, const char *kind, pid_t pid); /* 0: unknown */
int jbh_pid_gone(pid_t pid); /* no /proc entry (reaped) */

/* supervisor log (its stderr) */
char *jbh_log_read(const struct jbh_agent *a); /* malloc'd, never NULL */
int jbh_log_has(const struct jbh_agent *a, const char *needle);
int jbh_log_wait(const struct jbh_agent *a, const char *needle, unsigned timeout_ms);
/* a state-change line ": KIND[...] gen GEN: ..." that contains substr */
int jbh_log_gen_line(const struct jbh_agent *a, const char *kind, uint64_t gen, const char *substr);
int jbh_log_gen_wait(const struct jbh_agent *a, const char *kind, uint64_t gen, const char *substr,
		     unsigned timeout_ms);
/* the N of every "KIND: restarting in N ms", in order; returns how many */
int jbh_log_restart_delays(const struct jbh_agent *a, const char *kind, unsigned *out, int max);

/* detections */
typedef int (*jbh_pred)(json_t *ev, void *arg);
struct jbh_match {
	const char *kind; /* NULL: any */
	pid_t pid;	  /* process.pid; 0: any */
	const char *path; /* file.path; NULL: any */
};
int jbh_match(json_t *ev, void *arg); /* arg: struct jbh_match * */
/* the first line of file that matches, as a new reference; NULL at the deadline */
json_t *jbh_wait_event_in(const char *file, jbh_pred pred, void *arg, uint64_t deadline_ms);
json_t *jbh_wait_event(const struct jbh_agent *a, jbh_pred pred, void *arg, uint64_t deadline_ms);
int jbh_count_events(const struct jbh_agent *a, jbh_pred pred, void *arg);
/* the fields every detection of kind by process pid must have; exe NULL
 * skips the exe check; spawned_real_ms is when the test started it */
void jbh_check_event(json_t *ev, const char *kind, pid_t pid, pid_t ppid, const char *exe,
		     uint64_t spawned_real_ms);
const char *jbh_jstr(json_t *o, const char *dotted);	/* "a.b.c", NULL if not a string */
long long jbh_jint(json_t *o, const char *dotted, long long dflt);
int jbh_jarr_has(json_t *o, const char *dotted, const char *s); /* array of strings */

/* the built-in recipe of that kind (NULL if none) */
struct recipe;
const struct recipe *jbh_recipe(const char *kind);

/* processes */
struct jbh_io {
	const char *cwd; /* NULL: inherit */
	int in, out, err; /* -1: /dev/null */
};
pid_t jbh_spawn(const char *path, char *const argv[], const struct jbh_io *io);
/* wait status, or -1 after killing it at the timeout */
int jbh_wait_exit(pid_t pid, unsigned timeout_ms);
/* spawn with /dev/null for everything and wait: the wait status */
int jbh_run(const char *path, char *const argv[], unsigned timeout_ms, pid_t *pid_out);
/* read a whole small file (malloc'd, NUL terminated); NULL if unreadable */
char *jbh_slurp(const char *path, size_t *len);
void jbh_copy_file(const char *from, const char *to, mode_t mode);

/* the kernel-side detections each worker kind and the file printer
 * produce; used to prove a (replaced) child still does its job (tamper:
 * a record written into the agent's map for a fresh actor process, see
 * jbh_tamper_inject) */
pid_t jbh_trigger_for(struct jbh_agent *a, const char *kind, struct jbh_match *m);

/* agent_tamper.c: the running agent's task key of pid's live image (seed
 * from jb_meta, found in jb_tasks by pid and start time), and a jb_tamper record written into the
 * agent's own map as the kernel would: actor's pid, uid, comm and task key,
 * first/last_ns now, count 1 and a fresh key unless set. */
struct jb_tamper;
/* A descriptor (opened by id) of the running agent's map called name, or -1. */
int jbh_agent_map(const struct jbh_agent *a, const char *name);
uint64_t jbh_task_key(const struct jbh_agent *a, pid_t pid);
/* The key of pid's live image in the tasks map tasks_fd (the newest of its
 * records not REPLACED nor back-filled), else its process key
 * (jb_hash_task: no record yet). */
uint64_t jbh_image_key(int tasks_fd, uint64_t seed, pid_t pid);
/* pid's process key (jb_hash_task), the key of its back-filled record */
uint64_t jbh_proc_key(const struct jbh_agent *a, pid_t pid);
void jbh_tamper_inject(const struct jbh_agent *a, pid_t actor, struct jb_tamper *t);

#endif
