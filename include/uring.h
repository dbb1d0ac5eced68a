/*
 * uring.h - the only module that touches struct io_uring.
 *
 * Owns one ring per worker: set-up with fallbacks (SINGLE_ISSUER +
 * DEFER_TASKRUN, then COOP_TASKRUN, then none; NOTES.md measured ~352k vs
 * ~341k vs ~258k msg/s for these), a sparse registered file table for
 * direct descriptors, and one provided buffer ring for multishot recv.
 * Callers get SQEs from uring_sqe(), wait once per loop turn with
 * uring_wait(), read completions in batches with uring_peek() and retire
 * them with uring_done(), which also hands the batch's recycled receive
 * buffers back to the kernel with a single tail update.
 *
 * user_data layout (uring_ud): op (8 bits) | generation (24) | slot (32),
 * so a stale completion for a recycled slot is recognised and dropped.
 */
#ifndef STAMPEDE_URING_H
#define STAMPEDE_URING_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#define URING_BGID 1 /* provided buffer group id */

struct uring {
    struct io_uring ring;
    unsigned setup_flags;      /* IORING_SETUP_* obtained */
    bool nodrop;               /* IORING_FEAT_NODROP present */
    bool ring_fd_registered;
    struct io_uring_buf_ring *br;
    char *bufs;
    unsigned buf_count;        /* power of two */
    unsigned buf_size;
    unsigned buf_pending;      /* buffers added since the last advance */
    unsigned files;            /* registered file table size */
};

struct uring_cfg {
    unsigned sq_entries;
    unsigned cq_entries;
    unsigned files;       /* sparse direct-descriptor slots (<= RLIMIT_NOFILE) */
    unsigned buf_count;   /* rounded up to a power of two, max 32768 */
    unsigned buf_size;
};

/* Set up the ring with the best flags this kernel accepts. Returns 0 or
 * -errno; on error nothing is left allocated. */
int uring_init(struct uring *u, const struct uring_cfg *cfg);
void uring_fini(struct uring *u);

/* Human-readable names of the setup flags obtained, e.g.
 * "SINGLE_ISSUER|DEFER_TASKRUN|CQSIZE". */
void uring_flags_str(unsigned flags, char *buf, unsigned len);

/* A free SQE; submits pending ones first when the SQ is full. Never NULL. */
struct io_uring_sqe *uring_sqe(struct uring *u);

/* Submit everything queued and wait for at least one completion or the
 * timeout. Returns 0, or -errno other than -ETIME/-EINTR. */
int uring_wait(struct uring *u, uint64_t timeout_ns);

/* Make room for n SQEs that must go to the kernel in one submission. */
void uring_reserve(struct uring *u, unsigned n);

/* Up to max ready completions without waiting; retire them with uring_done. */
unsigned uring_peek(struct uring *u, struct io_uring_cqe **cqes, unsigned max);

/* Retire n completions and publish recycled buffers. */
void uring_done(struct uring *u, unsigned n);

static inline char *uring_buf(struct uring *u, unsigned bid)
{
    return u->bufs + (size_t)bid * u->buf_size;
}

/* Give a provided buffer back; it becomes visible at the next uring_done. */
static inline void uring_buf_recycle(struct uring *u, unsigned bid)
{
    io_uring_buf_ring_add(u->br, uring_buf(u, bid), u->buf_size, bid,
                          io_uring_buf_ring_mask(u->buf_count), u->buf_pending++);
}

static inline uint64_t uring_ud(unsigned op, uint32_t gen, uint32_t slot)
{
    return (uint64_t)op << 56 | (uint64_t)(gen & 0xffffff) << 32 | slot;
}
static inline unsigned uring_ud_op(uint64_t ud)
{
    return ud >> 56;
}
static inline uint32_t uring_ud_gen(uint64_t ud)
{
    return (ud >> 32) & 0xffffff;
}
static inline uint32_t uring_ud_slot(uint64_t ud)
{
    return (uint32_t)ud;
}

/* Set the soft RLIMIT_NOFILE to the hard one (liburing 2.3's
 * register_files_sparse otherwise tries, and can fail). Returns the new
 * soft limit. */
unsigned uring_raise_nofile(void);

#endif
