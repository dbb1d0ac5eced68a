/*
 * tmpl.h - message templates: `{"from":"{{conn}}","seq":{{seq}},"ts":{{ts}}}`.
 *
 * A template is compiled once (start-up) into segments: literal bytes, or
 * a variable. Rendering walks the segments with no parsing and no
 * allocation: a memcpy per literal and a digit-pair conversion per
 * variable (u64 in decimal, at most 20 digits). Matching parses a received
 * message back against the same segments, to pair echo replies by conn and
 * seq and to read the ts of other connections' (fan-out) messages.
 *
 * Syntax: `{{name}}`, spaces or tabs allowed around the name
 * (`{{ conn }}`). In a run of three or more '{' the last two open the
 * variable and the rest are literal, so `{{{seq}}}` renders `{7}`; the
 * first "}}" after the name closes it. There is no escape: a literal "{{"
 * cannot be written. An unknown name, an empty `{{}}` or an unclosed "{{"
 * is a compile error that names the byte offset.
 *
 * Matching is unambiguous only when every variable is followed by the end
 * of the template or by a literal that does not start with a digit, since
 * a variable takes all the digits it sees. Such templates (`{{conn}}{{seq}}`,
 * `{{seq}}0`) compile and render, but tmpl_match refuses them
 * (tmpl_matchable() says so) rather than guess.
 *
 * Scenario values (tmpl_compile_env): `{{conn / 10}}` (one of + - * / %
 * and a u64 operand; / and % by 0 are compile errors) renders the
 * variable's value through the operator; `{{rand(1,100)}}` a uniform
 * integer in [1, 100] from the caller's rng; `{{token}}` a string slot:
 * a capture (a value taken from an earlier response) or a data-feeder
 * column, looked up by name in the environment at compile time. Matching
 * treats an expression or a random value as a number it does not read back,
 * and refuses string slots.
 */
#ifndef STAMPEDE_TMPL_H
#define STAMPEDE_TMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tmpl_var {
    TMPL_CONN, /* connection id, unique in the run */
    TMPL_SEQ,  /* per-connection message sequence */
    TMPL_TS,   /* send time, monotonic microseconds */
    TMPL_VAR_NR,
};

#define TMPL_U64_DIGITS 20

/* A string value of a slot (a capture or a data column). */
struct tmpl_str {
    const char *ptr;
    uint32_t len;
};

/* One field per enum tmpl_var (named, so `{.conn = c, .seq = s}` reads
 * well in tables; tmpl.c maps a var to its field). */
struct tmpl_vals {
    uint64_t conn, seq, ts;
    uint32_t have; /* tmpl_match: bit (1u << var) per variable read */
    const struct tmpl_str *caps; /* capture slots (tmpl_compile_env) */
    const struct tmpl_str *cols; /* the connection's data row */
    uint64_t *rng;               /* xorshift64 state for {{rand(a,b)}} */
};

/* Names a scenario template may use besides conn, seq and ts. */
struct tmpl_env {
    const char *const *caps; /* capture names, slot = index */
    uint32_t ncaps;
    const char *const *cols; /* data columns, index = column */
    uint32_t ncols;
    uint32_t str_max;        /* longest value of a string slot */
};

enum tmpl_seg_kind {
    TMPL_SEG_LIT, /* bytes t->lit[off, off + len) */
    TMPL_SEG_VAR, /* the decimal value of variable `var` */
    TMPL_SEG_EXPR, /* var op arg */
    TMPL_SEG_RAND, /* uniform in [arg, arg2] */
    TMPL_SEG_CAP,  /* capture slot `off` */
    TMPL_SEG_COL,  /* data column `off` */
};

struct tmpl_seg {
    uint8_t kind; /* enum tmpl_seg_kind */
    uint8_t var;  /* TMPL_SEG_VAR, TMPL_SEG_EXPR: enum tmpl_var */
    uint8_t op;   /* TMPL_SEG_EXPR: + - * / % */
    uint32_t off, len;
    uint64_t arg, arg2;
};

/* Caller-allocated; tmpl_compile fills it, tmpl_free releases what it
 * allocated (one block: the segments, then the literal bytes). */
struct tmpl {
    struct tmpl_seg *segs;
    const char *lit;
    uint32_t nsegs;
    uint32_t have;  /* bit (1u << var) per variable used */
    uint64_t caps;  /* bit per capture slot used (slots < 64) */
    size_t max_len; /* longest rendering */
    bool matchable; /* see above */
};

/* Compile src[0..len) (any bytes, NULs included; len < 4 GiB). Returns 0,
 * or -1 with a NUL-terminated message in err[0..errlen) that names the
 * byte offset: "unknown variable 'conm' at offset 12 (known: conn, seq,
 * ts)". On failure t holds nothing to free. */
int tmpl_compile(struct tmpl *t, const char *src, size_t len, char *err, size_t errlen);

/* The same with scenario values (see above) from env (NULL: none). */
int tmpl_compile_env(struct tmpl *t, const char *src, size_t len, const struct tmpl_env *env,
                     char *err, size_t errlen);

/* Release the compiled form; idempotent (t is zeroed). */
void tmpl_free(struct tmpl *t);

/* Upper bound of a rendering: literals + 20 digits per variable. */
size_t tmpl_max_len(const struct tmpl *t);

/* Render with v's values into out[0..cap). Returns the length, 0 if it
 * does not fit (nothing useful is left in out then). An empty template
 * also renders 0 bytes. No allocation; cap >= tmpl_max_len() skips the
 * per-segment bound checks. */
size_t tmpl_render(const struct tmpl *t, char *out, size_t cap, const struct tmpl_vals *v);

/* Parse msg[0..len) against the template: literals must match exactly,
 * each variable is 1-20 decimal digits fitting in a u64 (leading zeros
 * accepted); a variable used twice must read the same value twice.
 * Returns true with v filled and v->have the bitmask of variables read;
 * false (v zeroed) on a mismatch or for a template that is not matchable. */
bool tmpl_match(const struct tmpl *t, const char *msg, size_t len, struct tmpl_vals *v);

/* Does the template use `var`? */
bool tmpl_has(const struct tmpl *t, enum tmpl_var var);

/* Can tmpl_match parse renderings back unambiguously? */
bool tmpl_matchable(const struct tmpl *t);

#endif
