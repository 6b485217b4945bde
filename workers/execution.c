/*
 * execution.c - detections on what a task executed. Matchers see the
 * task (after the exec: comm, args) and the absolute path of the binary.
 */
#include <string.h>

#include "detect.h"

static int name_in(const char *path, const char *const *names)
{
	const char *b = wrk_basename(path);
	for (int i = 0; names[i]; i++)
		if (!strcmp(b, names[i]))
			return 1;
	return 0;
}

static int exec_from_unusual_dir(const struct jb_task *t, const char *path)
{
	static const char *const dirs[] = {"/tmp/", "/var/tmp/", "/dev/shm/", "/dev/",
					   "/run/", "/var/run/", "/proc/", NULL};
	for (int i = 0; dirs[i]; i++)
		if (wrk_path_under(path, dirs[i]))
			return 1;
	return 0;
}

static int hidden_elf_exec(const struct jb_task *t, const char *path)
{
	const char *b = wrk_basename(path);
	return b[0] == '.' && b[1] != '\0' && strcmp(b, "..") != 0;
}

static int net_scan_tool_exec(const struct jb_task *t, const char *path)
{
	static const char *const tools[] = {"nmap", "masscan", "zmap", "nping", "hping3",
					    "rustscan", "unicornscan", "zgrab", "zgrab2", NULL};
	return name_in(path, tools);
}

static int data_encoder_exec(const struct jb_task *t, const char *path)
{
	static const char *const tools[] = {"base64", "base32", "basenc", "xxd", "uuencode",
					    "uudecode", NULL};
	return name_in(path, tools);
}

static const struct wrk_def defs[] = {
	{"exec_from_unusual_dir", "Execution from unusual directory", "high", "execution",
	 "T1059 Command and Scripting Interpreter",
	 "A binary was executed from a world-writable or virtual directory",
	 NULL, exec_from_unusual_dir, NULL, NULL},
	{"hidden_elf_exec", "Hidden binary execution", "high", "defense_evasion",
	 "T1564.001 Hide Artifacts: Hidden Files and Directories",
	 "A binary whose name starts with a dot was executed", NULL, hidden_elf_exec, NULL, NULL},
	{"net_scan_tool_exec", "Network scanner execution", "medium", "discovery",
	 "T1046 Network Service Discovery", "A network scanning tool was executed", NULL,
	 net_scan_tool_exec, NULL, NULL},
	{"data_encoder_exec", "Data encoder execution", "low", "defense_evasion",
	 "T1027 Obfuscated Files or Information",
	 "An encoder often used to hide payloads was executed", NULL, data_encoder_exec, NULL, NULL},
};

const struct wrk_mechanism wrk_execution = {"execution", WRK_SRC_EXECS, defs,
					    sizeof(defs) / sizeof(defs[0])};
