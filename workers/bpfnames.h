/*
 * bpfnames.h - libbpf's names of the BPF program, link and attach types,
 * copied at build time (bpf/names-gen.c writes build/bpf_names.c) so that
 * a worker names them without linking libbpf. NULL: no name for t.
 */
#ifndef WRK_BPFNAMES_H
#define WRK_BPFNAMES_H

const char *wrk_bpf_prog_type_name(unsigned t);
const char *wrk_bpf_link_type_name(unsigned t);
const char *wrk_bpf_attach_type_name(unsigned t);

#endif
