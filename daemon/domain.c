/*
 * domain.c: names of the shared enums, used by the API, the store and the
 * config alike, so that each word is spelled in exactly one place.
 */
#include <string.h>

#include "domain.h"

static const char *const category_names[CAT_COUNT] = {
	"normal", "elderly", "disabled", "pregnant", "military", "foreign",
};

static const char *const status_names[TS_COUNT] = {
	"waiting", "called", "serving", "served", "no_show", "cancelled", "transferred", "expired",
};

static const char *const lang_names[] = { "zh", "en" };

static const char *const print_state_names[PS_COUNT] = {
	"none", "queued", "printing", "printed", "failed",
};

static int
lookup(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

const char *category_name(enum category c) { return category_names[c]; }
const char *status_name(enum ticket_status s) { return status_names[s]; }
const char *lang_name(enum lang l) { return lang_names[l]; }
const char *print_state_name(enum print_state p) { return print_state_names[p]; }

int category_parse(const char *s) { return lookup(category_names, CAT_COUNT, s); }
int status_parse(const char *s) { return lookup(status_names, TS_COUNT, s); }
int lang_parse(const char *s) { return lookup(lang_names, 2, s); }
int print_state_parse(const char *s) { return lookup(print_state_names, PS_COUNT, s); }
