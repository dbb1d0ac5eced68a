/*
 * sysinfo.h - what the host says about itself: our resident memory, the
 * kernel's slab, SYN retransmits, and the sysctls that cap connection
 * counts (checked before a run, so a limit is named instead of showing up
 * as a mysterious plateau or a 1 s connect_time mode).
 */
#ifndef STAMPEDE_SYSINFO_H
#define STAMPEDE_SYSINFO_H

#include <stdint.h>
#include <stdio.h>

#include "plan.h"

/* Resident set size of this process in bytes (0 if unknown). */
uint64_t sysinfo_rss(void);

/* Kernel slab memory in bytes (/proc/meminfo Slab; 0 if unknown). */
uint64_t sysinfo_slab(void);

/* TcpExt TCPSynRetrans: SYNs retransmitted by this host since boot. */
uint64_t sysinfo_syn_retrans(void);

/* Print a warning to f for every kernel setting that will cap the run
 * (connections, connect rate); returns how many were printed. */
int sysinfo_check(FILE *f, const struct plan *p);

#endif
