/*
 * self.h - the agent's own processes, maps and files, told to the kernel
 * (self.c).
 */
#ifndef JB_SUP_SELF_H
#define JB_SUP_SELF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct jb_bpf;
struct bpf_object;

/* The running binary, conf_path, and the recipe directory and its files
 * (private) into jb_watch as the agent's own. Failures are logged. */
void jb_self_files(struct jb_bpf *b, const char *conf_path, const char *recipes_dir);
/* Every map of obj into jb_agent_maps. 0 or -1 with err. */
int jb_self_maps(struct jb_bpf *b, struct bpf_object *obj, char *err, size_t errlen);
/* The calling process into jb_agent as the supervisor. 0 or -1 with err. */
int jb_self_supervisor(struct jb_bpf *b, char *err, size_t errlen);
/* Tell the kernel which kind table row the child pid runs (the fork hook
 * added it as JB_AGENT_ROW_UNKNOWN). b may be NULL (tests). */
void jb_self_child(struct jb_bpf *b, pid_t pid, uint32_t row);

#endif
