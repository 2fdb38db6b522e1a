/*
 * bus.c: publish committed events to the subscribers that asked for them.
 * Runs on the daemon's one thread; subscribers must not block.
 */
#include "bus.h"

static const struct {
	enum bus_type type;
	const char *name;
} bus_names[] = {
	{ EV_TICKET_ISSUED, "ticket.issued" },
	{ EV_TICKET_CALLED, "ticket.called" },
	{ EV_TICKET_RECALLED, "ticket.recalled" },
	{ EV_TICKET_SERVING, "ticket.serving" },
	{ EV_TICKET_NO_SHOW, "ticket.no_show" },
	{ EV_TICKET_SERVED, "ticket.served" },
	{ EV_TICKET_TRANSFERRED, "ticket.transferred" },
	{ EV_TICKET_CANCELLED, "ticket.cancelled" },
	{ EV_TICKET_GREEN, "ticket.green" },
	{ EV_COUNTER_PAUSED, "counter.paused" },
	{ EV_COUNTER_RESUMED, "counter.resumed" },
	{ EV_TICKET_PRINT, "ticket.print" },
	{ EV_TICKET_EXPIRED, "ticket.expired" },
	{ EV_HELP_CALLED, "help.called" },
	{ EV_RATING_PROMPTED, "rating.prompted" },
	{ EV_TICKET_RATED, "ticket.rated" },
	{ EV_ALERT_ACKED, "alert.acknowledged" },
	{ EV_TICKET_REINSTATED, "ticket.reinstated" },
	{ EV_RATING_ASKED, "rating.asked" },
	{ EV_ADVICE_OPEN, "advice.open_counter" },
	{ EV_ADVICE_CLEARED, "advice.cleared" },
};

const char *
bus_type_name(enum bus_type t)
{
	for (unsigned i = 0; i < sizeof(bus_names) / sizeof(bus_names[0]); i++)
		if (bus_names[i].type == t)
			return bus_names[i].name;
	return "unknown";
}

int
bus_subscribe(struct bus *b, unsigned mask, bus_fn fn, void *arg)
{
	if (b->nsubs == BUS_MAX_SUBSCRIBERS)
		return -1;
	b->subs[b->nsubs].mask = mask;
	b->subs[b->nsubs].fn = fn;
	b->subs[b->nsubs].arg = arg;
	b->nsubs++;
	return 0;
}

void
bus_publish(struct bus *b, const struct bus_event *ev)
{
	for (int i = 0; i < b->nsubs; i++)
		if (b->subs[i].mask & ev->type)
			b->subs[i].fn(b->subs[i].arg, ev);
}
