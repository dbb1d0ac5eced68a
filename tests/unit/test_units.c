/*
 * test_units.c - table-driven cases for the duration, size and count
 * parsers and the two formatters (fio num2str style).
 *
 * Each parser row gives the input, the expected return (0, -EINVAL or
 * -ERANGE) and, on success, the exact value. A failed parse must leave
 * *out untouched, so every call starts from a sentinel. Formatter rows
 * give the exact expected text, including the unit switch points where
 * rounding would otherwise print "1000.00us" or "60.00s".
 */
#include "t.h"
#include "units.h"

#include <errno.h>
#include <string.h>

#define T_SENTINEL 0xdeadbeefcafef00dull
#define T_NS_S 1000000000ull

struct t_case {
    const char *in;
    int rc;
    uint64_t want;
};

typedef int (*t_parse_fn)(const char *s, uint64_t *out);

static void t_run(const char *what, t_parse_fn fn, const struct t_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = T_SENTINEL;
        int rc = fn(c[i].in, &v);
        uint64_t want = c[i].rc ? T_SENTINEL : c[i].want;

        ok(rc == c[i].rc && v == want, "%s(\"%s\") = %d, %llu; want %d, %llu", what, c[i].in, rc,
           (unsigned long long)v, c[i].rc, (unsigned long long)want);
    }
}

static const struct t_case t_durations[] = {
    {"500ms", 0, 500000000},
    {"10s", 0, 10 * T_NS_S},
    {"2m", 0, 120 * T_NS_S},
    {"1.5s", 0, 1500000000},
    {"1m30s", 0, 90 * T_NS_S},
    {"1h2m3s", 0, 3723 * T_NS_S},
    {"1s500ms", 0, 1500000000},
    {"10", 0, 10 * T_NS_S},
    {"0.25", 0, 250000000},
    {"0", 0, 0},
    {"0s", 0, 0},
    {"1ns", 0, 1},
    {"1.9ns", 0, 1},
    {"250us", 0, 250000},
    {"250\xc2\xb5s", 0, 250000},
    {"0.5ms", 0, 500000},
    {"2h", 0, 7200 * T_NS_S},
    {"1.000000001s", 0, 1000000001},
    {"0.0000000000000000000001h", 0, 0},
    {"10S", 0, 10 * T_NS_S},
    {"5MS", 0, 5000000},
    {"007s", 0, 7 * T_NS_S},
    {"18446744073709551615ns", 0, UINT64_MAX},
    {"18446744073709551616ns", -ERANGE, 0},
    {"18446744073s", 0, 18446744073 * T_NS_S},
    {"18446744074s", -ERANGE, 0},
    {"5124096h", -ERANGE, 0},
    {"18446744073709551615ns1ns", -ERANGE, 0},
    {"99999999999999999999999999h", -ERANGE, 0},
    {"99999999999999999999999999hx", -EINVAL, 0},
    {"", -EINVAL, 0},
    {"s", -EINVAL, 0},
    {"ms", -EINVAL, 0},
    {"-1s", -EINVAL, 0},
    {"+1s", -EINVAL, 0},
    {" 1s", -EINVAL, 0},
    {"1s ", -EINVAL, 0},
    {"1 s", -EINVAL, 0},
    {"1.s", -EINVAL, 0},
    {".5s", -EINVAL, 0},
    {"1.", -EINVAL, 0},
    {"1..5s", -EINVAL, 0},
    {"1e3ms", -EINVAL, 0},
    {"1d", -EINVAL, 0},
    {"1sec", -EINVAL, 0},
    {"1m30", -EINVAL, 0},
    {"1s-1ms", -EINVAL, 0},
    {"1xyzxyzxyzxyzxyz", -EINVAL, 0},
    {"0x10s", -EINVAL, 0},
};

static const struct t_case t_sizes[] = {
    {"0", 0, 0},
    {"512", 0, 512},
    {"512b", 0, 512},
    {"512B", 0, 512},
    {"1k", 0, 1024},
    {"1K", 0, 1024},
    {"1kb", 0, 1024},
    {"1KB", 0, 1024},
    {"1KiB", 0, 1024},
    {"1kib", 0, 1024},
    {"4m", 0, 4ull << 20},
    {"4MiB", 0, 4ull << 20},
    {"2g", 0, 2ull << 30},
    {"2GB", 0, 2ull << 30},
    {"1.5k", 0, 1536},
    {"0.5m", 0, 512 * 1024},
    {"1.1k", 0, 1126},
    {"17179869183g", 0, 17179869183ull << 30},
    {"17179869184g", -ERANGE, 0},
    {"18446744073709551615", 0, UINT64_MAX},
    {"18446744073709551616", -ERANGE, 0},
    {"", -EINVAL, 0},
    {"k", -EINVAL, 0},
    {"-1k", -EINVAL, 0},
    {"1t", -EINVAL, 0},
    {"1kk", -EINVAL, 0},
    {"1k1", -EINVAL, 0},
    {"1 k", -EINVAL, 0},
    {"1kbit", -EINVAL, 0},
    {"1ki", -EINVAL, 0},
    {"1s", -EINVAL, 0},
};

static const struct t_case t_counts[] = {
    {"0", 0, 0},
    {"10", 0, 10},
    {"10k", 0, 10000},
    {"10K", 0, 10000},
    {"2m", 0, 2000000},
    {"3G", 0, 3000000000ull},
    {"1.5k", 0, 1500},
    {"0.001k", 0, 1},
    {"2.0", 0, 2},
    {"18446744073709551615", 0, UINT64_MAX},
    {"18446744073709551616", -ERANGE, 0},
    {"18446744073709552k", -ERANGE, 0},
    {"1.5", -EINVAL, 0},
    {"0.0001k", -EINVAL, 0},
    {"1.0000000000000000000001", -EINVAL, 0},
    {"", -EINVAL, 0},
    {"k", -EINVAL, 0},
    {"-5", -EINVAL, 0},
    {"10kb", -EINVAL, 0},
    {"10ki", -EINVAL, 0},
    {"1e3", -EINVAL, 0},
    {"10k ", -EINVAL, 0},
};

struct t_fmt_ns {
    uint64_t ns;
    const char *want;
};

static const struct t_fmt_ns t_fmt_durations[] = {
    {0, "0ns"},
    {812, "812ns"},
    {999, "999ns"},
    {1000, "1.00us"},
    {15230, "15.23us"},
    {999994, "999.99us"},
    {999995, "1.00ms"},
    {1200000, "1.20ms"},
    {999995000, "1.00s"},
    {2500000000ull, "2.50s"},
    {59994999999ull, "59.99s"},
    {59995000000ull, "1m00s"},
    {185 * T_NS_S, "3m05s"},
    {185 * T_NS_S + 499999999, "3m05s"},
    {185 * T_NS_S + 500000000, "3m06s"},
    {3599 * T_NS_S, "59m59s"},
    {3600 * T_NS_S, "1h00m00s"},
    {(3 * 3600 + 62) * T_NS_S, "3h01m02s"},
};

struct t_fmt_b {
    double bytes;
    const char *want;
};

static const struct t_fmt_b t_fmt_bytes[] = {
    {0, "0B"},
    {512, "512B"},
    {1023, "1023B"},
    {1536, "1.50KiB"},
    {10 * 1024, "10.0KiB"},
    {12.3 * 1048576, "12.3MiB"},
    {100 * 1024, "100KiB"},
    {1023 * 1024, "1023KiB"},
    {1023.7 * 1024, "1.00MiB"},
    {9.996 * 1024, "10.0KiB"},
    {3.0 * 1073741824, "3.00GiB"},
    {5.0 * 1099511627776.0, "5.00TiB"},
};

static void t_formatters(void)
{
    char buf[64];
    int n;

    for (size_t i = 0; i < sizeof(t_fmt_durations) / sizeof(t_fmt_durations[0]); i++) {
        n = units_fmt_duration(buf, sizeof(buf), t_fmt_durations[i].ns);
        ok(strcmp(buf, t_fmt_durations[i].want) == 0 && n == (int)strlen(buf),
           "fmt_duration(%llu) = \"%s\", want \"%s\"", (unsigned long long)t_fmt_durations[i].ns,
           buf, t_fmt_durations[i].want);
    }
    for (size_t i = 0; i < sizeof(t_fmt_bytes) / sizeof(t_fmt_bytes[0]); i++) {
        n = units_fmt_bytes(buf, sizeof(buf), t_fmt_bytes[i].bytes);
        ok(strcmp(buf, t_fmt_bytes[i].want) == 0 && n == (int)strlen(buf),
           "fmt_bytes(%.1f) = \"%s\", want \"%s\"", t_fmt_bytes[i].bytes, buf, t_fmt_bytes[i].want);
    }
    n = units_fmt_duration(buf, 4, 15230);
    ok(n == 7 && strcmp(buf, "15.") == 0, "truncation returns the full length (%d)", n);
}

/* Every duration the formatter prints in s/ms/us parses back close. */
static void t_round_trip(void)
{
    static const uint64_t ns[] = {1, 999, 1500, 25000, 1234567, 2500000000ull, 59990000000ull};
    char buf[64];

    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        uint64_t back = 0;
        int rc;

        units_fmt_duration(buf, sizeof(buf), ns[i]);
        rc = units_parse_duration(buf, &back);
        ok(rc == 0 && back <= ns[i] + ns[i] / 100 && back + ns[i] / 100 >= ns[i],
           "round trip %llu -> \"%s\" -> %llu", (unsigned long long)ns[i], buf,
           (unsigned long long)back);
    }
}

int main(void)
{
    uint64_t v = T_SENTINEL;

    t_run("duration", units_parse_duration, t_durations,
          sizeof(t_durations) / sizeof(t_durations[0]));
    t_run("size", units_parse_size, t_sizes, sizeof(t_sizes) / sizeof(t_sizes[0]));
    t_run("count", units_parse_count, t_counts, sizeof(t_counts) / sizeof(t_counts[0]));
    ok(units_parse_duration(NULL, &v) == -EINVAL && units_parse_size(NULL, &v) == -EINVAL &&
           units_parse_count(NULL, &v) == -EINVAL && v == T_SENTINEL,
       "NULL input is -EINVAL");
    t_formatters();
    t_round_trip();
    return done();
}
