/* SHA-256's rounds with the x86 SHA extensions, where the processor has
 * them (sha256_x86.c). */
#ifndef EMBEDPACK_SHA256_X86_H
#define EMBEDPACK_SHA256_X86_H

#include <stdint.h>

/* Whether this processor has the SHA extensions (and SSSE3 and SSE4.1,
 * which the rounds also use); asked once. */
int embedpack_sha256_x86_available(void);
/* What sha256.c's process_portable() does to `state` with one block of
 * 64 bytes, given the 64 round constants `k`. */
void embedpack_sha256_x86_process(uint32_t state[8], const unsigned char *block,
                                  const uint32_t k[64]);

#endif
