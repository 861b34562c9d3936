/* SHA-256 as FIPS 180-4 defines it: the message is padded to a multiple
 * of 512 bits (a 1 bit, zeros, its length in bits as 64 big-endian
 * bits), and each 512-bit block goes through 64 rounds that update eight
 * 32-bit words of state (section 6.2.2).  Words are big-endian.  Where
 * the processor has the SHA extensions, the rounds are theirs
 * (sha256_x86.c): the self-check hashes megabytes before Python starts.
 * EMBEDPACK_SHA256_PORTABLE leaves them out. */
#include "sha256.h"

#include <string.h>

#include "sha256_x86.h"

/* The first 32 bits of the fractional parts of the cube roots of the
 * first 64 primes (section 4.2.2). */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* The first 32 bits of the fractional parts of the square roots of the
 * first 8 primes (section 5.3.3). */
static const uint32_t H0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/* The functions of section 4.1.2. */
#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define CH(x, y, z) (((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z) (((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))
#define BIG_SIGMA0(x) (ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define BIG_SIGMA1(x) (ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define SMALL_SIGMA0(x) (ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define SMALL_SIGMA1(x) (ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))

static uint32_t load_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void store_be32(unsigned char *p, uint32_t x)
{
    p[0] = (unsigned char)(x >> 24);
    p[1] = (unsigned char)(x >> 16);
    p[2] = (unsigned char)(x >> 8);
    p[3] = (unsigned char)x;
}

/* One block of 64 bytes (section 6.2.2). */
static void process_portable(uint32_t state[8], const unsigned char *block)
{
    uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
    int t;

    for (t = 0; t < 16; t++)
        w[t] = load_be32(block + 4 * t);
    for (t = 16; t < 64; t++)
        w[t] = SMALL_SIGMA1(w[t - 2]) + w[t - 7] + SMALL_SIGMA0(w[t - 15]) + w[t - 16];
    a = state[0], b = state[1], c = state[2], d = state[3];
    e = state[4], f = state[5], g = state[6], h = state[7];
    for (t = 0; t < 64; t++) {
        t1 = h + BIG_SIGMA1(e) + CH(e, f, g) + K[t] + w[t];
        t2 = BIG_SIGMA0(a) + MAJ(a, b, c);
        h = g, g = f, f = e, e = d + t1;
        d = c, c = b, b = a, a = t1 + t2;
    }
    state[0] += a, state[1] += b, state[2] += c, state[3] += d;
    state[4] += e, state[5] += f, state[6] += g, state[7] += h;
}

static void process(uint32_t state[8], const unsigned char *block)
{
#ifndef EMBEDPACK_SHA256_PORTABLE
    if (embedpack_sha256_x86_available()) {
        embedpack_sha256_x86_process(state, block, K);
        return;
    }
#endif
    process_portable(state, block);
}

void embedpack_sha256_init(struct embedpack_sha256 *sha)
{
    memcpy(sha->state, H0, sizeof H0);
    sha->length = 0;
    sha->used = 0;
}

void embedpack_sha256_update(struct embedpack_sha256 *sha, const void *data, size_t size)
{
    const unsigned char *bytes = data;

    sha->length += size;
    if (sha->used > 0) {
        size_t take = sizeof sha->block - sha->used;

        if (take > size)
            take = size;
        memcpy(sha->block + sha->used, bytes, take);
        sha->used += take, bytes += take, size -= take;
        if (sha->used < sizeof sha->block)
            return;
        process(sha->state, sha->block);
        sha->used = 0;
    }
    for (; size >= sizeof sha->block; bytes += sizeof sha->block, size -= sizeof sha->block)
        process(sha->state, bytes);
    memcpy(sha->block, bytes, size);
    sha->used = size;
}

/* Pads the message (section 5.1.1) and writes the digest. */
void embedpack_sha256_final(struct embedpack_sha256 *sha,
                            unsigned char digest[EMBEDPACK_SHA256_SIZE])
{
    uint64_t bits = sha->length * 8;
    int i;

    sha->block[sha->used++] = 0x80;
    if (sha->used > sizeof sha->block - 8) {
        memset(sha->block + sha->used, 0, sizeof sha->block - sha->used);
        process(sha->state, sha->block);
        sha->used = 0;
    }
    memset(sha->block + sha->used, 0, sizeof sha->block - 8 - sha->used);
    for (i = 0; i < 8; i++)
        sha->block[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
    process(sha->state, sha->block);
    for (i = 0; i < 8; i++)
        store_be32(digest + 4 * i, sha->state[i]);
}
