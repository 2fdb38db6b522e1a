/*
 * fuzz_config.c: libFuzzer target for the config parser. config_load takes
 * a path, so each input is written to one temporary file, made at the first
 * call and rewritten every time; errors go to /dev/null so that the message
 * formatting runs too. The input, cut at its first NUL, is also given to
 * config_parse_duration.
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -Idaemon -fsanitize=fuzzer,address,undefined \
 *       tests/fuzz/fuzz_config.c daemon/config.c daemon/domain.c -linih -o fuzz_config
 *   ./fuzz_config -max_total_time=60 CORPUS_DIR config/
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[] = "/tmp/fuzz_config.XXXXXX";
static int fd = -1;
static FILE *devnull;
static struct config cfg;        /* large: kept off the stack */

static void
fuzz_cleanup(void)
{
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[64];
	int64_t d;
	size_t n;

	if (fd < 0) {
		if ((fd = mkstemp(path)) < 0 || (devnull = fopen("/dev/null", "w")) == NULL) {
			perror("fuzz_config: setup");
			abort();
		}
		atexit(fuzz_cleanup);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) {
		perror("fuzz_config: write");
		abort();
	}
	(void)config_load(path, &cfg, devnull);

	n = strnlen((const char *)data, size < sizeof(text) - 1 ? size : sizeof(text) - 1);
	memcpy(text, data, n);
	text[n] = '\0';
	(void)config_parse_duration(text, &d);
	return 0;
}
