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
 * Extending: a segment is a kind plus kind-specific fields. Arithmetic
 * (`{{conn / 10}}`) becomes a TMPL_SEG_EXPR holding a variable, an operator
 * and a u64 operand (matched as a plain number, not inverted); random
 * values a TMPL_SEG_RAND holding bounds (tmpl_vals gains an rng);
 * captures a TMPL_SEG_CAPTURE holding a slot in tmpl_vals. Render and
 * match switch on the kind.
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

/* One field per enum tmpl_var (named, so `{.conn = c, .seq = s}` reads
 * well in tables; tmpl.c maps a var to its field). */
struct tmpl_vals {
    uint64_t conn, seq, ts;
    uint32_t have; /* tmpl_match: bit (1u << var) per variable read */
};

enum tmpl_seg_kind {
    TMPL_SEG_LIT, /* bytes t->lit[off, off + len) */
    TMPL_SEG_VAR, /* the decimal value of variable `var` */
};

struct tmpl_seg {
    uint8_t kind; /* enum tmpl_seg_kind */
    uint8_t var;  /* TMPL_SEG_VAR: enum tmpl_var */
    uint32_t off, len;
};

/* Caller-allocated; tmpl_compile fills it, tmpl_free releases what it
 * allocated (one block: the segments, then the literal bytes). */
struct tmpl {
    struct tmpl_seg *segs;
    const char *lit;
    uint32_t nsegs;
    uint32_t have;  /* bit (1u << var) per variable used */
    size_t max_len; /* longest rendering */
    bool matchable; /* see above */
};

/* Compile src[0..len) (any bytes, NULs included; len < 4 GiB). Returns 0,
 * or -1 with a NUL-terminated message in err[0..errlen) that names the
 * byte offset: "unknown variable 'conm' at offset 12 (known: conn, seq,
 * ts)". On failure t holds nothing to free. */
int tmpl_compile(struct tmpl *t, const char *src, size_t len, char *err, size_t errlen);

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
