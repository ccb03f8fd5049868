// Owned strings, a byte buffer and the field encoding: see encoding.h.

#include "encoding.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// --- Owned strings ----------------------------------------------------------

plugin_string_t str_copy(const void *bytes, size_t len) {
    plugin_string_t s;
    // The bindings' own copy: cabi_realloc, which never allocates for 0 bytes.
    plugin_string_dup_n(&s, (const char *)bytes, len);
    return s;
}

plugin_string_t str_cstr(const char *s) {
    return str_copy(s, strlen(s));
}

plugin_string_t str_printf(const char *format, ...) {
    va_list args;
    va_start(args, format);
    int n = vsnprintf(NULL, 0, format, args);
    va_end(args);
    if (n <= 0) return (plugin_string_t){NULL, 0};
    char *text = malloc((size_t)n + 1);
    if (text == NULL) abort();
    va_start(args, format);
    vsnprintf(text, (size_t)n + 1, format, args);
    va_end(args);
    return (plugin_string_t){(uint8_t *)text, (size_t)n};
}

bool str_eq(const plugin_string_t *a, const plugin_string_t *b) {
    return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

int str_cmp(const plugin_string_t *a, const plugin_string_t *b) {
    size_t common = a->len < b->len ? a->len : b->len;
    int c = common == 0 ? 0 : memcmp(a->ptr, b->ptr, common);
    if (c != 0) return c;
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

// --- A growable byte buffer -------------------------------------------------

void buf_add(buf_t *b, const void *bytes, size_t len) {
    if (len == 0) return;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + len) cap *= 2;
        uint8_t *grown = realloc(b->ptr, cap);
        if (grown == NULL) abort();
        b->ptr = grown;
        b->cap = cap;
    }
    memcpy(b->ptr + b->len, bytes, len);
    b->len += len;
}

void buf_add_cstr(buf_t *b, const char *s) {
    buf_add(b, s, strlen(s));
}

// By hand: musl's snprintf costs about a thousand instructions a number, and
// a record has a dozen numbers.
void buf_add_u64(buf_t *b, uint64_t value) {
    char digits[20];
    size_t at = sizeof digits;
    do {
        digits[--at] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    buf_add(b, digits + at, sizeof digits - at);
}

plugin_string_t buf_take(buf_t *b) {
    plugin_string_t s = {b->ptr, b->len};
    if (b->len == 0) {
        free(b->ptr);
        s.ptr = NULL;
    }
    *b = (buf_t){NULL, 0, 0};
    return s;
}

void buf_free(buf_t *b) {
    free(b->ptr);
    *b = (buf_t){NULL, 0, 0};
}

// --- Writing fields ---------------------------------------------------------

void put_u64(buf_t *b, uint64_t value) {
    buf_add_u64(b, value);
    buf_add(b, ",", 1);
}

void put_bytes(buf_t *b, const void *bytes, size_t len) {
    buf_add_u64(b, len);
    buf_add(b, ":", 1);
    buf_add(b, bytes, len);
    buf_add(b, ",", 1);
}

void put_str(buf_t *b, const plugin_string_t *s) {
    put_bytes(b, s->ptr, s->len);
}

void put_none(buf_t *b) {
    buf_add(b, "-,", 2);
}

void put_opt_str(buf_t *b, const plugin_option_string_t *s) {
    if (s->is_some) {
        put_str(b, &s->val);
    } else {
        put_none(b);
    }
}

// --- Reading fields ---------------------------------------------------------

reader_t reader(const uint8_t *bytes, size_t len) {
    return (reader_t){bytes, len, true};
}

// Reads decimal digits up to `end` (consumed). At most 20 digits: a u64.
static uint64_t get_digits(reader_t *r, uint8_t end) {
    uint64_t value = 0;
    size_t n = 0;
    while (r->ok && n < r->left && r->at[n] != end) {
        uint8_t d = r->at[n];
        if (d < '0' || d > '9' || value > (UINT64_MAX - (d - '0')) / 10) {
            r->ok = false;
            return 0;
        }
        value = value * 10 + (d - '0');
        n++;
    }
    if (!r->ok || n == 0 || n == r->left) {
        r->ok = false;
        return 0;
    }
    r->at += n + 1;
    r->left -= n + 1;
    return value;
}

uint64_t get_u64(reader_t *r) {
    return get_digits(r, ',');
}

plugin_string_t get_str(reader_t *r) {
    uint64_t len = get_digits(r, ':');
    if (!r->ok || len >= r->left || r->at[len] != ',') {
        r->ok = false;
        return (plugin_string_t){NULL, 0};
    }
    plugin_string_t s = str_copy(r->at, (size_t)len);
    r->at += len + 1;
    r->left -= len + 1;
    return s;
}

bool get_none(reader_t *r) {
    if (r->ok && r->left >= 2 && r->at[0] == '-' && r->at[1] == ',') {
        r->at += 2;
        r->left -= 2;
        return true;
    }
    return false;
}

plugin_option_string_t get_opt_str(reader_t *r) {
    plugin_option_string_t s = {false, {NULL, 0}};
    if (!get_none(r)) {
        s.is_some = true;
        s.val = get_str(r);
    }
    return s;
}

bool reader_done(const reader_t *r) {
    return r->ok && r->left == 0;
}
