// Exact sums of numerics (see exact_sum.hpp).
#include "pg/exact_sum.hpp"

#include "pg/guard.hpp"

#include <algorithm>
#include <cstring>

namespace llmtrace::pg {

namespace {

__int128 pow10_128(int i);
Datum numeric_of_atto(__int128 atto, int dscale);
bool numeric_to_atto(Datum d, __int128& out, int& dscale);

}  // namespace

Datum numeric_of(__int128 v) {
    static Datum zero = (Datum)0;
    if (v == 0) {
        if (zero == (Datum)0) {
            MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
            zero = NumericGetDatum(int64_to_numeric(0));
            MemoryContextSwitchTo(old);
        }
        return zero;
    }
    if (v >= INT64_MIN && v <= INT64_MAX) return NumericGetDatum(int64_to_numeric(int64(v)));
    char digits[48];
    char* p = digits + sizeof digits;
    *--p = '\0';
    bool negative = v < 0;
    unsigned __int128 u = negative ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    do {
        *--p = char('0' + int(u % 10));
        u /= 10;
    } while (u != 0);
    if (negative) *--p = '-';
    return DirectFunctionCall3(numeric_in, CStringGetDatum(p), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

namespace {

// 10^i, i in [0, 38].
__int128 pow10_128(int i) {
    static __int128 table[39];
    if (table[0] == 0) {
        table[0] = 1;
        for (int k = 1; k < 39; ++k) table[k] = table[k - 1] * 10;
    }
    return table[i];
}

// A numeric as an integer of 1e-18 units and its display scale, read from
// its stored form (see PostgreSQL's numeric.c: a short or long header, then
// base-10000 digits); false for NaN, infinities, more than 18 decimals or
// 10^20 and more.
bool numeric_to_atto(Datum d, __int128& out, int& dscale) {
    struct varlena* v = reinterpret_cast<struct varlena*>(DatumGetPointer(d));
    if (VARATT_IS_EXTENDED(v) && !VARATT_IS_SHORT(v)) return false;  // compressed or external: not here
    const char* p = VARDATA_ANY(v);
    const size_t len = VARSIZE_ANY_EXHDR(v);
    if (len < 2) return false;
    uint16 header;
    std::memcpy(&header, p, 2);
    int sign, weight;
    size_t first;
    if ((header & 0xC000) == 0xC000) return false;  // NaN, +-Infinity
    if (header & 0x8000) {                           // short format
        sign = (header & 0x2000) ? -1 : 1;
        dscale = (header & 0x1F80) >> 7;
        weight = (header & 0x0040) ? int(~0x003F | (header & 0x003F)) : int(header & 0x003F);
        first = 2;
    } else {
        if (len < 4) return false;
        sign = (header & 0x4000) ? -1 : 1;
        dscale = header & 0x3FFF;
        int16 w;
        std::memcpy(&w, p + 2, 2);
        weight = w;
        first = 4;
    }
    if (dscale > 18 || weight > 4) return false;
    __int128 acc = 0;
    const size_t ndigits = (len - first) / 2;
    for (size_t i = 0; i < ndigits; ++i) {
        int16 digit;
        std::memcpy(&digit, p + first + 2 * i, 2);
        if (digit < 0 || digit >= 10000) return false;
        const int e = 4 * (weight - int(i)) + 18;  // the digit's power of ten in 1e-18 units
        if (e >= 0) {
            acc += __int128(digit) * pow10_128(e);
        } else {
            if (e < -4 || digit % int(pow10_128(-e)) != 0) return false;
            acc += digit / int(pow10_128(-e));
        }
    }
    out = sign < 0 ? -acc : acc;
    return true;
}

// The numeric of `atto` 1e-18 units with `dscale` decimals (atto is a
// multiple of 10^(18 - dscale)), as numeric_in would make it from its text:
// built in the stored form of PostgreSQL's numeric.c (short header, base-10000
// digits without leading or trailing zero digits), or through numeric_in
// where that does not apply.
Datum numeric_of_atto_text(__int128 atto, int dscale) {
    char digits[64];
    char* p = digits + sizeof digits;
    *--p = '\0';
    const bool negative = atto < 0;
    unsigned __int128 u = negative ? (unsigned __int128)(-(atto + 1)) + 1 : (unsigned __int128)atto;
    u /= (unsigned __int128)pow10_128(18 - dscale);
    for (int k = 0; k < dscale; ++k) {
        *--p = char('0' + int(u % 10));
        u /= 10;
    }
    if (dscale > 0) *--p = '.';
    do {
        *--p = char('0' + int(u % 10));
        u /= 10;
    } while (u != 0);
    if (negative) *--p = '-';
    return DirectFunctionCall3(numeric_in, CStringGetDatum(p), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

Datum numeric_of_atto(__int128 atto, int dscale) {
    const bool negative = atto < 0;
    unsigned __int128 u = negative ? (unsigned __int128)(-(atto + 1)) + 1 : (unsigned __int128)atto;
    // m = |value| x 10000^groups, groups = the base-10000 digits after the point
    const int groups = (dscale + 3) / 4;
    if (4 * groups <= 18) {
        u /= (unsigned __int128)pow10_128(18 - 4 * groups);
    } else {
        if (u >= (unsigned __int128)pow10_128(36)) return numeric_of_atto_text(atto, dscale);
        u *= (unsigned __int128)pow10_128(4 * groups - 18);
    }
    uint16 d[16];  // least significant first
    int n = 0;
    while (u != 0) {
        d[n++] = uint16(u % 10000);
        u /= 10000;
    }
    int low = 0;  // trailing zero digits are not stored
    while (low < n && d[low] == 0) ++low;
    const int ndigits = n - low;
    const int weight = ndigits == 0 ? 0 : n - 1 - groups;
    const size_t len = VARHDRSZ + sizeof(uint16) + sizeof(int16) * size_t(ndigits);
    char* result = static_cast<char*>(palloc(len));
    SET_VARSIZE(result, len);
    const uint16 header = uint16(0x8000 | (negative && ndigits > 0 ? 0x2000 : 0) | (dscale << 7) |
                                 (weight < 0 ? 0x0040 : 0) | (weight & 0x003F));
    std::memcpy(result + VARHDRSZ, &header, sizeof header);
    for (int i = 0; i < ndigits; ++i) {
        const int16 digit = int16(d[n - 1 - i]);
        std::memcpy(result + VARHDRSZ + sizeof(uint16) + sizeof(int16) * size_t(i), &digit, sizeof digit);
    }
    return PointerGetDatum(result);
}

}  // namespace

void ExactSum::add(Datum v, MemoryContext cxt) {
    __int128 a = 0;
    int ds = 0;
    if (!numeric && numeric_to_atto(v, a, ds)) {
        __int128 total;
        if (!__builtin_add_overflow(atto, a, &total) && (total < 0 ? -total : total) < pow10_128(38)) {
            atto = total;
            dscale = std::max(dscale, ds);
            any = true;
            return;
        }
    }
    // Past what 1e-18 units hold: numeric from here on.
    pg_guard([&] {
        MemoryContext old = MemoryContextSwitchTo(cxt);
        if (!numeric)
            value = any ? DirectFunctionCall2(numeric_add, numeric_of_atto(atto, dscale), v) : datumCopy(v, false, -1);
        else
            value = DirectFunctionCall2(numeric_add, value, v);
        MemoryContextSwitchTo(old);
    });
    numeric = true;
    any = true;
}

Datum ExactSum::datum() const {
    if (numeric) return value;
    return any ? numeric_of_atto(atto, dscale) : numeric_of(0);
}

}  // namespace llmtrace::pg
