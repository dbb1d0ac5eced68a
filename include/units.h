/*
 * units.h - parsing of human-written durations, sizes and counts (CLI and,
 * later, scenario files). Pure functions; no allocation.
 *
 * Durations: "<number><unit>" with unit ns, us, ms, s, m, h; a bare number
 * means seconds (wrk). Decimals allowed ("1.5s", "0.5ms"). Combined forms
 * like "1m30s" are accepted. Result in nanoseconds.
 * Sizes: bytes with optional k, m, g (powers of 1024; "kb"/"KiB" accepted,
 * case-insensitive). Counts: integers with optional k/m/g (powers of 1000)
 * like wrk's "10k".
 * All return 0 on success, -EINVAL on a malformed string, -ERANGE when the
 * value overflows uint64; *out is untouched on error.
 */
#ifndef STAMPEDE_UNITS_H
#define STAMPEDE_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* 10^0 .. 10^19: every power of ten a uint64_t holds. */
#define UNITS_POW10_N 20
extern const uint64_t units_pow10[UNITS_POW10_N];

int units_parse_duration(const char *s, uint64_t *out_ns);
int units_parse_size(const char *s, uint64_t *out_bytes);
int units_parse_count(const char *s, uint64_t *out);

/* Read a whole file of at most max bytes into a new buffer (*buf, *len;
 * the caller frees). 0, -errno, or -EFBIG when larger than max. */
int units_read_file(const char *path, size_t max, char **buf, size_t *len);

/* Format ns as a short human duration with 3 significant-ish digits:
 * "812ns", "15.23us", "1.20ms", "2.50s", "3m05s". Returns snprintf's value. */
int units_fmt_duration(char *buf, size_t len, uint64_t ns);

/* Format a byte count or byte rate: "512B", "1.50KiB", "12.3MiB". */
int units_fmt_bytes(char *buf, size_t len, double bytes);

#endif
