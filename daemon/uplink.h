/*
 * uplink.h: the branch's event log up to the head office's PostgreSQL
 * (docs/hq.md). One worker thread, never the loop, reads the events table
 * on a read-only connection of its own, in id order, and sends them in
 * batches, each inside one PostgreSQL transaction (hq.put_events: INSERT
 * ... ON CONFLICT (branch_id, bday, event_id) DO NOTHING, the day's
 * services with their thresholds and targets, the branch's time zone and
 * day reset, and the head office's own cursor for the branch). Only after
 * the commit does it tell the loop how far it got (uplink_fd readable);
 * the loop writes that durable cursor into SQLite (store_uplink_set). A
 * crash, a kill -9, a lost connection or a restart of either side sends
 * nothing twice that lands twice, and loses nothing: the next batch starts
 * after the cursor, and a batch sent again is ignored row by row.
 *
 * The WAN being down costs the loop nothing: the worker waits and tries
 * again every [uplink] retry; the branch issues and calls as before.
 * A database of another branch (another install id under the same
 * branch_id), a schema of another version, a wrong conninfo: each is an
 * error the worker keeps (uplink_health, /healthz) and logs once per
 * change, and it goes on trying.
 */
#ifndef BRANCHQ_UPLINK_H
#define BRANCHQ_UPLINK_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"

#define UPLINK_SCHEMA_VERSION 1      /* the hq/schema.sql this build speaks */

struct uplink;

/*
 * Start the worker for cfg's [uplink] (a copy is kept) over the database
 * file db, from event id cursor (sent already), with the database's
 * install id. NULL when out of memory or no thread could start.
 */
struct uplink *uplink_start(const struct config *cfg, const char *db, int64_t cursor,
    const char *install_id);

/* Stop and join the worker (it ends its current batch or gives it up). NULL is a no-op. */
void uplink_stop(struct uplink *u);

/* Readable when the worker has sent more; uplink_collect clears it. */
int uplink_fd(const struct uplink *u);

/* The id of the last event the head office has committed; clears uplink_fd. */
int64_t uplink_collect(struct uplink *u);

/* A new config (a reload): its services and names go up with the next batch. */
void uplink_config(struct uplink *u, const struct config *cfg);

/* Wake the worker: events were committed (so a quiet branch sends within a batch's time). */
void uplink_kick(struct uplink *u);

/*
 * For /healthz: {"branch_id", "connected", "sent_event_id", "behind",
 * "last_sent_at", "last_error"}; *trouble when the last try failed.
 */
json_t *uplink_health(struct uplink *u, bool *trouble);

/* For /metrics: the uplink's lines, appended to text (realloc'ed); -1 when out of memory. */
int uplink_metrics(struct uplink *u, char **text, size_t *len);

#endif
