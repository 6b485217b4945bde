/*
 * match.c - the table of mechanisms (plugin workers): which records each
 * one walks.
 */
#include <string.h>

#include "detect.h"

const struct wrk_mechanism wrk_file_access = {"file_access", WRK_SRC_LINKS};
const struct wrk_mechanism wrk_execution = {"execution", WRK_SRC_EXECS};
const struct wrk_mechanism wrk_network = {"network", WRK_SRC_FLOWS};

const struct wrk_mechanism *wrk_mechanism_by_name(const char *name)
{
	static const struct wrk_mechanism *const all[] = {&wrk_file_access, &wrk_execution,
							   &wrk_network};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(all[i]->name, name))
			return all[i];
	return NULL;
}
