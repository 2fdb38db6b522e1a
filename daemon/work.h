/*
 * work.h: one worker thread and a small cache of what it made, for work
 * too slow for the event loop (a spoken call, a ticket's PNG preview).
 *
 * The loop asks with work_lookup(key, input): a result made from the same
 * key and the same input bytes is answered from the cache; otherwise a job
 * is queued and the answer is WORK_PENDING. When a job ends the worker
 * writes to an eventfd (work_fd); the loop calls work_collect() and asks
 * again for the requests that waited (http_wake_pending). The slots are
 * both the cache and the queue, so the queue is bounded by their number:
 * when every slot holds a job not yet done, a new one is refused.
 *
 * Slots are shared with the worker under one mutex. A finished result is
 * only ever evicted by the loop, so a pointer work_lookup() returned stays
 * valid until the loop's next work_lookup() or work_free().
 *
 * Fairness: a job asked for by an urgent client (the hall's own call,
 * staff) runs before any other, and may take the slot of a queued job that
 * is not urgent. A client named by its owner (an address, a session) holds
 * at most the work's share of jobs not yet done; past it work_lookup
 * answers WORK_LIMITED without touching anyone else's job, so one client
 * flooding the worker cannot push out another's request.
 */
#ifndef BRANCHQ_WORK_H
#define BRANCHQ_WORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WORK_KEY_MAX 32

enum work_state {
	WORK_READY,                 /* *out and *len are the result */
	WORK_PENDING,               /* queued or being made; wait for work_fd */
	WORK_FAILED,                /* run failed; the next lookup tries again */
	WORK_BUSY,                  /* every slot holds a job not yet done: refused */
	WORK_LIMITED,               /* this owner holds its share of jobs not yet done: refused */
};

#define WORK_OWNER_MAX 72

/* Who asks for a job. NULL stands for urgent with no owner: never limited. */
struct work_from {
	const char *owner;          /* the client, for its share; NULL: not counted */
	bool urgent;                /* runs before the rest, may take a queued job's slot */
};

/*
 * What the worker runs for one job: make a result from in (in_size bytes)
 * into a malloc'ed *out of *len bytes; false on failure. Runs on the
 * worker thread only, one job at a time.
 */
typedef bool work_run_fn(const void *in, uint8_t **out, size_t *len);

struct work;

/*
 * Start a worker named name (for logs; a static string) with slots cache
 * slots, each holding an input of in_size bytes. NULL when out of memory or
 * no thread could start. Free with work_free.
 */
struct work *work_new(const char *name, int slots, size_t in_size, work_run_fn *run);

/* The most jobs not yet done one owner may hold (0, the default: no limit). Loop thread only. */
void work_set_share(struct work *w, int per_owner);

/*
 * The inputs are secrets (passwords): each is wiped as soon as its job has
 * run, whether or not anyone comes back for the result, and a lookup finds
 * a job by its key alone (give each job a key of its own). Before any lookup.
 */
void work_set_secret(struct work *w);

/* Stop the worker (it finishes its current job), join it and free every result. NULL is a no-op. */
void work_free(struct work *w);

/* Readable when jobs have ended; work_collect clears it. */
int work_fd(const struct work *w);

/* Clear work_fd's readiness; call before asking again for the requests that waited. */
void work_collect(struct work *w);

/*
 * The result for key (a NUL-terminated string shorter than WORK_KEY_MAX)
 * made from in (in_size bytes, copied when a job is queued), asked for by
 * from (NULL: urgent, no owner). READY: *out, *len are owned by the cache,
 * valid until the next work_lookup. A FAILED result is answered once, then
 * forgotten. A job already queued or made is answered to anyone, whatever
 * their share. Runs on the loop thread only.
 */
enum work_state work_lookup(struct work *w, const char *key, const void *in,
    const struct work_from *from, const uint8_t **out, size_t *len);

/* Forget key's finished result and wipe its input (a password, say). Loop thread only. */
void work_forget(struct work *w, const char *key);

#endif
