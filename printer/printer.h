/*
 * printer.h: printing tickets without ever blocking the daemon's loop.
 *
 * The loop renders a ticket (layout, then ESC/POS bytes) and hands the
 * bytes to one narrow worker thread through a queue, like Redis's bio.c;
 * the worker alone talks to CUPS (cupsjob.c), which can take seconds, and
 * tells the loop what happened through an eventfd the loop polls. The loop
 * alone touches the store: it records each ticket's print state (queued,
 * printing, printed, failed with the reason) and announces it as
 * ticket.print, and it retries failed tickets on a timer with backoff.
 *
 * One struct printer owns the thread, both queues, the eventfd and every
 * job in them: printer_new creates them, printer_free ends the thread and
 * frees them. It also owns the PNG previews' worker (work.c), so that
 * cairo's font caches are freed only after that thread has ended.
 */
#ifndef BRANCHQ_PRINTER_H
#define BRANCHQ_PRINTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bus.h"
#include "error.h"
#include "queue.h"

#define PRINTER_RETRY_FIRST_S 2      /* first retry after a failure */
#define PRINTER_RETRY_MAX_S 60       /* backoff doubles up to this */
#define PRINTER_PREVIEWS 16          /* PNG previews cached, and at most waiting to be drawn */
#define PRINTER_PREVIEW_SHARE 4      /* drawings not yet made one client may hold */
#define PRINTER_BATCH 16             /* backlog tickets rendered per turn of the loop */

struct printer;

/*
 * Start the worker for the tickets of q (q->cfg->printer says where to
 * print; read afresh for each ticket, so a reload applies). Tickets of
 * today left queued or printing by a stop or a crash are sent again, and
 * failed ones retried. NULL when out of memory or threads.
 */
struct printer *printer_new(struct queue *q);

/* Stop the worker (a job in flight is cancelled and stays printing, to print at the next start) and free everything. */
void printer_free(struct printer *p);

/* The eventfd to poll for POLLIN; then call printer_run. */
int printer_fd(const struct printer *p);

/* Milliseconds until printer_run has a retry to do; -1 when none is due. */
int64_t printer_timeout_ms(const struct printer *p);

/* On the loop: take in the worker's news and start retries that are due. Never blocks. */
void printer_run(struct printer *p);

/* Bus subscriber (EV_TICKET_ISSUED): print the new ticket. */
void printer_on_event(void *arg, const struct bus_event *ev);

/*
 * The configuration was reloaded; old is the printer's config before it.
 * When the printer was removed, every ticket of today still queued for
 * paper (none is being printed) fails with that reason rather than stay
 * queued for ever; a job already with CUPS ends as it ends. Returns how
 * many failed. Loop thread only.
 */
int printer_reloaded(struct printer *p, const struct printer_conf *old, int64_t now);

/*
 * Print ticket id again (a customer lost it, or paper ran out), as its
 * newest leg stands now when id names a leg that was transferred. *out is
 * that leg with its print state queued; when a print of the ticket is
 * already queued or printing in the worker, nothing more is sent and *out
 * shows that state. BQ_ERR_NO_PRINTER without a printer.
 */
enum bq_err printer_reprint(struct printer *p, int64_t id, int64_t now, struct ticket *out);

/*
 * The ticket as a PNG image of the paper. The loop reads the ticket and lays
 * it out; the preview worker draws it (cairo, 20-30 ms) and keeps the last
 * PRINTER_PREVIEWS drawings, each for its ticket and exact layout. BQ_OK
 * and *pending false: *png, *len are the drawing, owned by the cache and
 * valid until the next printer_png. BQ_OK and *pending: being drawn; ask
 * again when printer_preview_fd is readable. BQ_ERR_PREVIEW_BUSY when
 * PRINTER_PREVIEWS other drawings wait; BQ_ERR_TOO_MANY_REQUESTS when
 * from's owner holds PRINTER_PREVIEW_SHARE drawings not yet made;
 * BQ_ERR_INTERNAL when drawing failed. Loop thread only.
 */
struct work_from;
enum bq_err printer_png(struct printer *p, int64_t id, int64_t now, const struct work_from *from,
    const unsigned char **png, size_t *len, bool *pending);

/* Readable when a preview has been drawn; then printer_preview_collect and ask again. */
int printer_preview_fd(const struct printer *p);

/* Clear printer_preview_fd's readiness. */
void printer_preview_collect(struct printer *p);

/* {"configured":…,"queue":…,"state":"none|unknown|ok|failing","error":…,"jobs":N,"last_printed_at":…} */
json_t *printer_health(const struct printer *p);

#endif
