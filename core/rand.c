/*
 * xoshiro128** by Blackman and Vigna (public domain algorithm), seeded
 * with splitmix64 so that any 64-bit seed gives a well-mixed state.
 */
#include "rand.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void xb_rand_seed(struct xb_rand *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ULL);
    uint64_t a = splitmix64(&x), b = splitmix64(&x);

    r->s[0] = (uint32_t)a;
    r->s[1] = (uint32_t)(a >> 32);
    r->s[2] = (uint32_t)b;
    r->s[3] = (uint32_t)(b >> 32);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        r->s[0] = 1; /* the all-zero state is a fixed point */
}

static uint32_t rotl(uint32_t x, int k)
{
    return (x << k) | (x >> (32 - k));
}

uint32_t xb_rand_next(struct xb_rand *r)
{
    uint32_t *s = r->s;
    uint32_t out = rotl(s[1] * 5, 7) * 9;
    uint32_t t = s[1] << 9;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return out;
}

uint32_t xb_rand_range(struct xb_rand *r, uint32_t lo, uint32_t hi)
{
    uint32_t span = hi - lo + 1, floor, x;

    if (span == 0) /* the whole 32-bit range */
        return xb_rand_next(r);
    /* 2^32 mod span values at the bottom would make some results more
     * likely than others: draw again when we land there. */
    floor = (uint32_t)(-span) % span;
    do {
        x = xb_rand_next(r);
    } while (x < floor);
    return lo + x % span;
}
