/*
 * fuzz_idnum.c: libFuzzer target for the parsers of ID numbers and dates,
 * both of which see customer and client input.
 *
 * libFuzzer hands over a heap buffer of exactly size bytes, so ASan flags
 * any read past len in idnum_parse. Beyond crashes, the target checks what
 * a valid result promises: a real birth date, not after today, an age that
 * is not negative, and a kind that matches the length. date_parse gets a
 * NUL-terminated copy, as it requires, and a date it accepts must format
 * back to the same ten characters.
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -Idaemon \
 *       -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_idnum.c \
 *       daemon/idnum.c daemon/bday.c daemon/domain.c -o fuzz_idnum
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bday.h"
#include "idnum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct date today = { 2026, 1, 15 };
	struct idnum_info info;
	struct date d;
	char *s;

	if (idnum_parse((const char *)data, size, today, &info) == 0) {
		if (!date_valid(info.birth) || date_cmp(info.birth, today) > 0)
			abort();
		if (idnum_age_on(info.birth, today) < 0)
			abort();
		if ((size == 15) != (info.kind == IDNUM_RESIDENT_LEGACY))
			abort();
		if ((info.kind == IDNUM_FOREIGN_PR) != (data[0] == '9'))
			abort();
	}

	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (date_parse(s, &d) == 0) {
		char back[11];

		date_format(d, back);
		if (memcmp(back, s, sizeof(back)) != 0)
			abort();
	}
	free(s);
	return 0;
}
