/*
 * report.h - the results of a run: one JSON document (J) that every
 * section adds its figures to, with its errors and notes; the budget
 * verdicts drawn from it, and the table printed from it.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <jansson.h>

extern json_t *J;	 /* the document written to --out */
extern json_t *J_errors; /* a measurement that failed: the exit status is 1 */
extern json_t *J_notes;	 /* what a reader of the figures should know */

/* creates J and its two arrays (main() places them in J) and starts the
 * clock progress() shows */
void report_init(void);
/* to stderr, with the time since report_init() */
void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* to stderr and to J_errors / J_notes */
void error_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* J.needle and J.pairs with the parameters of section 5, created on first
 * use: jibril's part and the reference agent's are filled in apart */
json_t *report_needle(void);
json_t *report_pairs(void);
/* J.budget: a PASS/FAIL/n/a verdict per budget line */
void budget(void);
/* the table on stdout, from J only */
void print_table(void);

#endif
