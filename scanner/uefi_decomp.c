/* The decompressors of UEFI sections: LZMA (the LZMA SDK's "alone" format
 * EDK2 writes, and its x86 BCJ variant) through liblzma, Brotli through
 * libbrotli, and the EFI/Tiano compression of the UEFI specification
 * ("Compression Algorithm Specification": an LZ77 window coded with three
 * Huffman sets per block), which no Debian library implements, written
 * here from the specification with every table, index and length checked.
 * Inputs are hostile: every output is bounded by its caller's cap, and a
 * stream that needs more input than it has is corrupt, never padded into
 * a "successful" result. */
#include <stdlib.h>
#include <string.h>

#include <brotli/decode.h>
#include <lzma.h>

#include "scanner/uefi.h"

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ------------------------------------------------------------ LZMA */

/* 13 bytes: the properties (5) and the uncompressed size (8, all ones
 * when unknown). */
#define LZMA_HEADER 13
#define LZMA_MEMLIMIT (256u * 1024 * 1024)

static enum uefi_decomp_result lzma_run(lzma_stream *s, const uint8_t *in, size_t len, uint8_t *out,
					size_t out_len, bool need_end, struct fw_err *err)
{
	lzma_ret r;

	s->next_in = in;
	s->avail_in = len;
	s->next_out = out;
	s->avail_out = out_len;
	r = lzma_code(s, LZMA_FINISH);
	if (r == LZMA_STREAM_END || (!need_end && r == LZMA_OK && s->avail_out == 0)) {
		if (s->avail_out != 0) {
			fw_err_set(err, "the LZMA stream ends after %zu of its %zu bytes", out_len - s->avail_out,
				   out_len);
			return UEFI_DECOMP_CORRUPT;
		}
		return UEFI_DECOMP_OK;
	}
	if (r == LZMA_OK || r == LZMA_BUF_ERROR)
		fw_err_set(err, "the LZMA stream is truncated or longer than its declared size");
	else if (r == LZMA_MEMLIMIT_ERROR || r == LZMA_MEM_ERROR)
		fw_err_set(err, "the LZMA stream needs more memory than the limit of %u MiB", LZMA_MEMLIMIT >> 20);
	else
		fw_err_set(err, "the LZMA stream is corrupt (liblzma error %d)", (int)r);
	return UEFI_DECOMP_CORRUPT;
}

enum uefi_decomp_result uefi_lzma(const uint8_t *in, size_t len, bool x86, size_t cap, uint8_t **out,
				  size_t *out_len, struct fw_err *err)
{
	lzma_stream s = LZMA_STREAM_INIT;
	enum uefi_decomp_result rc;
	uint64_t size;
	uint8_t *buf;

	*out = NULL;
	*out_len = 0;
	if (len < LZMA_HEADER) {
		fw_err_set(err, "the LZMA stream is shorter than its header");
		return UEFI_DECOMP_CORRUPT;
	}
	size = le64(in + 5);
	if (size == UINT64_MAX) {
		/* EDK2 always writes the size; an unknown one would make the
		 * output unbounded but for the cap. */
		fw_err_set(err, "the LZMA stream does not declare its size");
		return UEFI_DECOMP_CORRUPT;
	}
	if (size > cap) {
		fw_err_set(err, "the LZMA stream declares %llu bytes, over the limit of %zu",
			   (unsigned long long)size, cap);
		return UEFI_DECOMP_TOO_LARGE;
	}
	buf = malloc(size > 0 ? (size_t)size : 1);
	if (buf == NULL) {
		fw_err_set(err, "out of memory for %llu decompressed bytes", (unsigned long long)size);
		return UEFI_DECOMP_CORRUPT;
	}
	if (!x86) {
		if (lzma_alone_decoder(&s, LZMA_MEMLIMIT) != LZMA_OK) {
			fw_err_set(err, "cannot start the LZMA decoder");
			rc = UEFI_DECOMP_CORRUPT;
		} else {
			rc = lzma_run(&s, in, len, buf, (size_t)size, false, err);
		}
	} else {
		/* The x86 variant: the same header, LZMA1 then the x86 branch
		 * converter (BCJ), as EDK2's LzmaArchCustomDecompressLib. */
		lzma_filter filters[3] = { { .id = LZMA_FILTER_X86 }, { .id = LZMA_FILTER_LZMA1 },
					   { .id = LZMA_VLI_UNKNOWN } };

		if (lzma_properties_decode(&filters[1], NULL, in, 5) != LZMA_OK) {
			fw_err_set(err, "the LZMA stream's properties are invalid");
			rc = UEFI_DECOMP_CORRUPT;
		} else if (((lzma_options_lzma *)filters[1].options)->dict_size > LZMA_MEMLIMIT ||
			   lzma_raw_decoder(&s, filters) != LZMA_OK) {
			fw_err_set(err, "cannot start the LZMA x86 decoder for these properties");
			rc = UEFI_DECOMP_CORRUPT;
		} else {
			rc = lzma_run(&s, in + LZMA_HEADER, len - LZMA_HEADER, buf, (size_t)size, false, err);
		}
		free(filters[1].options);
	}
	lzma_end(&s);
	if (rc != UEFI_DECOMP_OK) {
		free(buf);
		return rc;
	}
	*out = buf;
	*out_len = (size_t)size;
	return UEFI_DECOMP_OK;
}

/* ------------------------------------------------------------ Brotli */

#define BROTLI_UEFI_HEADER 16

enum uefi_decomp_result uefi_brotli(const uint8_t *in, size_t len, size_t cap, uint8_t **out, size_t *out_len,
				    struct fw_err *err)
{
	uint64_t size;
	size_t got;
	uint8_t *buf;

	*out = NULL;
	*out_len = 0;
	if (len < BROTLI_UEFI_HEADER) {
		fw_err_set(err, "the Brotli section is shorter than its header");
		return UEFI_DECOMP_CORRUPT;
	}
	size = le64(in);
	if (size > cap) {
		fw_err_set(err, "the Brotli stream declares %llu bytes, over the limit of %zu",
			   (unsigned long long)size, cap);
		return UEFI_DECOMP_TOO_LARGE;
	}
	buf = malloc(size > 0 ? (size_t)size : 1);
	if (buf == NULL) {
		fw_err_set(err, "out of memory for %llu decompressed bytes", (unsigned long long)size);
		return UEFI_DECOMP_CORRUPT;
	}
	got = (size_t)size;
	if (BrotliDecoderDecompress(len - BROTLI_UEFI_HEADER, in + BROTLI_UEFI_HEADER, &got, buf) !=
		    BROTLI_DECODER_RESULT_SUCCESS ||
	    got != size) {
		free(buf);
		fw_err_set(err, "the Brotli stream is corrupt, truncated or not of its declared size");
		return UEFI_DECOMP_CORRUPT;
	}
	*out = buf;
	*out_len = got;
	return UEFI_DECOMP_OK;
}

/* ------------------------------------------------------------ EFI/Tiano */

#define E_BITBUFSIZ 32
#define E_MAXMATCH 256
#define E_THRESHOLD 3
#define E_CODE_BIT 16
#define E_NC (0xff + E_MAXMATCH + 2 - E_THRESHOLD) /* 510 symbols: bytes, then lengths */
#define E_CBIT 9
#define E_NT (E_CODE_BIT + 3)                      /* 19: the code-length set */
#define E_TBIT 5
#define E_MAXPBIT 5
#define E_MAXNP ((1u << E_MAXPBIT) - 1)            /* 31 position symbols at most */
#define E_NPT E_MAXNP
#define E_NODES (2 * E_NC - 1)
/* Bytes the bit buffer may read past the stream's end (its look-ahead). */
#define E_SLACK 4

struct efi {
	const uint8_t *src;
	size_t src_len, in;
	size_t past_end;          /* bytes "read" beyond the stream: zeros */
	uint32_t bitbuf, subbitbuf;
	unsigned bitcount;
	uint8_t *dst;
	size_t orig, out;
	unsigned pbit;
	unsigned block_size;
	bool bad;
	uint16_t left[E_NODES], right[E_NODES];
	uint8_t clen[E_NC], ptlen[E_NPT];
	uint16_t ctable[4096], pttable[256];
};

static void fill_buf(struct efi *e, unsigned n)
{
	e->bitbuf = n >= 32 ? 0 : e->bitbuf << n;
	while (n > e->bitcount) {
		n -= e->bitcount;
		e->bitbuf |= n >= 32 ? 0 : e->subbitbuf << n;
		if (e->in < e->src_len) {
			e->subbitbuf = e->src[e->in++];
		} else {
			e->subbitbuf = 0;
			e->past_end++;
		}
		e->bitcount = 8;
	}
	e->bitcount -= n;
	e->bitbuf |= e->subbitbuf >> e->bitcount;
}

static uint32_t get_bits(struct efi *e, unsigned n)
{
	uint32_t v = n == 0 ? 0 : e->bitbuf >> (E_BITBUFSIZ - n);

	fill_buf(e, n);
	return v;
}

/* A canonical Huffman table from code lengths (0..16): direct entries
 * for codes up to table_bits, a tree in left/right for longer ones. */
static bool make_table(struct efi *e, unsigned nchar, const uint8_t *bitlen, unsigned table_bits, uint16_t *table,
		       unsigned table_size)
{
	uint32_t count[17] = { 0 }, weight[17], start[18];
	unsigned jubits = 16 - table_bits, avail = nchar;
	uint32_t mask = 1u << (15 - table_bits);

	for (unsigned i = 0; i < nchar; i++) {
		if (bitlen[i] > 16)
			return false;
		count[bitlen[i]]++;
	}
	start[0] = start[1] = 0;
	for (unsigned i = 1; i <= 16; i++)
		start[i + 1] = start[i] + (count[i] << (16 - i));
	if (start[17] != 1u << 16)
		return false; /* not a complete prefix code */
	for (unsigned i = 1; i <= table_bits; i++) {
		start[i] >>= jubits;
		weight[i] = 1u << (table_bits - i);
	}
	for (unsigned i = table_bits + 1; i <= 16; i++)
		weight[i] = 1u << (16 - i);
	{
		uint32_t from = start[table_bits + 1] >> jubits;

		for (uint32_t i = from; i < table_size; i++)
			table[i] = 0;
	}
	for (unsigned ch = 0; ch < nchar; ch++) {
		unsigned len = bitlen[ch];
		uint32_t next;

		if (len == 0)
			continue;
		next = start[len] + weight[len];
		if (len <= table_bits) {
			if (next > table_size)
				return false;
			for (uint32_t i = start[len]; i < next; i++)
				table[i] = (uint16_t)ch;
		} else {
			uint32_t idx3 = start[len];
			uint16_t *ptr;

			if ((idx3 >> jubits) >= table_size)
				return false;
			ptr = &table[idx3 >> jubits];
			for (unsigned i = len - table_bits; i > 0; i--) {
				if (*ptr == 0) {
					if (avail >= E_NODES)
						return false;
					e->right[avail] = e->left[avail] = 0;
					*ptr = (uint16_t)avail++;
				}
				if (*ptr >= E_NODES)
					return false;
				ptr = (idx3 & mask) ? &e->right[*ptr] : &e->left[*ptr];
				idx3 = (idx3 << 1) & 0xffff;
			}
			*ptr = (uint16_t)ch;
		}
		start[len] = next;
	}
	return true;
}

/* Follows the tree below a table entry: at most 16 levels. */
static unsigned walk_tree(struct efi *e, unsigned val, unsigned limit, unsigned table_bits)
{
	uint32_t mask = 1u << (E_BITBUFSIZ - 1 - table_bits);

	for (unsigned guard = 0; val >= limit; guard++) {
		if (guard >= 16 || val >= E_NODES || mask == 0) {
			e->bad = true;
			return 0;
		}
		val = (e->bitbuf & mask) ? e->right[val] : e->left[val];
		mask >>= 1;
	}
	return val;
}

static bool read_pt_len(struct efi *e, unsigned nn, unsigned nbit, int special)
{
	unsigned number = get_bits(e, nbit), i = 0;

	if (number == 0) {
		/* One code only, zero bits long. */
		unsigned c = get_bits(e, nbit);

		if (c >= nn)
			return false;
		for (unsigned k = 0; k < 256; k++)
			e->pttable[k] = (uint16_t)c;
		memset(e->ptlen, 0, sizeof(e->ptlen));
		return true;
	}
	if (number > nn)
		return false;
	while (i < number) {
		unsigned c = e->bitbuf >> (E_BITBUFSIZ - 3);

		if (c == 7) {
			/* Lengths of 7 and more: 7 plus a run of ones. */
			uint32_t mask = 1u << (E_BITBUFSIZ - 1 - 3);

			while (mask & e->bitbuf) {
				mask >>= 1;
				if (++c > 16)
					return false;
			}
		}
		fill_buf(e, c < 7 ? 3 : c - 3);
		e->ptlen[i++] = (uint8_t)c;
		if ((int)i == special) {
			int zeros = (int)get_bits(e, 2);

			while (zeros-- > 0) {
				if (i >= E_NPT)
					return false;
				e->ptlen[i++] = 0;
			}
		}
	}
	while (i < nn)
		e->ptlen[i++] = 0;
	return make_table(e, nn, e->ptlen, 8, e->pttable, 256);
}

static bool read_c_len(struct efi *e)
{
	unsigned number = get_bits(e, E_CBIT), i = 0;

	if (number == 0) {
		unsigned c = get_bits(e, E_CBIT);

		if (c >= E_NC)
			return false;
		memset(e->clen, 0, sizeof(e->clen));
		for (unsigned k = 0; k < 4096; k++)
			e->ctable[k] = (uint16_t)c;
		return true;
	}
	if (number > E_NC)
		return false;
	while (i < number) {
		unsigned c = walk_tree(e, e->pttable[e->bitbuf >> (E_BITBUFSIZ - 8)], E_NT, 8);

		if (e->bad || c >= E_NT)
			return false;
		fill_buf(e, e->ptlen[c]);
		if (c <= 2) {
			/* Runs of zero lengths. */
			unsigned zeros = c == 0 ? 1 : c == 1 ? get_bits(e, 4) + 3 : get_bits(e, E_CBIT) + 20;

			if (zeros > E_NC - i)
				return false;
			memset(e->clen + i, 0, zeros);
			i += zeros;
		} else {
			e->clen[i++] = (uint8_t)(c - 2);
		}
	}
	memset(e->clen + i, 0, E_NC - i);
	return make_table(e, E_NC, e->clen, 12, e->ctable, 4096);
}

static unsigned decode_c(struct efi *e)
{
	unsigned c;

	if (e->block_size == 0) {
		e->block_size = get_bits(e, 16);
		if (e->block_size == 0 || !read_pt_len(e, E_NT, E_TBIT, 3) || !read_c_len(e) ||
		    !read_pt_len(e, E_MAXNP, e->pbit, -1)) {
			e->bad = true;
			return 0;
		}
	}
	e->block_size--;
	c = walk_tree(e, e->ctable[e->bitbuf >> (E_BITBUFSIZ - 12)], E_NC, 12);
	if (e->bad || c >= E_NC) {
		e->bad = true;
		return 0;
	}
	fill_buf(e, e->clen[c]);
	return c;
}

static uint32_t decode_p(struct efi *e)
{
	unsigned v = walk_tree(e, e->pttable[e->bitbuf >> (E_BITBUFSIZ - 8)], E_MAXNP, 8);

	if (e->bad || v >= E_MAXNP) {
		e->bad = true;
		return 0;
	}
	fill_buf(e, e->ptlen[v]);
	return v > 1 ? (1u << (v - 1)) + get_bits(e, v - 1) : v;
}

enum uefi_decomp_result uefi_efi(const uint8_t *in, size_t len, bool tiano, size_t cap, uint8_t **out,
				 size_t *out_len, struct fw_err *err)
{
	uint32_t comp, orig;
	struct efi *e;
	uint8_t *buf;

	*out = NULL;
	*out_len = 0;
	if (len < 8) {
		fw_err_set(err, "the compressed section is shorter than its header");
		return UEFI_DECOMP_CORRUPT;
	}
	comp = le32(in);
	orig = le32(in + 4);
	if ((uint64_t)comp + 8 > len) {
		fw_err_set(err, "the compressed stream declares %u bytes but has %zu", comp, len - 8);
		return UEFI_DECOMP_CORRUPT;
	}
	if (orig > cap) {
		fw_err_set(err, "the compressed stream declares %u bytes, over the limit of %zu", orig, cap);
		return UEFI_DECOMP_TOO_LARGE;
	}
	e = calloc(1, sizeof(*e));
	buf = malloc(orig > 0 ? orig : 1);
	if (e == NULL || buf == NULL) {
		free(e);
		free(buf);
		fw_err_set(err, "out of memory for %u decompressed bytes", orig);
		return UEFI_DECOMP_CORRUPT;
	}
	e->src = in + 8;
	e->src_len = comp;
	e->dst = buf;
	e->orig = orig;
	e->pbit = tiano ? 5 : 4;
	fill_buf(e, E_BITBUFSIZ);
	while (e->out < e->orig && !e->bad) {
		unsigned c = decode_c(e);

		if (e->bad)
			break;
		if (c < 256) {
			e->dst[e->out++] = (uint8_t)c;
		} else {
			size_t n = c - (256 - E_THRESHOLD);
			uint32_t back = decode_p(e) + 1;

			if (e->bad || back > e->out) {
				e->bad = true;
				break;
			}
			for (size_t from = e->out - back; n > 0 && e->out < e->orig; n--)
				e->dst[e->out++] = e->dst[from++];
		}
		if (e->past_end > E_SLACK)
			e->bad = true; /* it needs bytes the stream does not have */
	}
	if (e->bad) {
		fw_err_set(err, "the %s compressed stream is corrupt or truncated (after %zu of %u bytes)",
			   tiano ? "Tiano" : "EFI", e->out, orig);
		free(e);
		free(buf);
		return UEFI_DECOMP_CORRUPT;
	}
	free(e);
	*out = buf;
	*out_len = orig;
	return UEFI_DECOMP_OK;
}
