/*
 * pairs.h - section 5's ground truth on jibril's side: the distinct
 * (process, file) pairs its kernel maps hold for one storm.
 */
#ifndef BENCH_PAIRS_H
#define BENCH_PAIRS_H

#include <sys/types.h>

#include <jansson.h>

/* links between a task of process storm and a file under prefix, read from
 * the maps supervisor sup holds (every map in the system if none):
 * {pairs, links_in_dir_any_task, files_in_dir, storm_task_keys, maps_read};
 * NULL (an error in J) when the maps are not found */
json_t *jib_pairs(pid_t sup, pid_t storm, const char *prefix);

#endif
