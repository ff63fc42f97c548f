/* HMAC-SHA256 (RFC 2104) of many identifiers under one key, by OpenSSL's EVP interface.
 *
 * riskmap pseudonymises tens of millions of identifiers in a national load; in Python each
 * HMAC costs ~0.8 microseconds of interpreter work around OpenSSL's hashing. Here the keyed
 * inner and outer SHA-256 states are made once and copied per identifier, as riskmap's Python
 * path does, so the digests are the same (riskmap/sources/_hmac.py checks that before use).
 * Built by `make` (scripts/build-native); without it riskmap hashes in Python.
 */
#include <stdint.h>
#include <string.h>
#include <openssl/evp.h>

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
    unsigned int length;
    const EVP_MD *sha256 = EVP_sha256();
    EVP_MD_CTX *inner = EVP_MD_CTX_new(), *outer = EVP_MD_CTX_new(), *work = EVP_MD_CTX_new();
    int ok = inner && outer && work && width >= 1 && width <= DIGEST;

    /* a key longer than a block is hashed first (RFC 2104, section 2) */
    if (ok && key_len > BLOCK)
        ok = EVP_Digest(key, key_len, block, &length, sha256, NULL);
    else if (ok)
        memcpy(block, key, key_len);
    for (int j = 0; j < BLOCK; j++)
        pad[j] = block[j] ^ 0x36;
    ok = ok && EVP_DigestInit_ex(inner, sha256, NULL) && EVP_DigestUpdate(inner, pad, BLOCK)
         && EVP_DigestUpdate(inner, prefix, prefix_len);
    for (int j = 0; j < BLOCK; j++)
        pad[j] = block[j] ^ 0x5c;
    ok = ok && EVP_DigestInit_ex(outer, sha256, NULL) && EVP_DigestUpdate(outer, pad, BLOCK);
    for (int64_t i = 0; ok && i < n; i++) {
        ok = EVP_MD_CTX_copy_ex(work, inner)
             && EVP_DigestUpdate(work, data + offsets[i], (size_t)(offsets[i + 1] - offsets[i]))
             && EVP_DigestFinal_ex(work, digest, &length)
             && EVP_MD_CTX_copy_ex(work, outer)
             && EVP_DigestUpdate(work, digest, DIGEST)
             && EVP_DigestFinal_ex(work, digest, &length);
        if (ok)
            memcpy(out + i * width, digest, (size_t)width);
    }
    EVP_MD_CTX_free(inner);
    EVP_MD_CTX_free(outer);
    EVP_MD_CTX_free(work);
    memset(block, 0, BLOCK);
    memset(pad, 0, BLOCK);
    return ok ? 0 : -1;
}
