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

/* Stop the worker (it finishes its current job), join it and free every result. NULL is a no-op. */
void work_free(struct work *w);

/* Readable when jobs have ended; work_collect clears it. */
int work_fd(const struct work *w);

/* Clear work_fd's readiness; call before asking again for the requests that waited. */
void work_collect(struct work *w);

/*
 * The result for key (a NUL-terminated string shorter than WORK_KEY_MAX)
 * made from in (in_size bytes, copied when a job is queued). READY: *out,
 * *len are owned by the cache, valid until the next work_lookup. A FAILED
 * result is answered once, then forgotten. Runs on the loop thread only.
 */
enum work_state work_lookup(struct work *w, const char *key, const void *in,
    const uint8_t **out, size_t *len);

/* Forget key's finished result and wipe its input (a password, say). Loop thread only. */
void work_forget(struct work *w, const char *key);

#endif
