/*
 * idnum.c: validation of the ID numbers a kiosk reads from a card or a
 * customer types, so that a green-channel ticket can be given by age
 * (elderly) or by card (foreign permanent resident) without staff checking.
 *
 * Three forms are accepted (GB 11643-1999 and its predecessors):
 *   - resident, 18 characters: 6-digit area code (first digit 1..8), birth
 *     date YYYYMMDD, 3-digit sequence, check character 0..9 or X;
 *   - foreign permanent residence card (2023), 18 characters beginning with
 *     9, the birth date in the same place and the same check;
 *   - legacy resident, 15 digits: area code, YYMMDD read as 19YY, sequence,
 *     no check character.
 * The input is outside data of untrusted length: it is read only within len,
 * never assumed to be NUL-terminated, and never copied, logged or kept (the
 * PIPL makes an ID number sensitive; callers keep only what they derive).
 */
#include <assert.h>

#include "bday.h"
#include "idnum.h"

#define IDNUM_LEN		18
#define IDNUM_LEGACY_LEN	15
#define IDNUM_BIRTH_AT		6	/* 0-based: characters 7..14 (7..12 legacy) */

static int
idnum_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* n decimal digits at s, already known to be digits. */
static int
idnum_number(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* ISO 7064 MOD 11-2 over the 17 digits at s: the check character due. */
static char
idnum_check_char(const char *s)
{
	static const int weight[IDNUM_LEN - 1] = {
		7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2,
	};
	static const char check[11] = {
		'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2',
	};
	int sum = 0;

	for (int i = 0; i < IDNUM_LEN - 1; i++)
		sum += weight[i] * (s[i] - '0');
	return check[sum % 11];
}

/*
 * Every byte is looked at before it is trusted: the length decides the form
 * first, then the characters, and only then are digits turned into numbers.
 * *out is written only on success.
 */
int
idnum_parse(const char *s, size_t len, struct date today, struct idnum_info *out)
{
	struct idnum_info info;

	assert(out != NULL);
	if (s == NULL || (len != IDNUM_LEN && len != IDNUM_LEGACY_LEN))
		return -1;

	for (size_t i = 0; i < IDNUM_LEGACY_LEN; i++)
		if (!idnum_digit(s[i]))
			return -1;

	if (len == IDNUM_LEGACY_LEN) {
		/* Legacy cards were issued to residents only: same area codes. */
		if (s[0] == '0' || s[0] == '9')
			return -1;
		info.kind = IDNUM_RESIDENT_LEGACY;
		info.birth.y = 1900 + idnum_number(s + IDNUM_BIRTH_AT, 2);
		info.birth.m = idnum_number(s + IDNUM_BIRTH_AT + 2, 2);
		info.birth.d = idnum_number(s + IDNUM_BIRTH_AT + 4, 2);
	} else {
		char last = s[17];

		if (!idnum_digit(s[15]) || !idnum_digit(s[16]))
			return -1;
		if (last == 'x')
			last = 'X';
		if (!idnum_digit(last) && last != 'X')
			return -1;
		if (last != idnum_check_char(s))
			return -1;
		/* 0 is no area code; 9 is the foreign card, never a resident. */
		if (s[0] == '0')
			return -1;
		info.kind = s[0] == '9' ? IDNUM_FOREIGN_PR : IDNUM_RESIDENT;
		info.birth.y = idnum_number(s + IDNUM_BIRTH_AT, 4);
		info.birth.m = idnum_number(s + IDNUM_BIRTH_AT + 4, 2);
		info.birth.d = idnum_number(s + IDNUM_BIRTH_AT + 6, 2);
	}

	if (!date_valid(info.birth) || date_cmp(info.birth, today) > 0)
		return -1;
	*out = info;
	return 0;
}

/*
 * Negative when on is before birth. Comparing (month, day) pairs means a
 * 29 February birth reaches its next age on 1 March in common years: on
 * 28 February the full year has not yet passed.
 */
int
idnum_age_on(struct date birth, struct date on)
{
	int age = on.y - birth.y;

	if (on.m < birth.m || (on.m == birth.m && on.d < birth.d))
		age--;
	return age;
}
