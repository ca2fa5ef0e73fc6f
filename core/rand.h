/*
 * A small seedable pseudo-random generator (xoshiro128**, seeded through
 * splitmix64) for bot behaviour: reproducible runs from one seed, 16 bytes
 * of state per user. Not for secrets: nonces come from the CSPRNG.
 */
#ifndef XB_RAND_H
#define XB_RAND_H

#include <stdint.h>

struct xb_rand {
    uint32_t s[4];
};

/* Seeds r from seed and a stream number (e.g. a bot's index), so that
 * every bot of a run gets its own reproducible sequence. */
void xb_rand_seed(struct xb_rand *r, uint64_t seed, uint64_t stream);

/* The next 32 random bits. */
uint32_t xb_rand_next(struct xb_rand *r);

/* A uniform value in [lo, hi] (inclusive; lo <= hi), without modulo
 * bias. */
uint32_t xb_rand_range(struct xb_rand *r, uint32_t lo, uint32_t hi);

#endif
