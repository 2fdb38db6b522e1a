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

/* "2026-11-24T09:30:05+08:00", or JSON null for 0. */
json_t *render_time(int64_t t);

#endif
