/*
 * recipe.h - detections as data: YAML recipes (../shared/RECIPES.md format)
 * loaded into a recipe set, and the matchers that evaluate them against the
 * records of a snapshot.
 *
 * The same loader runs twice: in the supervisor (root), which reads the
 * files, refuses bad ones with "file:line: what is wrong" and keeps the old
 * set on a bad reload, and in each plugin worker (no privileges), which is
 * sent the very bytes the supervisor validated (IPC_RECIPE) and compiles
 * its own copy (regexes compiled once at load, never per record).
 *
 * Invariants:
 *  - a set is immutable once loaded; all its memory (strings, regexes,
 *    lists) is owned by the set and freed by rcp_set_free.
 *  - the matchers are pure functions of a recipe, the records and the
 *    snapshot view: no I/O, no state.
 */
#ifndef JB_RECIPE_H
#define JB_RECIPE_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/jibril.h"

enum rcp_mech {
	RCP_FILE_ACCESS = 0,
	RCP_EXECUTION,
	RCP_NETWORK_PEERS,
	RCP_ENV_VARS,
	RCP_TAMPER, /* jb_tamper records: somebody acting on the agent */
	RCP_MECH_MAX
};

enum rcp_times_kind {
	RCP_T_PROC = 0,
	RCP_T_EXE,
	RCP_T_PARENT_PROC,
	RCP_T_PARENT_EXE,
	RCP_T_FULL_ANCESTRY,
	RCP_T_HOST,
	RCP_T_TOTAL,
	RCP_T_MAX
};

/* Flow actions (derived from a jb_flow record). */
enum rcp_flow_action {
	RCP_FA_CREATED = 1u << 0,
	RCP_FA_INGRESS = 1u << 1,
	RCP_FA_EGRESS = 1u << 2,
	RCP_FA_INCOMING = 1u << 3,
	RCP_FA_OUTGOING = 1u << 4,
	RCP_FA_ONGOING = 1u << 5,
	RCP_FA_STARTED = 1u << 6,
	RCP_FA_ENDED = 1u << 7,
	RCP_FA_TERMINATOR = 1u << 8,
	RCP_FA_TERMINATED = 1u << 9,
};

struct rcp_times {
	enum rcp_times_kind kind;
	uint32_t max;
};

struct rcp_base {
	const char *base; /* file name, or NULL */
	const char *dir;  /* parent directory, no trailing slash, or NULL */
	void *re;	  /* pcre2_code * on the full path, or NULL */
	/* regex-only entries: where the supervisor looks for the files to
	 * protect (never used to match). Each is absolute, "~" or "~/PATH"
	 * (below the home of each account), without a trailing slash. */
	const char *const *search; /* directories whose files are looked at */
	size_t nsearch;
	const char *const *expect; /* files, whether or not they exist yet */
	size_t nexpect;
};

struct rcp_cidr {
	uint16_t family; /* AF_INET / AF_INET6 */
	uint8_t bits;
	uint8_t addr[16];
};

enum rcp_what {
	RCP_W_EXE = 0, RCP_W_COMM, RCP_W_ARGS, RCP_W_UID, RCP_W_PID, RCP_W_PPID,
	RCP_W_PARENT_EXE, RCP_W_PARENT_COMM, RCP_W_PARENT_ARGS, RCP_W_TASK_OR_PARENT_EXE,
	RCP_W_ANCIENT_EXE, RCP_W_FILE, RCP_W_DOMAIN, RCP_W_DOMAIN_ENTROPY, RCP_W_REMOTE_PORT,
	RCP_W_REMOTE_IP, RCP_W_ENV, RCP_W_TASK_FLAGS, RCP_W_MAX
};

enum rcp_when { RCP_WHEN_EQUAL = 0, RCP_WHEN_SMALLER, RCP_WHEN_BIGGER };

struct rcp_item {
	enum rcp_what what;
	int negate;		/* item which: irrelevant */
	void *re;		/* pattern */
	const int64_t *nums;	/* number / numbers */
	size_t nnums;
	enum rcp_when when;
	const struct rcp_cidr *cidrs;
	size_t ncidrs;
	/* env items whose pattern begins "^NAME=" (NAME literal): NAME, the
	 * variable the kernel must record for the item to see it; else NULL */
	const char *env_name;
};

struct rcp_group {
	int all;		/* how: AND (1) or OR (0) */
	int irrelevant;		/* which: irrelevant = suppress on match */
	const struct rcp_item *items;
	size_t nitems;
};

enum rcp_trie { RCP_TRIE_EXACT = 0, RCP_TRIE_SUFFIX, RCP_TRIE_PREFIX };

/* The longest kind a set holds: kinds travel in IPC names (IPC_NAME_MAX). */
#define RCP_KIND_MAX 63

/* env_vars_cut: what an exec whose environment was not read whole
 * (JB_TASK_ENV_CUT: a wanted variable may be in the part not read) does */
enum rcp_env_cut {
	RCP_ENV_CUT_IGNORE = 0, /* nothing: the recipe looks at what was read */
	RCP_ENV_CUT_ALSO,	/* it matches too, whatever was read */
	RCP_ENV_CUT_ONLY,	/* only it matches */
};

struct recipe {
	/* identity. kind is unique in a set, and is what detections, times
	 * limits and the router key by: the kind the file gives, or for the
	 * Nth recipe of one kind in one file (the original ships variants of
	 * a kind that differ by name), "KIND#N" from the second on.
	 * event_kind is the kind the file gives: the events' kind, and what
	 * [recipes] disable names. */
	const char *kind, *event_kind;
	const char *name, *version, *description, *documentation, *breed;
	const char *tactic, *technique, *subtechnique, *importance;
	enum rcp_mech mech;
	int enabled;
	const char *source;	/* file it came from */
	int line;		/* 1-based line of the recipe in it */
	/* noise control */
	struct rcp_times times[RCP_T_MAX];
	size_t ntimes;
	/* files (file_access, execution) */
	uint32_t actions;	/* enum jb_action mask wanted */
	int actions_all;	/* file_actions_how: all */
	const struct rcp_base *bases;
	size_t nbases;
	/* network */
	int proto;		/* 0 any, 6 tcp, 17 udp, 1 icmp */
	const struct rcp_cidr *local_cidrs, *remote_cidrs;
	size_t nlocal_cidrs, nremote_cidrs;
	uint16_t local_port, remote_port;
	const char *const *domains; /* sorted, lower case */
	size_t ndomains;
	enum rcp_trie trie;
	uint32_t flow_actions;	/* enum rcp_flow_action */
	int flow_actions_all;
	/* env_vars */
	const char *const *env_names;
	size_t nenv_names;
	enum rcp_env_cut env_cut;
	/* tamper: bit (1 << enum jb_tamper_class) per class matched */
	uint32_t tamper_classes;
	/* process filters */
	const struct rcp_group *groups;
	size_t ngroups;
	/* reactions (JavaScript or shell run on each detection in the
	 * original): not run yet, and never silently: each one's label,
	 * "js#1", "shell#2" (format and place), for the load's log line and
	 * each event's reactions_not_run */
	const char *const *reactions;
	size_t nreactions;
	/* an operator's recipe that replaces the built-in one of its kind:
	 * that one's "source:line" (for the log); NULL otherwise */
	const char *replaces;
	unsigned order;		/* the loader's: position in the load */
};

/* One named blob the loader reads: a recipe file or a domain list. */
struct rcp_source {
	const char *name; /* path (or builtin:recipes/...) */
	const char *data;
	size_t len;
};

struct rcp_set {
	struct recipe *r;
	size_t n;
	struct rcp_arena *arena; /* everything the recipes point to */
};

/*
 * Look up a domain list named by remote_domains_file. 'from' is the name of
 * the recipe source that refers to it. Returns 0 and sets *out, or -1 with
 * a reason in err.
 */
typedef int (*rcp_file_fn)(const char *from, const char *path, struct rcp_source *out,
			   char *err, size_t errlen, void *arg);

/*
 * Parse sources[0..n) (YAML recipe files) into set. Recipes whose kind is
 * in disabled (NULL-terminated, may be NULL) are loaded with enabled = 0.
 * Only recipes whose mechanism is in mechs (bit per enum rcp_mech: a worker
 * kind's row says which it runs) are kept, unless mechs is 0.
 * Returns 0, or -1 with "source:line: what is wrong" in err (set is then
 * empty). A kind given in two sources is an error, but for one case: the
 * recipes of an operator's source (a name not starting "builtin:") replace
 * the built-in recipes of their kind (recipe.replaces says which), as a
 * Falco rule overrides another; two operator sources with one kind are an
 * error. Several recipes of one kind in one source are variants (kind
 * "KIND#N", event_kind "KIND"); disabled names event kinds.
 */
int rcp_load(struct rcp_set *set, const struct rcp_source *sources, size_t n,
	     const char *const *disabled, uint32_t mechs, rcp_file_fn file_fn, void *file_arg,
	     char *err, size_t errlen);
void rcp_set_free(struct rcp_set *set);
const struct recipe *rcp_find(const struct rcp_set *set, const char *kind);

const char *rcp_mech_name(enum rcp_mech m);
/* The recipe name of a tamper class (enum jb_tamper_class), or "?". */
const char *rcp_tamper_class_name(uint32_t klass);
const char *rcp_times_name(enum rcp_times_kind k);

/* The built-in recipes compiled into the binary (build/recipes_builtin.c). */
extern const struct rcp_source rcp_builtin[];
extern const size_t rcp_builtin_n;
/* Domain lists the built-in recipes name (recipes/lists/). */
extern const struct rcp_source rcp_builtin_files[];
extern const size_t rcp_builtin_files_n;

/* The name a remote_domains_file path resolves to, relative to the
 * directory of the recipe source 'from' unless absolute; "." and ".."
 * components are folded. Returns 0, or -1 when it does not fit. */
int rcp_resolve(const char *from, const char *path, char *out, size_t len);

/* --- matching (recipe_match.c) -------------------------------------------- */
struct jb_snap_view;

/* Everything the matchers may look at for one candidate. */
struct rcp_subject {
	const struct jb_snap_view *v;
	const struct jb_task *task;	/* may be NULL for a flow */
	const char *path;		/* file or executed binary, or NULL */
	uint32_t actions;		/* jb_action mask of the link */
	const struct jb_flow *flow;	/* or NULL */
	const char *const *names;	/* domain names of the flow's peer */
	int nnames;
	const struct jb_tamper *tamper;	/* or NULL; its task is task (NULL when
					 * the snapshot lacks it), its name is
					 * path for the agent_files class */
};

int rcp_match(const struct recipe *r, const struct rcp_subject *s);
/* The file part alone: does path match the recipe's bases (1 when it has
 * none)? A pure function of (recipe, path), so callers may cache it. */
int rcp_match_bases(const struct recipe *r, const char *path);
/* A file or execution recipe whose actions these are: only then does
 * rcp_match_known() look at the bases (so a caller caching them need not
 * compute them otherwise). */
int rcp_needs_bases(const struct recipe *r, uint32_t actions);
/* rcp_match with the bases part already known (bases_hit 0/1; -1: compute). */
int rcp_match_known(const struct recipe *r, const struct rcp_subject *s, int bases_hit);
/* How many regex tests of this process gave up (PCRE2's match, depth or
 * heap limit, or no memory): each counted towards reporting, not as "no
 * match", and logged rate-limited with the recipe's kind. */
uint64_t rcp_match_limit_hits(void);

/* The key a times limit counts under, written into out (NUL-terminated,
 * printable: no tab or newline). */
void rcp_times_key(enum rcp_times_kind k, const struct rcp_subject *s, const char *boot_id,
		   char *out, size_t len);

#endif
