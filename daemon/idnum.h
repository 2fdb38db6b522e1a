/*
 * idnum.h: Chinese resident ID numbers (GB 11643-1999), the legacy 15-digit
 * form, and the 2023 foreign permanent-residence ID card (18 characters
 * beginning with 9). Pure functions; nothing here logs, stores or copies the
 * number: callers keep only what they derive (age, foreign).
 */
#ifndef BRANCHQ_IDNUM_H
#define BRANCHQ_IDNUM_H

#include <stddef.h>

#include "domain.h"

enum idnum_kind {
	IDNUM_RESIDENT,          /* 18 characters, ISO 7064 MOD 11-2 check */
	IDNUM_RESIDENT_LEGACY,   /* 15 digits, YYMMDD read as 19YY, no check */
	IDNUM_FOREIGN_PR,        /* 18 characters, first '9', same check */
};

struct idnum_info {
	enum idnum_kind kind;
	struct date birth;
};

/*
 * Validate the len bytes at s as an ID number and fill *out. The check
 * character may be 'X' or 'x'. A birth date that is not a real day, or is
 * after today, makes the number invalid. Returns 0, or -1 when invalid.
 */
int idnum_parse(const char *s, size_t len, struct date today, struct idnum_info *out);

/* Whole years from birth to on (the age reached on the birthday itself). */
int idnum_age_on(struct date birth, struct date on);

#endif
