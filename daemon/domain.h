/*
 * domain.h: the words of a branch that every module shares: ticket
 * categories (normal and the green-channel ones), ticket states, a calendar
 * date, and the limits that size the fixed tables in config and policy.
 * Nothing here allocates or touches I/O.
 */
#ifndef BRANCHQ_DOMAIN_H
#define BRANCHQ_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>

#define MAX_SERVICES 26          /* one prefix letter A..Z each */
#define MAX_COUNTERS 64
#define MAX_COUNTER_NUMBER 999

/* Green-channel categories follow CAT_NORMAL; the order is the config's and the API's. */
enum category {
	CAT_NORMAL = 0,
	CAT_ELDERLY,
	CAT_DISABLED,
	CAT_PREGNANT,
	CAT_MILITARY,
	CAT_FOREIGN,
	CAT_COUNT
};

enum ticket_status {
	TS_WAITING = 0,
	TS_CALLED,       /* called to a counter, customer not yet there */
	TS_SERVING,      /* customer at the counter */
	TS_SERVED,
	TS_NO_SHOW,
	TS_CANCELLED,
	TS_TRANSFERRED,  /* this leg ended; the ticket waits again in another service */
	TS_EXPIRED,      /* still waiting when its business day ended: closed at the reset */
	TS_COUNT
};

enum lang { LANG_ZH = 0, LANG_EN };

/* Where a ticket's paper is: none (no printer), queued, printing, printed or failed. */
enum print_state { PS_NONE = 0, PS_QUEUED, PS_PRINTING, PS_PRINTED, PS_FAILED, PS_COUNT };

struct date {
	int y, m, d;
};

/* Lower-case API names ("elderly", "no_show", "en"). Never NULL for a valid value. */
const char *category_name(enum category c);
const char *status_name(enum ticket_status s);
const char *lang_name(enum lang l);
const char *print_state_name(enum print_state p);

/* Parse an API name; return -1 when the name is unknown. */
int category_parse(const char *s);
int status_parse(const char *s);
int lang_parse(const char *s);
int print_state_parse(const char *s);

static inline bool category_green(enum category c) { return c != CAT_NORMAL; }

#endif
