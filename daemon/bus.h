/*
 * bus.h: the event bus. Every change to a ticket or counter is first
 * appended to the store's event log inside its transaction; after the
 * commit it is published here, and subscribers that joined with a matching
 * bitmask are told (the Server-Sent Events streams today; the printer and
 * the voice later). Like cupsdAddEvent, but the log, not the bus, is the
 * record: a subscriber that misses a call can read the log.
 */
#ifndef BRANCHQ_BUS_H
#define BRANCHQ_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

enum bus_type {
	EV_TICKET_ISSUED      = 1u << 0,
	EV_TICKET_CALLED      = 1u << 1,
	EV_TICKET_RECALLED    = 1u << 2,
	EV_TICKET_SERVING     = 1u << 3,
	EV_TICKET_NO_SHOW     = 1u << 4,
	EV_TICKET_SERVED      = 1u << 5,
	EV_TICKET_TRANSFERRED = 1u << 6,
	EV_TICKET_CANCELLED   = 1u << 7,
	EV_TICKET_GREEN       = 1u << 8,
	EV_COUNTER_PAUSED     = 1u << 9,
	EV_COUNTER_RESUMED    = 1u << 10,
	EV_TICKET_PRINT       = 1u << 11,   /* the paper ticket's print state changed */
	EV_TICKET_EXPIRED     = 1u << 12,   /* left waiting when its business day ended */
	EV_HELP_CALLED        = 1u << 13,   /* a kiosk called the lobby manager: staff only */
	EV_RATING_PROMPTED    = 1u << 14,   /* a counter's keypad showed the rating keys */
	EV_TICKET_RATED       = 1u << 15,   /* the customer rated the service */
	EV_ALERT_ACKED        = 1u << 16,   /* the lobby answered an alert: staff only */
	EV_TICKET_REINSTATED  = 1u << 17,   /* a no-show put back in line */
	EV_RATING_ASKED       = 1u << 18,   /* 请评价: the teller asked the keypad again */
	EV_ADVICE_OPEN        = 1u << 19,   /* 建议增开窗口: the rest of the day would miss its target */
	EV_ADVICE_CLEARED     = 1u << 20,   /* …and no longer would: staff only, both */
};

#define EV_ALL 0x1fffffu
#define BUS_MAX_SUBSCRIBERS 8

/* The wire name of an event type, "ticket.called". */
const char *bus_type_name(enum bus_type t);

struct bus_event {
	int64_t id;              /* the event log's id */
	enum bus_type type;
	int64_t ticket_id;       /* 0 for counter events */
	int counter;             /* 0 when no counter is involved */
	const char *data;        /* the JSON text written to the log; valid during the publish */
	bool has_ticket;         /* ticket is the leg as the change wrote it (not for counters) */
	struct ticket ticket;
};

typedef void (*bus_fn)(void *arg, const struct bus_event *ev);

struct bus {
	struct {
		unsigned mask;
		bus_fn fn;
		void *arg;
	} subs[BUS_MAX_SUBSCRIBERS];
	int nsubs;
};

/* Join the bus for the event types in mask. Returns 0, or -1 when full. */
int bus_subscribe(struct bus *b, unsigned mask, bus_fn fn, void *arg);

/* Tell every subscriber whose mask matches, in the order they joined. */
void bus_publish(struct bus *b, const struct bus_event *ev);

#endif
