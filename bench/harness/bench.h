/*
 * bench.h - the benchmark harness behind `make bench` (build/bench/bench):
 * the run's parameters, which main() sets once before any section runs,
 * and the sections it runs, one file each:
 *   overhead.c       1. host overhead of each agent, interleaved rounds
 *   progtime.c       1. program time per operation (bpf_stats)
 *   default_agent.c  2, 4, 5 on one jibril with the given configuration
 *   reference.c      5. the needle and the pairs with the reference agent
 *   query.c          3. query cost per cadence at growing map fills
 *   real.c           6. real workloads (make bench-real)
 * The support modules: agents.c (start, follow, stop jibril and refagent),
 * children.c (every process we start, and the clean-up at exit),
 * workloads.c (bench/workload commands), cost.c (CPU and RSS of an agent),
 * bpfinfo.c (BPF objects an agent holds), pairs.c (jibril's maps read
 * back), stats.c, report.c (the JSON, the budget verdicts and the table).
 */
#ifndef BENCH_H
#define BENCH_H

#include <limits.h>

#include <jansson.h>

#define MAX_ROUNDS 50
#define MAX_LEVELS 4
#define NWL 4
/* the query-cost instance's files and links maps hold at least this many */
#define QC_MIN_ENTRIES 131072u

/* the agents of section 1, in the order each round runs them */
enum mode { M_NONE, M_JIBRIL, M_REF, M_EMPTY, M_N };
extern const char *const mode_name[M_N];  /* JSON keys */
extern const char *const mode_label[M_N]; /* for people */
extern const char *const wl_name[NWL];	  /* open, exec, connect, mixed */

struct opts {
	/* the command line */
	const char *jibril, *conf, *bindir, *out, *sections;
	/* section 6: the agents and workloads to run (comma-separated; NULL: all) */
	const char *real_modes, *real_workloads;
	int quick, rounds, rounds_real; /* rounds_real: section 6's */
	/* sizes: --quick or the full run */
	unsigned long long iters[NWL];
	unsigned open_files, idle_s, lat_trials, needle_trials, hay_mult, pairs_files;
	unsigned levels[MAX_LEVELS], nlevels, qc_cadences, ring_kb;
	/* the given configuration: verbatim, and what the bench reads of it */
	char *conf_text;
	unsigned cadence_ms, files, links;
	unsigned hay_files; /* the needle's haystack: hay_mult x the files map */
	long clk_tck;
	/* our programs, temp dirs and file sets */
	char workload[PATH_MAX], tiny[PATH_MAX], ref[PATH_MAX];
	int have_ref; /* bench/refagent was built */
	char tmp[64], shm[64], d_open[128], d_pairs[128], d_hay[128];
};
extern struct opts O;

/* section s ('1'..'6') was asked for (--sections) */
int want(char s);

void section_overhead(json_t *conf_texts);
void section_program_time(void);
void section_main(json_t *conf_texts);
void section_ref(void);
void section_query(json_t *conf_texts);

#endif
