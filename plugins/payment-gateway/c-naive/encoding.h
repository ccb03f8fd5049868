// Owned strings, a growable byte buffer, and the plain text encoding the
// gateway stores its records in.
//
// The encoding is a sequence of fields, each ending with a comma:
//
// - a number: its decimal digits, `42,`;
// - a string: a netstring, its length in bytes, a colon, the bytes, `3:o-1,`
//   (any bytes at all: nothing inside is escaped, the length says where it
//   ends);
// - an absent optional value: `-,` (a present one is written as it is: it
//   starts with a digit).
//
// A record is its fields in a fixed order (see gateway.c), so two equal
// values have equal encodings: the gateway compares requests by their bytes.

#ifndef GATEWAY_ENCODING_H
#define GATEWAY_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin.h"

// --- Owned strings ----------------------------------------------------------
// A `plugin_string_t` here always owns its bytes (on the heap), as the
// bindings expect of every string they free: `plugin_string_free` frees it.

// A copy of `len` bytes at `bytes`.
plugin_string_t str_copy(const void *bytes, size_t len);
// A copy of the nul-terminated `s`.
plugin_string_t str_cstr(const char *s);
// A string formatted as by printf (its cost is in the thousands of
// instructions: for error messages).
plugin_string_t str_printf(const char *format, ...) __attribute__((format(printf, 1, 2)));
bool str_eq(const plugin_string_t *a, const plugin_string_t *b);
// Bytewise order (memcmp, then the shorter first), as the store orders keys.
int str_cmp(const plugin_string_t *a, const plugin_string_t *b);

// --- A growable byte buffer -------------------------------------------------

typedef struct {
    uint8_t *ptr;
    size_t len;
    size_t cap;
} buf_t;

void buf_add(buf_t *b, const void *bytes, size_t len);
void buf_add_cstr(buf_t *b, const char *s);
// `value` in decimal.
void buf_add_u64(buf_t *b, uint64_t value);
// Hands the buffer's bytes over as a string (the buffer is left empty).
plugin_string_t buf_take(buf_t *b);
void buf_free(buf_t *b);

// --- Writing fields ---------------------------------------------------------

void put_u64(buf_t *b, uint64_t value);
void put_bytes(buf_t *b, const void *bytes, size_t len);
void put_str(buf_t *b, const plugin_string_t *s);
void put_none(buf_t *b);
void put_opt_str(buf_t *b, const plugin_option_string_t *s);

// --- Reading fields ---------------------------------------------------------
// A reader keeps going after a malformed field (reading zeros and empty
// strings), so a record is decoded field after field and judged once, at the
// end, by `reader_done`.

typedef struct {
    const uint8_t *at;
    size_t left;
    bool ok;
} reader_t;

reader_t reader(const uint8_t *bytes, size_t len);
uint64_t get_u64(reader_t *r);
plugin_string_t get_str(reader_t *r);
// True (and the field consumed) if the next field is an absent value.
bool get_none(reader_t *r);
plugin_option_string_t get_opt_str(reader_t *r);
// Whether every field was well formed and the whole input read.
bool reader_done(const reader_t *r);

#endif
