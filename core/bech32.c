/*
 * Bech32 (BIP 173, constant 1) as age uses it for `age1...` recipients
 * and `AGE-SECRET-KEY-1...` identities: 8-bit data in 5-bit groups,
 * one case throughout, no length limit (age's keys of other types are
 * longer than BIP 173's 90 characters).
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cairn.h"

static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t polymod_step(uint32_t c, unsigned v)
{
	static const uint32_t gen[5] = { 0x3b6a57b2, 0x26508e6d, 0x1ea119fa,
					 0x3d4233dd, 0x2a1462b3 };
	uint32_t b = c >> 25;

	c = ((c & 0x1ffffff) << 5) ^ v;
	for (int i = 0; i < 5; i++)
		if ((b >> i) & 1)
			c ^= gen[i];
	return c;
}

/* The checksum state over the lower-case hrp and the 5-bit values. */
static uint32_t polymod(const char *hrp, size_t hlen, const uint8_t *v,
			size_t n)
{
	uint32_t c = 1;

	for (size_t i = 0; i < hlen; i++)
		c = polymod_step(c, (unsigned)tolower((unsigned char)hrp[i])
					    >> 5);
	c = polymod_step(c, 0);
	for (size_t i = 0; i < hlen; i++)
		c = polymod_step(c, (unsigned)tolower((unsigned char)hrp[i])
					    & 31);
	for (size_t i = 0; i < n; i++)
		c = polymod_step(c, v[i]);
	return c;
}

/* Regroup bits; pad on encoding, require zero padding on decoding. */
static bool regroup(const uint8_t *in, size_t n, int from, int to,
		    bool pad, uint8_t *out, size_t *outn, size_t cap)
{
	uint32_t acc = 0, max = (1u << to) - 1;
	int bits = 0;

	*outn = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << from) | in[i];
		bits += from;
		while (bits >= to) {
			bits -= to;
			if (*outn == cap)
				return false;
			out[(*outn)++] = (acc >> bits) & max;
		}
	}
	if (pad && bits) {
		if (*outn == cap)
			return false;
		out[(*outn)++] = (acc << (to - bits)) & max;
	} else if (!pad && (bits >= from || ((acc << (to - bits)) & max))) {
		return false;
	}
	return true;
}

char *bech32_encode(const char *hrp, const uint8_t *data, size_t n,
		    bool upper)
{
	size_t hlen = strlen(hrp), nv, len;
	uint8_t *v = xmalloc(n * 8 / 5 + 8);
	char *s;
	uint32_t c;

	regroup(data, n, 8, 5, true, v, &nv, n * 8 / 5 + 2);
	memset(v + nv, 0, 6);
	c = polymod(hrp, hlen, v, nv + 6) ^ 1;
	for (int i = 0; i < 6; i++)
		v[nv + i] = (c >> (5 * (5 - i))) & 31;
	len = hlen + 1 + nv + 6;
	s = xmalloc(len + 1);
	for (size_t i = 0; i < hlen; i++)
		s[i] = (char)tolower((unsigned char)hrp[i]);
	s[hlen] = '1';
	for (size_t i = 0; i < nv + 6; i++)
		s[hlen + 1 + i] = charset[v[i]];
	s[len] = '\0';
	for (size_t i = 0; upper && i < len; i++)
		s[i] = (char)toupper((unsigned char)s[i]);
	free(v);
	return s;
}

/* One case, printable ASCII; the separator is the last '1'. */
static const char *split(const char *s, size_t len)
{
	bool lo = false, up = false;
	const char *sep = NULL;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 33 || ch > 126)
			return NULL;
		lo |= islower(ch) != 0;
		up |= isupper(ch) != 0;
		if (ch == '1')
			sep = s + i;
	}
	if (lo && up)
		return NULL;
	return sep;
}

int bech32_decode(const char *s, const char *hrp, uint8_t *data,
		  size_t cap, size_t *n)
{
	size_t len = strlen(s), hlen = strlen(hrp), nv;
	const char *sep = split(s, len);
	uint8_t *v;
	bool ok = false;

	if (!sep || (size_t)(sep - s) != hlen || strncasecmp(s, hrp, hlen) ||
	    len - hlen - 1 < 6)
		return -1;
	nv = len - hlen - 1;
	v = xmalloc(nv);
	for (size_t i = 0; i < nv; i++) {
		const char *p = strchr(charset,
				       tolower((unsigned char)sep[1 + i]));

		if (!p || !*p)
			goto out;
		v[i] = (uint8_t)(p - charset);
	}
	if (polymod(hrp, hlen, v, nv) != 1)
		goto out;
	ok = regroup(v, nv - 6, 5, 8, false, data, n, cap);
out:
	free(v);
	return ok ? 0 : -1;
}
