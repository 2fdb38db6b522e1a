/*
 * policy.h: who is called next. A pure module: it is given the waiting
 * tickets, the counters and the time, and touches no file, socket or clock,
 * so every fairness rule is unit-tested to the second.
 *
 * The rules, in the order they decide (docs/policy.md explains why):
 *  - A ticket waiting longer than its service's overtime threshold goes
 *    before every ticket that has not, oldest issue time first.
 *  - At a green window (爱心窗口), green tickets go before normal ones.
 *  - Otherwise tickets go in order of their virtual time, issue time minus
 *    the category's boost (0 for normal): a green ticket overtakes exactly
 *    the normal tickets issued up to `boost` before it, and no others.
 *  - Ties go to the service earlier in the counter's list, then to the
 *    ticket issued first (lower id).
 *  - A counter without English skips en tickets of a service that an open
 *    English-speaking counter serves.
 *  - A held ticket (a no-show put back in line, still waiting for its
 *    service's calls to pass: hall.h) goes after every ticket that is not
 *    held; a counter calls it only when it has nobody else to call. Held
 *    tickets among themselves: fewest calls still to wait first, then id.
 */
#ifndef BRANCHQ_POLICY_H
#define BRANCHQ_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "domain.h"

struct policy_ticket {
	int64_t id;              /* issue order; the final tie-break */
	int service;             /* index of its current service */
	enum category category;
	bool english;            /* lang en */
	int64_t issued_at;       /* original issue time (kept across transfers), unix s */
	bool held;               /* reinstated, its service's calls not passed yet */
	int hold_left;           /* when held: calls of its service still to pass */
};

struct policy_counter {
	int services[MAX_SERVICES];  /* service indexes in the counter's order */
	int nservices;
	bool green;
	bool english;
	bool open;               /* not paused */
};

struct policy_rules {
	int64_t boost_s[CAT_COUNT];
	int64_t overtime_s[MAX_SERVICES];
};

/*
 * Index into t[] of the ticket counter c (an index into counters[]) should
 * call at time now, or -1 when none waits for it. Does not look at whether
 * counter c itself is open.
 */
int policy_next(const struct policy_rules *r, const struct policy_counter *counters,
    int ncounters, int c, const struct policy_ticket *t, int n, int64_t now);

/*
 * Write into order[] (room for n) the indexes of the tickets of service s in
 * the order the branch calls them (the view of an ordinary counter that
 * speaks English), and return how many there are. A ticket's place in this
 * list is its `ahead` count.
 */
int policy_order(const struct policy_rules *r, int s, const struct policy_ticket *t,
    int n, int64_t now, int *order);

/*
 * The order policy_order puts tickets in: negative when a is called before
 * b, positive when after, 0 only for tickets with the same id (or a service
 * out of range). Used to find a ticket's place by halving a list that is
 * already in this order, instead of sorting the whole service.
 */
int policy_order_cmp(const struct policy_rules *r, const struct policy_ticket *a,
    const struct policy_ticket *b, int64_t now);

/* True when ticket t has waited longer than its service's threshold at now. */
bool policy_overtime(const struct policy_rules *r, const struct policy_ticket *t, int64_t now);

/*
 * Estimated wait in seconds for a ticket with `ahead` tickets before it:
 * ahead x avg_service_s / open_counters, rounded up. -1 when no open counter
 * serves the service.
 */
int64_t policy_estimate_wait(int ahead, int64_t avg_service_s, int open_counters);

#endif
