/* UTF-8, strictly (RFC 3629): the one decoder and encoder of sidr's engine,
 * loaders and explorer.  Overlong forms, surrogates and code points past
 * U+10FFFF are invalid. */
#ifndef SIDR_UTF8_H
#define SIDR_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the valid sequence at s[0..n) with its code point in
 * *cp, or 0 when it is invalid or cut short (n == 0 included). */
int sidr_utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Writes cp (at most U+10FFFF) to out (4 bytes of room); returns the length. */
int sidr_utf8_encode(uint32_t cp, char *out);

/* How long the sequence led by byte b claims to be: 1 for ASCII and for
 * bytes that cannot lead (cursor movement steps over them one by one). */
int sidr_utf8_lead_len(unsigned char b);

/* Offset of the first invalid byte of s[0..n), or (size_t)-1 when all of it
 * is UTF-8. */
size_t sidr_utf8_invalid_at(const char *s, size_t n);

#endif
