/* A stand-in for libFuzzer's main where only gcc is at hand: runs a fuzz
 * target over every file of a corpus directory, then over a bounded
 * number of deterministic mutations of them (byte flips, truncations,
 * insertions, splices). Under the ASan+UBSan build this finds the same
 * class of bugs on a smaller budget; the real libFuzzer build is
 * `meson setup build-fuzz -Dfuzz=true` with clang. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FILES 256
#define FUZZ_MAX_INPUT (64 * 1024)

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t load(const char *dir, uint8_t **bufs, size_t *lens)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	char p[4096];

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < MAX_FILES) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		f = fopen(p, "rb");
		if (f == NULL)
			continue;
		bufs[n] = malloc(FUZZ_MAX_INPUT);
		lens[n] = fread(bufs[n], 1, FUZZ_MAX_INPUT, f);
		fclose(f);
		n++;
	}
	closedir(d);
	return n;
}

static size_t mutate(uint8_t *m, size_t len, const uint8_t *other, size_t olen)
{
	unsigned ops = 1 + (unsigned)(next_rand() % 4);

	for (unsigned k = 0; k < ops; k++) {
		size_t pos = len ? (size_t)(next_rand() % len) : 0;

		switch (next_rand() % 5) {
		case 0:
			if (len)
				m[pos] ^= (uint8_t)(1u << (next_rand() % 8));
			break;
		case 1:
			if (len)
				m[pos] = (uint8_t)next_rand();
			break;
		case 2:
			len = pos;
			break;
		case 3:
			if (len < FUZZ_MAX_INPUT) {
				memmove(m + pos + 1, m + pos, len - pos);
				m[pos] = "\r\n:\0 \"{}[],"[next_rand() % 11];
				len++;
			}
			break;
		default:
			if (olen > 0) {
				size_t take = (size_t)(next_rand() % olen);

				if (pos + take > FUZZ_MAX_INPUT)
					take = FUZZ_MAX_INPUT - pos;
				memcpy(m + pos, other + (olen - take), take);
				len = pos + take;
			}
			break;
		}
	}
	return len;
}

int main(int argc, char **argv)
{
	uint8_t *bufs[MAX_FILES], *m;
	size_t lens[MAX_FILES], n;
	unsigned long runs;

	if (argc != 3) {
		fprintf(stderr, "usage: %s CORPUS_DIR MUTATIONS\n", argv[0]);
		return 2;
	}
	runs = strtoul(argv[2], NULL, 10);
	n = load(argv[1], bufs, lens);
	if (n == 0) {
		fprintf(stderr, "%s: empty corpus\n", argv[1]);
		return 2;
	}
	m = malloc(FUZZ_MAX_INPUT);
	for (size_t i = 0; i < n; i++)
		LLVMFuzzerTestOneInput(bufs[i], lens[i]);
	for (unsigned long r = 0; r < runs; r++) {
		size_t a = (size_t)(next_rand() % n), b = (size_t)(next_rand() % n), len;

		memcpy(m, bufs[a], lens[a]);
		len = mutate(m, lens[a], bufs[b], lens[b]);
		/* An exact-size copy so that ASan catches reads past the end. */
		uint8_t *exact = malloc(len ? len : 1);
		memcpy(exact, m, len);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	for (size_t i = 0; i < n; i++)
		free(bufs[i]);
	free(m);
	printf("%zu corpus inputs and %lu mutations: 1 passed, 0 failed\n", n, runs);
	return 0;
}
