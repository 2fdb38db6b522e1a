/*
 * render.h: branchq's objects as JSON (jansson), in exactly one place, so
 * the API's answers and the event log's data agree field for field.
 * Every function returns a new reference the caller owns, or NULL when out
 * of memory.
 */
#ifndef BRANCHQ_RENDER_H
#define BRANCHQ_RENDER_H

#include <stdbool.h>

#include <jansson.h>

#include "config.h"
#include "queue.h"
#include "store.h"

/*
 * A ticket. pos may be NULL (ahead and estimated_wait_s are then null).
 * The token is included only when with_token: it is the customer's secret,
 * shown to the issuer once and never on the display or in events.
 */
json_t *render_ticket(const struct config *cfg, const struct ticket *t,
    const struct ticket_pos *pos, bool with_token);

/* A service from the config, with how many wait for it and how many open counters serve it. */
json_t *render_service(const struct service_conf *s, int waiting, int open_counters);

/* Counter i of the config with its state and current ticket (may be NULL). */
json_t *render_counter(const struct config *cfg, int i, const struct counter_state *cs,
    const struct ticket *current);

/* The whole hall. */
json_t *render_queue(const struct config *cfg, const struct queue_view *v);

/*
 * What the wall screen may show of a ticket: number, service, the green mark
 * as yes or no, the voice's language, status, and the latest call (a recall
 * counts). No id, category, token or print error.
 */
json_t *render_hall_ticket(const struct ticket *t);

/* The hall as a display stream's event carries it: {"waiting": {service: n}, "counters": [...]}. */
json_t *render_hall(const struct config *cfg, const struct queue_view *v);

/* The hall display's state (GET /api/v1/display): the branch, call_repeats, services with counts, counters. */
json_t *render_display(const struct config *cfg, const struct queue_view *v);

/*
 * The green categories the branch configured ([green]), each with its head
 * start, and elderly_age: what a kiosk offers a customer. A new object.
 */
json_t *render_green(const struct config *cfg);

/*
 * A ticket as its own phone sees it: number, service and its names, green,
 * status, counter, and (when waiting and pos is given) ahead and the
 * estimated wait. Nothing that names another ticket.
 */
json_t *render_phone_ticket(const struct config *cfg, const struct ticket *t,
    const struct ticket_pos *pos);

/* "2026-11-24T09:30:05+08:00", or JSON null for 0. */
json_t *render_time(int64_t t);

/* [{key, zh, en}] of the rating keys, in the order the keypads show them. */
json_t *render_rating_keys(const struct config *cfg);

/* A rating as the API shows it. */
json_t *render_rating(const struct rating *r);

/* An alert as GET /api/v1/alerts shows it. */
json_t *render_alert(const struct alert *a);

#endif
