/* Plain decimal numbers of a text column, for the coordinates of tens of millions of records.
 *
 * riskmap/sources/_places.py (numbers) reads a cell as a number by a fast route when it is
 * plain: an optional sign, then one to nine digits, optionally followed by a decimal separator
 * and one to six digits, or one to six digits, the separator and seven to nine digits (at most
 * fifteen digits in all, so every reader gives the same double). It found them with two
 * regular expressions and Arrow's cast, ~1 s per column of ten million. Here one pass does
 * both: the digits are read as an integer (below 2^53, so exact) and divided by a power of ten
 * (exact up to 10^22), which IEEE division rounds correctly: the double float() and Arrow's
 * cast give. riskmap/sources/_plain.py loads it and checks known values; built by
 * scripts/build-native, without it riskmap uses the regular expressions.
 */
#include <stdint.h>

static const double POWERS[10] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

/* Whether text[0 .. length) is plain with `separator` (required unless `whole` numbers are
 * plain too), and then its value. */
static int plain(const unsigned char *text, int64_t length, unsigned char separator, int whole,
                 double *value) {
    int64_t i = 0, digits = 0, fraction = 0;
    int negative = 0;
    int64_t mantissa = 0;
    if (i < length && (text[i] == '+' || text[i] == '-'))
        negative = text[i++] == '-';
    for (; i < length && text[i] >= '0' && text[i] <= '9' && digits < 10; i++, digits++)
        mantissa = mantissa * 10 + (text[i] - '0');
    if (digits == 0 || digits > 9)
        return 0;
    if (i == length) {
        if (!whole)
            return 0;
    } else {
        if (text[i++] != separator)
            return 0;
        for (; i < length && text[i] >= '0' && text[i] <= '9' && fraction < 10; i++, fraction++)
            mantissa = mantissa * 10 + (text[i] - '0');
        if (i != length || fraction == 0 || fraction > 9 || (fraction > 6 && digits > 6))
            return 0;
    }
    *value = (double)mantissa / POWERS[fraction];
    if (negative)
        *value = -*value;
    return 1;
}

/* For each text i of an Arrow large string array (bytes `data`, `offsets`, validity bits
 * `valid` from bit `first`, or none): plain[i] = 1 and out[i] its value when it is plain with
 * a decimal point (or a whole number) or with a decimal comma; else plain[i] = 0. */
void riskmap_plain_numbers(const unsigned char *data, const int64_t *offsets,
                           const uint8_t *valid, int64_t first, int64_t n, double *out,
                           uint8_t *plain_out) {
    for (int64_t i = 0; i < n; i++) {
        int64_t bit = first + i;
        const unsigned char *text = data + offsets[i];
        int64_t length = offsets[i + 1] - offsets[i];
        double value = 0.0;
        int found = (!valid || (valid[bit >> 3] >> (bit & 7) & 1))
                    && (plain(text, length, '.', 1, &value)
                        || plain(text, length, ',', 0, &value));
        plain_out[i] = (uint8_t)found;
        out[i] = found ? value : 0.0;
    }
}
