/*
 * sysinfo.c - /proc readers and the pre-run kernel settings check.
 */
#include "sysinfo.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static bool read_first_line(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    bool ok;

    if (!f)
        return false;
    ok = fgets(buf, (int)cap, f) != NULL;
    fclose(f);
    return ok;
}

static int64_t sysctl_u64(const char *path)
{
    char buf[64];

    if (!read_first_line(path, buf, sizeof(buf)))
        return -1;
    return strtoll(buf, NULL, 10);
}

uint64_t sysinfo_rss(void)
{
    char buf[128];
    unsigned long size, resident;

    if (!read_first_line("/proc/self/statm", buf, sizeof(buf)) ||
        sscanf(buf, "%lu %lu", &size, &resident) != 2)
        return 0;
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t sysinfo_slab(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    unsigned long kb = 0;

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Slab: %lu kB", &kb) == 1)
            break;
    fclose(f);
    return (uint64_t)kb * 1024;
}

/* /proc/net/netstat: a header line of names, then a line of values. */
uint64_t sysinfo_syn_retrans(void)
{
    FILE *f = fopen("/proc/net/netstat", "r");
    char names[8192], values[8192];
    uint64_t v = 0;

    if (!f)
        return 0;
    while (fgets(names, sizeof(names), f) && fgets(values, sizeof(values), f)) {
        char *sn, *sv, *n, *x;

        if (strncmp(names, "TcpExt:", 7))
            continue;
        n = strtok_r(names, " \n", &sn);
        x = strtok_r(values, " \n", &sv);
        while (n && x) {
            if (!strcmp(n, "TCPSynRetrans")) {
                v = strtoull(x, NULL, 10);
                break;
            }
            n = strtok_r(NULL, " \n", &sn);
            x = strtok_r(NULL, " \n", &sv);
        }
        break;
    }
    fclose(f);
    return v;
}

static bool target_is_local(const struct plan *p)
{
    const struct sockaddr_in *a = (const struct sockaddr_in *)&p->addr;
    const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)&p->addr;

    if (p->addr.ss_family == AF_INET)
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&b->sin6_addr);
}

int sysinfo_check(FILE *f, const struct plan *p)
{
    uint64_t conns = p->conn_slots;
    int64_t lo = -1, hi = -1, v;
    char buf[64];
    int n = 0;
    uint32_t sources = p->nsources ? p->nsources : 1;

    if (read_first_line("/proc/sys/net/ipv4/ip_local_port_range", buf, sizeof(buf)))
        sscanf(buf, "%ld %ld", &lo, &hi);
    if (lo > 0 && hi >= lo && conns / sources > (uint64_t)(hi - lo + 1)) {
        fprintf(f, "stampede: warning: %llu connections per source address exceed the %lld "
                   "ephemeral ports (net.ipv4.ip_local_port_range %lld-%lld): use --source with "
                   "more addresses or widen the range\n",
                (unsigned long long)(conns / sources), (long long)(hi - lo + 1), (long long)lo,
                (long long)hi);
        n++;
    }
    v = sysctl_u64("/proc/sys/net/netfilter/nf_conntrack_max");
    if (v > 0 && conns > (uint64_t)v) {
        fprintf(f, "stampede: warning: %llu connections exceed net.netfilter.nf_conntrack_max "
                   "(%lld): new connections will be dropped (SYN retransmits, 1 s stalls)\n",
                (unsigned long long)conns, (long long)v);
        n++;
    }
    v = sysctl_u64("/proc/sys/net/core/somaxconn");
    if (v > 0 && target_is_local(p) && p->connect_rate == 0 && conns > 4 * (uint64_t)v) {
        fprintf(f, "stampede: warning: net.core.somaxconn is %lld: a local server's accept "
                   "queue overflows in a %llu-connection storm (SYN retransmits add 1 s); "
                   "use --connect-rate or raise it\n", (long long)v, (unsigned long long)conns);
        n++;
    }
    v = sysctl_u64("/proc/sys/net/ipv4/tcp_max_syn_backlog");
    if (v > 0 && target_is_local(p) && p->connect_rate > 0 && p->connect_rate > 50.0 * v) {
        fprintf(f, "stampede: warning: --connect-rate %.0f/s with net.ipv4.tcp_max_syn_backlog "
                   "%lld: a local server may drop SYNs\n", p->connect_rate, (long long)v);
        n++;
    }
    v = sysctl_u64("/proc/sys/net/ipv4/tcp_max_orphans");
    if (v > 0 && p->reconnect && conns > (uint64_t)v) {
        fprintf(f, "stampede: warning: net.ipv4.tcp_max_orphans (%lld) is below -c: closing "
                   "sockets may be reset\n", (long long)v);
        n++;
    }
    v = sysctl_u64("/proc/sys/fs/nr_open");
    if (v > 0 && p->hold && conns > 20u * (uint64_t)v) {
        fprintf(f, "stampede: warning: fs.nr_open is %lld: each ring holds at most that many "
                   "connections\n", (long long)v);
        n++;
    }
    return n;
}
