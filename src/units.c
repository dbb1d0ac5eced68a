/*
 * units.c - parse and format durations, sizes and counts.
 *
 * Numbers are "<digits>[.<digits>]": no sign, no leading '.', no spaces,
 * no exponent. They are parsed into an integer part and a decimal
 * fraction and scaled with exact integer arithmetic (a 128-bit product),
 * so "1.5s" is exactly 1500000000 ns and "0.1k" counts exactly 100, with
 * no strtod rounding. Fraction digits beyond 18 are dropped (they are
 * below 1e-18 of the unit). Unit names are case-insensitive.
 * Errors: every malformed string is -EINVAL even if it also overflows, so
 * "-ERANGE" always means "well formed, too big". *out is written only on
 * success. Not on any hot path.
 */
#include "units.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define UNITS_FRAC_MAX 18 /* 10^18 < 2^63: the fraction never overflows */

struct units_num {
    uint64_t ip;   /* integer part, saturated when `over` */
    uint64_t frac; /* first fdig fraction digits as an integer */
    unsigned fdig; /* 0..UNITS_FRAC_MAX */
    bool lost;     /* a non-zero fraction digit beyond UNITS_FRAC_MAX */
    bool over;     /* integer part above UINT64_MAX */
};

struct units_name {
    const char *name;
    uint64_t mult;
};

/* Micro is also accepted as "µs", spelt with U+00B5 (micro sign) or
 * U+03BC (Greek mu): both occur in pasted text. */
static const struct units_name units_time[] = {
    {"ns", 1},       {"us", 1000},         {"\xc2\xb5s", 1000},   {"\xce\xbcs", 1000},
    {"ms", 1000000}, {"s", 1000000000ull}, {"m", 60000000000ull}, {"h", 3600000000000ull},
    {NULL, 0},
};

static const struct units_name units_size[] = {
    {"", 1},
    {"b", 1},
    {"k", 1ull << 10},
    {"kb", 1ull << 10},
    {"kib", 1ull << 10},
    {"m", 1ull << 20},
    {"mb", 1ull << 20},
    {"mib", 1ull << 20},
    {"g", 1ull << 30},
    {"gb", 1ull << 30},
    {"gib", 1ull << 30},
    {NULL, 0},
};

static const struct units_name units_count[] = {
    {"", 1}, {"k", 1000}, {"m", 1000000}, {"g", 1000000000}, {NULL, 0},
};

static bool units_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Scan digits into *v (saturating, flagging overflow); returns the end. */
static const char *units_scan_int(const char *s, uint64_t *v, bool *over)
{
    for (*v = 0; units_digit(*s); s++) {
        unsigned d = (unsigned)(*s - '0');

        if (*v > (UINT64_MAX - d) / 10)
            *over = true;
        else
            *v = *v * 10 + d;
    }
    return s;
}

/* Scan one number; NULL when s does not start with one. */
static const char *units_scan_num(const char *s, struct units_num *n)
{
    memset(n, 0, sizeof(*n));
    if (!units_digit(*s))
        return NULL;
    s = units_scan_int(s, &n->ip, &n->over);
    if (*s != '.')
        return s;
    if (!units_digit(*++s))
        return NULL; /* "1." or "1.s" */
    for (; units_digit(*s); s++) {
        if (n->fdig < UNITS_FRAC_MAX) {
            n->frac = n->frac * 10 + (uint64_t)(*s - '0');
            n->fdig++;
        } else if (*s != '0') {
            n->lost = true;
        }
    }
    return s;
}

/* The unit name: the run of letters (or UTF-8 bytes) after the number. */
static const char *units_scan_name(const char *s, char *name, size_t cap)
{
    size_t len = 0;

    while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s & 0x80)) {
        if (len + 1 < cap)
            name[len] = *s;
        len++;
        s++;
    }
    name[len < cap ? len : cap - 1] = '\0';
    return len < cap ? s : NULL; /* too long to be any unit */
}

/* Multiplier of `name` in `table`, 0 when unknown. */
static uint64_t units_lookup(const struct units_name *table, const char *name)
{
    for (; table->name; table++)
        if (strcasecmp(table->name, name) == 0)
            return table->mult;
    return 0;
}

const uint64_t units_pow10[UNITS_POW10_N] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
    10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull,
};

/* n * mult into *out; -ERANGE on overflow, -EINVAL when `exact` is asked
 * and the result has a fractional part. */
static int units_scale(const struct units_num *n, uint64_t mult, bool exact, uint64_t *out)
{
    unsigned __int128 f = (unsigned __int128)n->frac * mult;
    uint64_t whole;

    if (exact && (n->lost || f % units_pow10[n->fdig] != 0))
        return -EINVAL;
    if (n->over || __builtin_mul_overflow(n->ip, mult, &whole))
        return -ERANGE;
    /* frac < 10^fdig, so f / 10^fdig < mult: it fits in 64 bits. */
    if (__builtin_add_overflow(whole, (uint64_t)(f / units_pow10[n->fdig]), out))
        return -ERANGE;
    return 0;
}

/* A single number with an optional unit from `table`, nothing after. */
static int units_parse_one(const char *s, const struct units_name *table, bool exact, uint64_t *out)
{
    struct units_num n;
    char name[8];
    uint64_t mult, v;
    int rc;

    if (!(s = units_scan_num(s, &n)) || !(s = units_scan_name(s, name, sizeof(name))) || *s)
        return -EINVAL;
    if (!(mult = units_lookup(table, name)))
        return -EINVAL;
    if ((rc = units_scale(&n, mult, exact, &v)))
        return rc;
    *out = v;
    return 0;
}

/*
 * One "<number><unit>" term of a duration. A bare number is only valid
 * as the whole string (seconds): in "1m30" the 30 has no clear unit.
 * Returns the end of the term, or NULL on a syntax error; *rc gets
 * -ERANGE on overflow (parsing continues so syntax errors still win).
 */
static const char *units_duration_term(const char *s, bool first, uint64_t *acc, int *rc)
{
    struct units_num n;
    char name[8];
    uint64_t mult, v;

    if (!(s = units_scan_num(s, &n)) || !(s = units_scan_name(s, name, sizeof(name))))
        return NULL;
    if (name[0] == '\0')
        mult = first && *s == '\0' ? 1000000000ull : 0;
    else
        mult = units_lookup(units_time, name);
    if (mult == 0)
        return NULL;
    if (units_scale(&n, mult, false, &v) || __builtin_add_overflow(*acc, v, acc))
        *rc = -ERANGE;
    return s;
}

int units_parse_duration(const char *s, uint64_t *out_ns)
{
    uint64_t total = 0;
    int rc = 0;
    bool first = true;

    if (!s || !*s)
        return -EINVAL;
    for (; *s; first = false)
        if (!(s = units_duration_term(s, first, &total, &rc)))
            return -EINVAL;
    if (rc)
        return rc;
    *out_ns = total;
    return 0;
}

int units_parse_size(const char *s, uint64_t *out_bytes)
{
    if (!s)
        return -EINVAL;
    return units_parse_one(s, units_size, false, out_bytes);
}

int units_parse_count(const char *s, uint64_t *out)
{
    if (!s)
        return -EINVAL;
    return units_parse_one(s, units_count, true, out);
}

/*
 * Each unit is chosen by the value after rounding, so 999995 ns prints
 * "1.00ms", not "1000.00us"; from 59.995 s on, whole seconds are shown.
 */
int units_fmt_duration(char *buf, size_t len, uint64_t ns)
{
    uint64_t sec;

    if (ns < 1000)
        return snprintf(buf, len, "%lluns", (unsigned long long)ns);
    if (ns < 999995)
        return snprintf(buf, len, "%.2fus", (double)ns / 1e3);
    if (ns < 999995000)
        return snprintf(buf, len, "%.2fms", (double)ns / 1e6);
    if (ns < 59995000000ull)
        return snprintf(buf, len, "%.2fs", (double)ns / 1e9);
    sec = ns / 1000000000 + (ns % 1000000000 >= 500000000);
    if (sec < 3600)
        return snprintf(buf, len, "%llum%02llus", (unsigned long long)(sec / 60),
                        (unsigned long long)(sec % 60));
    return snprintf(buf, len, "%lluh%02llum%02llus", (unsigned long long)(sec / 3600),
                    (unsigned long long)(sec / 60 % 60), (unsigned long long)(sec % 60));
}

/* Three significant digits from KiB up; the unit is picked after rounding
 * (1023.7 KiB prints "1.00MiB", not "1024KiB"). */
int units_fmt_bytes(char *buf, size_t len, double bytes)
{
    static const char *const name[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    const unsigned last = sizeof(name) / sizeof(name[0]) - 1;
    double v = bytes, a;
    unsigned i = 0;

    while (fabs(v) >= 1023.5 && i < last) {
        v /= 1024;
        i++;
    }
    a = fabs(v);
    if (i == 0 || a >= 99.95)
        return snprintf(buf, len, "%.0f%s", v, name[i]);
    return snprintf(buf, len, a < 9.995 ? "%.2f%s" : "%.1f%s", v, name[i]);
}

int units_read_file(const char *path, size_t max, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n;
    int err = 0;

    if (!f)
        return -errno;
    if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
        err = -EIO;
    else if ((size_t)n > max)
        err = -EFBIG;
    else if (!(*buf = malloc(n ? (size_t)n : 1)))
        err = -ENOMEM;
    else if (fread(*buf, 1, (size_t)n, f) != (size_t)n) {
        free(*buf);
        *buf = NULL;
        err = -EIO;
    }
    fclose(f);
    if (!err)
        *len = (size_t)n;
    return err;
}
