/* SHA-256 (FIPS 180-4, section 6.2), for the library shim's self-check:
 * the digest MANIFEST.json records of every file. */
#ifndef EMBEDPACK_SHA256_H
#define EMBEDPACK_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define EMBEDPACK_SHA256_SIZE 32

struct embedpack_sha256 {
    uint32_t state[8];
    /* The message's length so far, in bytes. */
    uint64_t length;
    /* The bytes of the block not yet processed. */
    unsigned char block[64];
    size_t used;
};

void embedpack_sha256_init(struct embedpack_sha256 *sha);
void embedpack_sha256_update(struct embedpack_sha256 *sha, const void *data, size_t size);
void embedpack_sha256_final(struct embedpack_sha256 *sha,
                            unsigned char digest[EMBEDPACK_SHA256_SIZE]);

#endif
