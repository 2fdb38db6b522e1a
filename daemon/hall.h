/*
 * hall.h: the business day's hall in memory: every waiting ticket, each
 * counter's state and current ticket, and each service's recent service
 * times. The loop owns it; queue.c builds it from the store at start and
 * when the business day turns, and changes it with each operation's images
 * only after that operation committed, so the hall never holds a state the
 * database does not.
 *
 * Waiting tickets are kept in buckets of one service, one category and one
 * language, each in issue order (issue time, then the first leg's id).
 * Within a bucket the policy's order is the issue order (same boost, same
 * overtime threshold), so the ticket a counter calls next is always one of
 * the buckets' first tickets, and a ticket's place in line is found by
 * halving each bucket of its service. Neither depends on how many wait.
 */
#ifndef BRANCHQ_HALL_H
#define BRANCHQ_HALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "policy.h"
#include "store.h"

#define HALL_SERVICE_HISTORY 20      /* served legs averaged for the estimated wait */

struct hall;

/* An empty hall of no day; NULL when out of memory. Free it with hall_free. */
struct hall *hall_new(void);
void hall_free(struct hall *h);

/*
 * Replace everything in h with what the store holds for business date bday
 * and the counters of cfg: the waiting tickets of bday, each configured
 * counter's state and current ticket (an id that names no called or serving
 * ticket reads as none), and every service letter's last served legs. On
 * failure h is left empty and of no day.
 */
enum bq_err hall_load(struct hall *h, struct store *s, const struct config *cfg,
    const char *bday);

/* The business date h holds ("" when none, e.g. after a failed load or hall_invalidate). */
const char *hall_bday(const struct hall *h);

/* Forget the day, so the next use loads it again (config reload, a change memory missed). */
void hall_invalidate(struct hall *h);

/*
 * Apply a committed image of a ticket leg: a waiting leg of h's day enters
 * (or replaces itself in) the waiting set, any other leaves it; a counter
 * whose current ticket it is sees the new image, or none once it is neither
 * called nor serving; a served leg joins its service's history. Returns 0,
 * or -1 when out of memory (h is then invalidated).
 */
int hall_put_ticket(struct hall *h, const struct ticket *t);

/* Apply a committed counter state; cur is its current ticket (NULL: none). -1 when full. */
int hall_put_counter(struct hall *h, const struct counter_state *cs, const struct ticket *cur);

/*
 * The journal, for a commit that runs while the hall goes on being read:
 * after hall_journal_begin every change records what it overwrote;
 * hall_journal_rewind undoes them all, newest first, and stops recording
 * (returns -1 when it could not, having invalidated h instead);
 * hall_journal_end forgets them. A hall read again (hall_load,
 * hall_invalidate) cannot rewind.
 */
void hall_journal_begin(struct hall *h);
int hall_journal_rewind(struct hall *h);
void hall_journal_end(struct hall *h);

/*
 * The ticket that holds token, or has id, among the waiting and the
 * counters' current ones (the newest leg of each), or NULL: a ticket that
 * ended is not in the hall. The pointer is h's, valid until the next change.
 */
const struct ticket *hall_ticket_by_token(const struct hall *h, const char *token);
const struct ticket *hall_ticket(const struct hall *h, int64_t id);

/* The waiting ticket id of h's day, or NULL. The pointer is h's, valid until the next change. */
const struct ticket *hall_waiting(const struct hall *h, int64_t id);

/* A number that changes whenever anything in h changes (never repeats for one h). */
uint64_t hall_version(const struct hall *h);

/* How many legs of the service (its prefix) were called today: what due_call counts in. */
int hall_calls(const struct hall *h, const char *service);

/* How many tickets wait in all; in one service (its prefix). */
int hall_nwaiting(const struct hall *h);
int hall_count(const struct hall *h, const char *service);

/*
 * Counter number's state into *cs and, when it has a current ticket, that
 * ticket into *cur (cs->ticket_id is 0 exactly when there is none). A
 * counter h does not know reads as open and idle.
 */
void hall_counter(const struct hall *h, int number, struct counter_state *cs, struct ticket *cur);

/*
 * The ticket counter index ci of cfg calls at now, as policy_next decides
 * over every waiting ticket, or NULL when none waits for it. pcs[] are the
 * policy's view of cfg's counters. Costs the number of buckets, not of tickets.
 */
const struct ticket *hall_next(const struct hall *h, const struct config *cfg,
    const struct policy_rules *r, const struct policy_counter *pcs, int ci, int64_t now);

/*
 * The tickets counter index ci would call at now, one after another, if
 * nothing else changed: up to max into out, the first being hall_next's.
 * Returns how many. The pointers are h's, valid until the next change.
 */
int hall_next_n(const struct hall *h, const struct config *cfg, const struct policy_rules *r,
    const struct policy_counter *pcs, int ci, int64_t now, const struct ticket **out, int max);

/* Waiting ticket t's place in its service's order at now (its `ahead`), or -1 when not waiting. */
int hall_ahead(const struct hall *h, const struct config *cfg, const struct policy_rules *r,
    const struct ticket *t, int64_t now);

/* The average of the service's recent service times (0 when none), as the store computed it. */
int64_t hall_avg_service_s(const struct hall *h, const char *service);

/*
 * Every waiting ticket of service index s of cfg in call order at now, into
 * out (room for hall_nwaiting); returns how many. The pointers are h's.
 */
int hall_order(const struct hall *h, const struct config *cfg, const struct policy_rules *r,
    int s, int64_t now, const struct ticket **out);

/*
 * Every waiting ticket in id order into a malloc'ed copy *out of *n (NULL
 * when none) that the caller frees. -1 when out of memory.
 */
int hall_waiting_copy(const struct hall *h, struct ticket **out, int *n);

/*
 * Whether a and b hold the same day, waiting tickets, counters and service
 * histories; when not, what differs first is written into why. For tests
 * that compare memory with a fresh load.
 */
bool hall_equal(const struct hall *a, const struct hall *b, char *why, size_t len);

#endif
