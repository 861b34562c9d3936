/* SHA-256's compression function with the x86 SHA extensions.  The
 * eight words of state live in two registers, as the instructions take
 * them: ABEF and CDGH (A in the highest lane).  SHA256RNDS2 does two
 * rounds, given W[t] + K[t] for both in the two low lanes; SHA256MSG1
 * and SHA256MSG2 compute four words of the message schedule (section
 * 6.2.2, step 1): W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16].
 * Elsewhere, and where the processor lacks them, the file defines
 * functions that say so. */
#include "sha256_x86.h"

#if defined(__x86_64__) && !defined(EMBEDPACK_SHA256_PORTABLE)
#include <cpuid.h>
#include <immintrin.h>

int embedpack_sha256_x86_available(void)
{
    /* 0 not asked yet, 1 yes, 2 no. */
    static int available;
    unsigned a, b, c, d;

    if (available == 0) {
        int sha = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
        int sse = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSSE3) && (c & bit_SSE4_1);

        available = sha && sse ? 1 : 2;
    }
    return available == 1;
}

__attribute__((target("sha,ssse3,sse4.1"))) void
embedpack_sha256_x86_process(uint32_t state[8], const unsigned char *block, const uint32_t k[64])
{
    /* Swaps the bytes of each 32-bit lane: the words are big-endian. */
    const __m128i big_endian = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i abef, cdgh, saved_abef, saved_cdgh, w[4], wk, dcba, hgfe;
    int i;

    /* From a..h in memory to ABEF and CDGH. */
    dcba = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xb1);
    hgfe = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1b);
    abef = _mm_alignr_epi8(dcba, hgfe, 8);
    cdgh = _mm_blend_epi16(hgfe, dcba, 0xf0);
    saved_abef = abef, saved_cdgh = cdgh;

    /* Sixteen times four rounds; w[i % 4] holds W[4i .. 4i+3]. */
    for (i = 0; i < 16; i++) {
        if (i < 4) {
            w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 16 * i)), big_endian);
        } else {
            /* W[4i-16..] + s0(W[4i-15..]), + W[4i-7..], + s1(W[4i-2..]). */
            __m128i next = _mm_sha256msg1_epu32(w[i % 4], w[(i + 1) % 4]);

            next = _mm_add_epi32(next, _mm_alignr_epi8(w[(i + 3) % 4], w[(i + 2) % 4], 4));
            w[i % 4] = _mm_sha256msg2_epu32(next, w[(i + 3) % 4]);
        }
        wk = _mm_add_epi32(w[i % 4], _mm_loadu_si128((const __m128i *)&k[4 * i]));
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
        abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0e));
    }
    abef = _mm_add_epi32(abef, saved_abef);
    cdgh = _mm_add_epi32(cdgh, saved_cdgh);

    /* Back to a..h. */
    abef = _mm_shuffle_epi32(abef, 0x1b);
    cdgh = _mm_shuffle_epi32(cdgh, 0xb1);
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(abef, cdgh, 0xf0));
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(cdgh, abef, 8));
}
#else
int embedpack_sha256_x86_available(void)
{
    return 0;
}

void embedpack_sha256_x86_process(uint32_t state[8], const unsigned char *block, const uint32_t k[64])
{
    (void)state, (void)block, (void)k;
}
#endif
