/*
 * real.h - section 6 of the bench, real workloads (real.c).
 */
#ifndef BENCH_REAL_H
#define BENCH_REAL_H

/* runs the section, its figures into J.real */
void section_real(void);
/* its part of the table, from J.real */
void real_table(void);

#endif
