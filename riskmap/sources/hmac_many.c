/* HMAC-SHA256 (RFC 2104) of many identifiers under one key, by OpenSSL.
 *
 * riskmap pseudonymises tens of millions of identifiers in a national load; in Python each
 * HMAC costs ~0.8 microseconds of interpreter work around OpenSSL's hashing. Here the keyed
 * inner and outer SHA-256 states are made once and copied per identifier, as riskmap's Python
 * path does, so the digests are the same (riskmap/sources/_hmac.py checks that before use).
 * Built by `make` (scripts/build-native); without it riskmap hashes in Python.
 */
/* SHA256_Init and friends are deprecated in OpenSSL 3 in favour of EVP, but kept: through EVP
 * each identifier costs two context copies that allocate (205 ns an HMAC here), with the plain
 * context a copy is a struct assignment (140 ns); the hashing itself is the same (SHA-NI where
 * the processor has it). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <stdint.h>
#include <string.h>
#include <openssl/sha.h>

#define BLOCK 64
#define DIGEST 32

/* Writes the first `width` bytes of HMAC-SHA256(key, prefix + message i) for each message
 * data[offsets[i] .. offsets[i + 1]) to out[i * width ..]. Returns 0, or -1 when OpenSSL
 * fails or `width` is not 1 to 32. */
int riskmap_hmac_sha256_many(const unsigned char *key, size_t key_len,
                             const unsigned char *prefix, size_t prefix_len,
                             const unsigned char *data, const int64_t *offsets, int64_t n,
                             unsigned char *out, int width)
{
    unsigned char block[BLOCK] = {0}, pad[BLOCK], digest[DIGEST];
    SHA256_CTX inner, outer, work;
    int ok = width >= 1 && width <= DIGEST;

    /* a key longer than a block is hashed first (RFC 2104, section 2) */
    if (ok && key_len > BLOCK)
        ok = SHA256(key, key_len, block) != NULL;
    else if (ok)
        memcpy(block, key, key_len);
    for (int j = 0; j < BLOCK; j++)
        pad[j] = block[j] ^ 0x36;
    ok = ok && SHA256_Init(&inner) && SHA256_Update(&inner, pad, BLOCK)
         && SHA256_Update(&inner, prefix, prefix_len);
    for (int j = 0; j < BLOCK; j++)
        pad[j] = block[j] ^ 0x5c;
    ok = ok && SHA256_Init(&outer) && SHA256_Update(&outer, pad, BLOCK);
    for (int64_t i = 0; ok && i < n; i++) {
        work = inner;
        ok = SHA256_Update(&work, data + offsets[i], (size_t)(offsets[i + 1] - offsets[i]))
             && SHA256_Final(digest, &work);
        work = outer;
        ok = ok && SHA256_Update(&work, digest, DIGEST) && SHA256_Final(digest, &work);
        if (ok)
            memcpy(out + i * width, digest, (size_t)width);
    }
    /* nothing of the key is left behind on the stack */
    memset(block, 0, BLOCK);
    memset(pad, 0, BLOCK);
    memset(&inner, 0, sizeof inner);
    memset(&outer, 0, sizeof outer);
    memset(&work, 0, sizeof work);
    return ok ? 0 : -1;
}
