/*
 * test_voice.c: unit tests for the spoken call's pure parts: which numbers
 * are accepted, the pinyin and English phrases (every letter and digit
 * spelled, counters as Chinese numerals), the chime, and the WAV assembly
 * (header fields, the chime first, refusal of what espeak-ng never makes).
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "voice.h"

static void
test_number_valid(void **state)
{
	(void)state;
	assert_true(voice_number_valid("A001"));
	assert_true(voice_number_valid("Z999"));
	assert_true(voice_number_valid("B1024"));
	assert_false(voice_number_valid("a001"));
	assert_false(voice_number_valid("A01"));
	assert_false(voice_number_valid("A10245"));
	assert_false(voice_number_valid("AA01"));
	assert_false(voice_number_valid("A00x"));
	assert_false(voice_number_valid(""));
	assert_false(voice_number_valid(NULL));
}

static void
test_text_zh(void **state)
{
	char out[VOICE_TEXT_MAX];

	(void)state;
	assert_true(voice_text_zh("A001", 3, out, sizeof(out)));
	assert_string_equal(out, "qing3 A ling2 ling2 yi1 hao4, dao4 san1 hao4 chuang1 kou3, "
	    "ban4 li3 ye4 wu4.");
	assert_true(voice_text_zh("B1789", 2, out, sizeof(out)));
	assert_non_null(strstr(out, "qing3 B yi1 qi1 ba1 jiu3 hao4, dao4 er4 hao4 "));
}

static void
test_counter_numerals(void **state)
{
	static const struct { int n; const char *say; } cases[] = {
		{ 1, "dao4 yi1 hao4" }, { 10, "dao4 shi2 hao4" }, { 12, "dao4 shi2 er4 hao4" },
		{ 20, "dao4 er4 shi2 hao4" }, { 35, "dao4 san1 shi2 wu3 hao4" },
		{ 100, "dao4 yi1 bai3 hao4" }, { 105, "dao4 yi1 bai3 ling2 wu3 hao4" },
		{ 110, "dao4 yi1 bai3 yi1 shi2 hao4" }, { 999, "dao4 jiu3 bai3 jiu3 shi2 jiu3 hao4" },
	};
	char out[VOICE_TEXT_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(voice_text_zh("A001", cases[i].n, out, sizeof(out)));
		if (strstr(out, cases[i].say) == NULL)
			fail_msg("counter %d: \"%s\" lacks \"%s\"", cases[i].n, out, cases[i].say);
	}
}

static void
test_text_refused(void **state)
{
	char out[VOICE_TEXT_MAX];

	(void)state;
	assert_false(voice_text_zh("A001", -1, out, sizeof(out)));
	assert_false(voice_text_zh("A001", 1000, out, sizeof(out)));
	/* Counter 0 is no counter: it is the rating keypad's prompt for the number. */
	assert_true(voice_text_zh("A001", VOICE_RATE_PROMPT, out, sizeof(out)));
	assert_string_equal(out, "A ling2 ling2 yi1 hao4, qing3 nin2 wei4 ben3 ci4 fu2 wu4 ping2 jia4.");
	assert_true(voice_text_en("A001", VOICE_RATE_PROMPT, out, sizeof(out)));
	assert_string_equal(out, "Number A, zero zero one - please rate our service.");
	assert_false(voice_text_zh("A 01", 3, out, sizeof(out)));
	assert_false(voice_text_zh("A001", 3, out, 20));       /* does not fit */
	assert_false(voice_text_en("A001", 3, out, 10));
}

static void
test_text_en(void **state)
{
	char out[VOICE_TEXT_MAX];

	(void)state;
	assert_true(voice_text_en("A001", 3, out, sizeof(out)));
	assert_string_equal(out, "Number A, zero zero one - please go to counter 3.");
	assert_true(voice_text_en("V120", 15, out, sizeof(out)));
	assert_string_equal(out, "Number V, one two zero - please go to counter 15.");
}

static void
test_chime(void **state)
{
	int16_t buf[VOICE_RATE * 2];
	size_t n = voice_chime(buf, sizeof(buf) / sizeof(buf[0]));
	int peak = 0;

	(void)state;
	assert_true(n > VOICE_RATE / 2 && n < VOICE_RATE * 2);
	for (size_t i = 0; i < n; i++)
		peak = abs(buf[i]) > peak ? abs(buf[i]) : peak;
	assert_true(peak > 8000 && peak < 32767);     /* audible, not clipped */
	assert_int_equal(voice_chime(buf, 100), 100); /* never past max */
}

/* A WAV as espeak-ng writes it to a pipe: placeholder sizes, then n samples of value. */
static uint8_t *
fake_espeak(size_t n, int16_t value, size_t *len)
{
	static const uint8_t head[44] = { 'R', 'I', 'F', 'F', 0x24, 0xf0, 0xff, 0x7f, 'W', 'A', 'V',
	    'E', 'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0, 0x22, 0x56, 0, 0, 0x44, 0xac, 0, 0, 2,
	    0, 16, 0, 'd', 'a', 't', 'a', 0x00, 0xf0, 0xff, 0x7f };
	uint8_t *w = malloc(44 + 2 * n);

	memcpy(w, head, 44);
	for (size_t i = 0; i < n; i++) {
		w[44 + 2 * i] = (uint8_t)((uint16_t)value & 0xff);
		w[45 + 2 * i] = (uint8_t)((uint16_t)value >> 8);
	}
	*len = 44 + 2 * n;
	return w;
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
test_assemble(void **state)
{
	size_t lens[2], len;
	uint8_t *parts[2], *w;

	(void)state;
	parts[0] = fake_espeak(1000, 1234, &lens[0]);
	parts[1] = fake_espeak(500, -7, &lens[1]);
	w = voice_assemble((const uint8_t *const *)parts, lens, 2, &len);
	assert_non_null(w);
	assert_memory_equal(w, "RIFF", 4);
	assert_int_equal(le32(w + 4), len - 8);
	assert_memory_equal(w + 8, "WAVEfmt ", 8);
	assert_int_equal(le32(w + 24), VOICE_RATE);
	assert_int_equal(le32(w + 40), len - 44);
	/* The last sample is the second part's; the first part's samples are in there too. */
	assert_int_equal((int16_t)(w[len - 2] | w[len - 1] << 8), -7);
	assert_true(len > 44 + 2 * 1500 + (size_t)VOICE_RATE);   /* chime + pauses + parts */
	free(w);
	/* Not a WAV espeak-ng makes: refused. */
	parts[0][24] = 0x44;   /* another sample rate */
	assert_null(voice_assemble((const uint8_t *const *)parts, lens, 1, &len));
	lens[0] = 20;
	assert_null(voice_assemble((const uint8_t *const *)parts, lens, 1, &len));
	free(parts[0]);
	free(parts[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_number_valid),
		cmocka_unit_test(test_text_zh),
		cmocka_unit_test(test_counter_numerals),
		cmocka_unit_test(test_text_refused),
		cmocka_unit_test(test_text_en),
		cmocka_unit_test(test_chime),
		cmocka_unit_test(test_assemble),
	};

	return cmocka_run_group_tests_name("voice", tests, NULL, NULL);
}
