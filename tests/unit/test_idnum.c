/*
 * test_idnum.c: unit tests for ID number validation and age.
 *
 * Check characters are computed here by a helper that derives the weights
 * as 2^(17-i) mod 11 (the definition of ISO 7064 MOD 11-2) instead of
 * copying idnum.c's tables, so a wrong table in either place shows. Numbers
 * are handed to idnum_parse in heap buffers of exactly their length, so
 * AddressSanitizer catches any read past len or any wait for a NUL.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "bday.h"
#include "idnum.h"

static const struct date TODAY = { 2026, 1, 15 };

/* The check character for the 17 digits at s. */
static char
check_char(const char *s)
{
	int sum = 0, w = 1;

	for (int i = 16; i >= 0; i--) {
		w = w * 2 % 11;
		sum += (s[i] - '0') * w;
	}
	sum = (12 - sum % 11) % 11;
	return sum == 10 ? 'X' : (char)('0' + sum);
}

/* An 18-character number from its first 17 digits, with its check. */
static void
make18(char out[19], const char *first17)
{
	assert_int_equal(strlen(first17), 17);
	memcpy(out, first17, 17);
	out[17] = check_char(first17);
	out[18] = '\0';
}

/* idnum_parse on an unterminated heap copy of exactly len bytes. */
static int
parse_n(const char *s, size_t len, struct date today, struct idnum_info *out)
{
	char *buf = malloc(len > 0 ? len : 1);
	int rc;

	assert_non_null(buf);
	memcpy(buf, s, len);
	rc = idnum_parse(buf, len, today, out);
	free(buf);
	return rc;
}

static int
parse(const char *s, struct idnum_info *out)
{
	return parse_n(s, strlen(s), TODAY, out);
}

static void
test_helper_agrees_with_known_number(void **state)
{
	(void)state;
	/* The widely published example; guards the helper itself. */
	assert_int_equal(check_char("11010519491231002"), 'X');
	assert_int_equal(check_char("44030419900101123"), '3');
}

static void
test_resident_valid(void **state)
{
	struct idnum_info info;

	(void)state;
	assert_int_equal(parse("11010519491231002X", &info), 0);
	assert_int_equal(info.kind, IDNUM_RESIDENT);
	assert_date(info.birth, 1949, 12, 31);

	assert_int_equal(parse("440304199001011233", &info), 0);
	assert_int_equal(info.kind, IDNUM_RESIDENT);
	assert_date(info.birth, 1990, 1, 1);
}

static void
test_lowercase_x(void **state)
{
	struct idnum_info info;

	(void)state;
	assert_int_equal(parse("11010519491231002x", &info), 0);
	assert_int_equal(info.kind, IDNUM_RESIDENT);
	assert_date(info.birth, 1949, 12, 31);
}

static void
test_bad_check_rejected(void **state)
{
	static const char candidates[] = "0123456789Xx";
	struct idnum_info info;
	char id[19];

	(void)state;
	assert_int_equal(parse("110105194912310021", &info), -1);
	assert_int_equal(parse("110105199001011235", &info), -1);

	/* Of all twelve possible last characters only the right one passes. */
	make18(id, "32010219800715123");
	for (size_t i = 0; i < sizeof(candidates) - 1; i++) {
		int right = candidates[i] == id[17] ||
		    (id[17] == 'X' && candidates[i] == 'x');
		char cand[19];

		memcpy(cand, id, sizeof(cand));
		cand[17] = candidates[i];
		assert_int_equal(parse(cand, &info), right ? 0 : -1);
	}
	/* A transposition of two digits is caught by the check. */
	assert_int_equal(parse("11010591491231002X", &info), -1);
}

static void
test_wrong_length(void **state)
{
	const char *good = "11010519491231002X";
	struct idnum_info info;

	(void)state;
	assert_int_equal(parse_n(good, 18, TODAY, &info), 0);
	assert_int_equal(parse_n(good, 17, TODAY, &info), -1);
	assert_int_equal(parse_n(good, 16, TODAY, &info), -1);
	assert_int_equal(parse_n(good, 14, TODAY, &info), -1);
	assert_int_equal(parse_n(good, 0, TODAY, &info), -1);
	assert_int_equal(parse("11010519491231002X0", &info), -1);
	assert_int_equal(parse("1101054912310020", &info), -1);
	assert_int_equal(idnum_parse(NULL, 0, TODAY, &info), -1);
}

static void
test_non_digits_rejected(void **state)
{
	struct idnum_info info;
	char id[19];

	(void)state;
	/* Each differs from a valid number in one place only. */
	make18(id, "11010519491231002");
	assert_int_equal(parse(id, &info), 0);
	id[9] = 'A';
	assert_int_equal(parse(id, &info), -1);

	make18(id, "11010519491231002");
	id[16] = 'X';			/* X only as the check */
	assert_int_equal(parse(id, &info), -1);

	make18(id, "11010519491231002");
	id[3] = ' ';
	assert_int_equal(parse(id, &info), -1);

	make18(id, "11010519491231002");
	id[15] = '\0';			/* an embedded NUL is not a digit */
	assert_int_equal(parse_n(id, 18, TODAY, &info), -1);

	assert_int_equal(parse("110105491231002", &info), 0);
	assert_int_equal(parse("11010549123100X", &info), -1);
	assert_int_equal(parse("1101054912A1002", &info), -1);
}

static void
test_area_code(void **state)
{
	struct idnum_info info;
	char id[19];

	(void)state;
	make18(id, "81010519491231002");
	assert_int_equal(parse(id, &info), 0);
	make18(id, "01010519491231002");
	assert_int_equal(parse(id, &info), -1);
	assert_int_equal(parse("010105491231002", &info), -1);
	assert_int_equal(parse("910105491231002", &info), -1);
}

static void
test_impossible_dates(void **state)
{
	struct idnum_info info;
	char id[19];

	(void)state;
	/* Control: the same digits with a real date pass. */
	make18(id, "11010519490228002");
	assert_int_equal(parse(id, &info), 0);

	make18(id, "11010519490230002");	/* 30 February */
	assert_int_equal(parse(id, &info), -1);
	make18(id, "11010519491301002");	/* month 13 */
	assert_int_equal(parse(id, &info), -1);
	make18(id, "11010519490001002");	/* month 0 */
	assert_int_equal(parse(id, &info), -1);
	make18(id, "11010519490100002");	/* day 0 */
	assert_int_equal(parse(id, &info), -1);
	make18(id, "11010519490431002");	/* 31 April */
	assert_int_equal(parse(id, &info), -1);
	make18(id, "11010519000229002");	/* 1900 was not a leap year */
	assert_int_equal(parse(id, &info), -1);
	make18(id, "11010520000229002");	/* 2000 was */
	assert_int_equal(parse(id, &info), 0);
	assert_date(info.birth, 2000, 2, 29);
	make18(id, "11010517991231002");	/* before any real card */
	assert_int_equal(parse(id, &info), -1);

	assert_int_equal(parse("110105490230002", &info), -1);
	assert_int_equal(parse("110105491301002", &info), -1);
	assert_int_equal(parse("110105000229002", &info), -1);
}

static void
test_birth_after_today(void **state)
{
	struct idnum_info info;
	char id[19];

	(void)state;
	make18(id, "11010520260115002");	/* born today */
	assert_int_equal(parse(id, &info), 0);
	assert_date(info.birth, 2026, 1, 15);
	assert_int_equal(idnum_age_on(info.birth, TODAY), 0);

	make18(id, "11010520260116002");	/* tomorrow */
	assert_int_equal(parse(id, &info), -1);
	make18(id, "11010520270101002");
	assert_int_equal(parse(id, &info), -1);

	/* The same number becomes valid once its day has come. */
	make18(id, "11010520260116002");
	assert_int_equal(parse_n(id, 18, (struct date){ 2026, 1, 16 }, &info), 0);
}

static void
test_legacy(void **state)
{
	struct idnum_info info;

	(void)state;
	assert_int_equal(parse("110105491231002", &info), 0);
	assert_int_equal(info.kind, IDNUM_RESIDENT_LEGACY);
	assert_date(info.birth, 1949, 12, 31);

	assert_int_equal(parse("440304000101123", &info), 0);
	assert_int_equal(info.kind, IDNUM_RESIDENT_LEGACY);
	assert_date(info.birth, 1900, 1, 1);

	assert_int_equal(parse("440304961120123", &info), 0);
	assert_date(info.birth, 1996, 11, 20);
}

static void
test_foreign_pr(void **state)
{
	struct idnum_info info;
	char id[19];

	(void)state;
	/* 9, province 31 (Shanghai), nationality 840, birth, sequence. */
	make18(id, "93184019850315001");
	assert_int_equal(parse(id, &info), 0);
	assert_int_equal(info.kind, IDNUM_FOREIGN_PR);
	assert_date(info.birth, 1985, 3, 15);

	id[17] = id[17] == '0' ? '1' : '0';
	assert_int_equal(parse(id, &info), -1);

	make18(id, "93184019850230001");
	assert_int_equal(parse(id, &info), -1);
}

static void
test_output_untouched_on_failure(void **state)
{
	struct idnum_info info = { IDNUM_FOREIGN_PR, { 1, 2, 3 } };

	(void)state;
	assert_int_equal(parse("11010519491231002Y", &info), -1);
	assert_int_equal(info.kind, IDNUM_FOREIGN_PR);
	assert_date(info.birth, 1, 2, 3);
}

static void
test_age_sixty_boundary(void **state)
{
	struct date birth = { 1966, 5, 20 };

	(void)state;
	assert_int_equal(idnum_age_on(birth, (struct date){ 2026, 5, 19 }), 59);
	assert_int_equal(idnum_age_on(birth, (struct date){ 2026, 5, 20 }), 60);
	assert_int_equal(idnum_age_on(birth, (struct date){ 2026, 5, 21 }), 60);
	assert_int_equal(idnum_age_on(birth, (struct date){ 2026, 4, 30 }), 59);
	assert_int_equal(idnum_age_on(birth, (struct date){ 2027, 5, 19 }), 60);

	birth = (struct date){ 1965, 12, 31 };
	assert_int_equal(idnum_age_on(birth, (struct date){ 2025, 12, 30 }), 59);
	assert_int_equal(idnum_age_on(birth, (struct date){ 2025, 12, 31 }), 60);
	assert_int_equal(idnum_age_on(birth, (struct date){ 2026, 1, 1 }), 60);
	assert_int_equal(idnum_age_on(birth, birth), 0);
}

static void
test_age_feb29(void **state)
{
	struct date birth = { 1964, 2, 29 };

	(void)state;
	/* 2023 is a common year: the birthday is reached on 1 March. */
	assert_int_equal(idnum_age_on(birth, (struct date){ 2023, 2, 28 }), 58);
	assert_int_equal(idnum_age_on(birth, (struct date){ 2023, 3, 1 }), 59);
	/* 2024 is a leap year: on the day itself. */
	assert_int_equal(idnum_age_on(birth, (struct date){ 2024, 2, 28 }), 59);
	assert_int_equal(idnum_age_on(birth, (struct date){ 2024, 2, 29 }), 60);
	assert_int_equal(idnum_age_on(birth, (struct date){ 2024, 3, 1 }), 60);
}

static void
test_parse_then_age(void **state)
{
	struct idnum_info info;
	char id[19];

	(void)state;
	make18(id, "11010519660116002");
	assert_int_equal(parse(id, &info), 0);
	assert_int_equal(idnum_age_on(info.birth, TODAY), 59);
	assert_int_equal(idnum_age_on(info.birth, (struct date){ 2026, 1, 16 }), 60);

	assert_int_equal(parse("110105660115002", &info), 0);
	assert_int_equal(idnum_age_on(info.birth, TODAY), 60);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helper_agrees_with_known_number),
		cmocka_unit_test(test_resident_valid),
		cmocka_unit_test(test_lowercase_x),
		cmocka_unit_test(test_bad_check_rejected),
		cmocka_unit_test(test_wrong_length),
		cmocka_unit_test(test_non_digits_rejected),
		cmocka_unit_test(test_area_code),
		cmocka_unit_test(test_impossible_dates),
		cmocka_unit_test(test_birth_after_today),
		cmocka_unit_test(test_legacy),
		cmocka_unit_test(test_foreign_pr),
		cmocka_unit_test(test_output_untouched_on_failure),
		cmocka_unit_test(test_age_sixty_boundary),
		cmocka_unit_test(test_age_feb29),
		cmocka_unit_test(test_parse_then_age),
	};

	return cmocka_run_group_tests_name("idnum", tests, NULL, NULL);
}
