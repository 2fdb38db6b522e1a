/*
 * work.c: a worker thread with a keyed cache of its results (see work.h).
 *
 * Slots: each is FREE, QUEUED (the worker will take it), RUNNING, READY or
 * FAILED. The loop moves FREE -> QUEUED and evicts READY/FAILED slots, the
 * least recently asked for first; the worker moves QUEUED -> RUNNING ->
 * READY/FAILED, urgent first, then oldest queued first. Both hold mu. While
 * a slot is RUNNING nothing but the worker writes it, so the worker reads
 * its input unlocked. An urgent job that finds no slot takes the newest
 * queued job that is not urgent (QUEUED -> FREE by the loop): the requests
 * that waited for it are woken, ask again and queue it anew or are refused.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "work.h"

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_RUNNING, SLOT_READY, SLOT_FAILED };

struct slot {
	enum slot_state state;
	char key[WORK_KEY_MAX];
	unsigned char *in;                  /* in_size bytes, in the work's inputs array */
	uint8_t *out;                       /* READY: the result; owned by the slot */
	size_t len;
	uint64_t queued;                    /* when it was queued, for the worker's order */
	uint64_t used;                      /* last lookup, for eviction */
	bool urgent;
	char owner[WORK_OWNER_MAX];         /* who asked first; "" none */
};

struct work {
	const char *name;
	work_run_fn *run;
	size_t in_size;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int efd;
	bool stop;
	uint64_t clock;
	int share;                          /* jobs not yet done per owner; 0: no limit */
	bool secret;                        /* wipe inputs once run; match on keys alone */
	struct log_limit busy_log, limited_log;   /* loop thread only */
	int nslots;
	struct slot *slots;
	unsigned char *inputs;              /* nslots * in_size bytes */
};

/* The oldest urgent QUEUED slot, else the oldest QUEUED one, or NULL. Under mu. */
static struct slot *
next_job(struct work *w)
{
	struct slot *s = NULL;

	for (int i = 0; i < w->nslots; i++) {
		struct slot *c = &w->slots[i];
		if (c->state == SLOT_QUEUED && (s == NULL || c->urgent > s->urgent ||
		    (c->urgent == s->urgent && c->queued < s->queued)))
			s = c;
	}
	return s;
}

/* How many jobs not yet done owner holds. Under mu. */
static int
owner_jobs(const struct work *w, const char *owner)
{
	int n = 0;

	for (int i = 0; i < w->nslots; i++) {
		const struct slot *c = &w->slots[i];
		if ((c->state == SLOT_QUEUED || c->state == SLOT_RUNNING) &&
		    strcmp(c->owner, owner) == 0)
			n++;
	}
	return n;
}

/* The newest queued job that is not urgent, for an urgent one to take its slot; or NULL. */
static struct slot *
preemptable(struct work *w)
{
	struct slot *s = NULL;

	for (int i = 0; i < w->nslots; i++) {
		struct slot *c = &w->slots[i];
		if (c->state == SLOT_QUEUED && !c->urgent && (s == NULL || c->queued > s->queued))
			s = c;
	}
	return s;
}

static void *
worker(void *arg)
{
	struct work *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct slot *s = NULL;
		uint8_t *out = NULL;
		size_t len = 0;
		uint64_t one = 1;
		bool ok;

		while (!w->stop && (s = next_job(w)) == NULL)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		s->state = SLOT_RUNNING;
		pthread_mutex_unlock(&w->mu);

		ok = w->run(s->in, &out, &len);
		if (w->secret)
			explicit_bzero(s->in, w->in_size);

		pthread_mutex_lock(&w->mu);
		if (!ok) {
			free(out);
			out = NULL;
			len = 0;
		}
		s->out = out;
		s->len = len;
		s->state = ok ? SLOT_READY : SLOT_FAILED;
		if (write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("%s: eventfd", w->name);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct work *
work_new(const char *name, int slots, size_t in_size, work_run_fn *run)
{
	struct work *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->name = name;
	w->run = run;
	w->in_size = in_size;
	w->nslots = slots;
	w->efd = -1;
	w->slots = calloc((size_t)slots, sizeof(*w->slots));
	w->inputs = calloc((size_t)slots, in_size);
	if (w->slots == NULL || w->inputs == NULL)
		goto fail;
	for (int i = 0; i < slots; i++)
		w->slots[i].in = w->inputs + (size_t)i * in_size;
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		goto fail;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thread, NULL, worker, w) != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		goto fail;
	}
	return w;
fail:
	if (w->efd >= 0)
		close(w->efd);
	free(w->slots);
	free(w->inputs);
	free(w);
	return NULL;
}

void
work_free(struct work *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	for (int i = 0; i < w->nslots; i++)
		free(w->slots[i].out);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	close(w->efd);
	free(w->slots);
	free(w->inputs);
	free(w);
}

int
work_fd(const struct work *w)
{
	return w->efd;
}

void
work_collect(struct work *w)
{
	uint64_t n;

	while (read(w->efd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		;
}

void
work_set_secret(struct work *w)
{
	pthread_mutex_lock(&w->mu);
	w->secret = true;
	pthread_mutex_unlock(&w->mu);
}

void
work_set_share(struct work *w, int per_owner)
{
	pthread_mutex_lock(&w->mu);
	w->share = per_owner;
	pthread_mutex_unlock(&w->mu);
}

enum work_state
work_lookup(struct work *w, const char *key, const void *in, const struct work_from *from,
    const uint8_t **out, size_t *len)
{
	struct slot *s = NULL, *victim = NULL;
	enum work_state st = WORK_BUSY;
	const char *owner = from != NULL && from->owner != NULL ? from->owner : "";
	bool urgent = from == NULL || from->urgent;

	pthread_mutex_lock(&w->mu);
	w->clock++;
	for (int i = 0; i < w->nslots && s == NULL; i++)
		if (w->slots[i].state != SLOT_FREE && strcmp(w->slots[i].key, key) == 0 &&
		    (w->secret || memcmp(w->slots[i].in, in, w->in_size) == 0))
			s = &w->slots[i];
	if (s != NULL) {
		switch (s->state) {
		case SLOT_READY:
			s->used = w->clock;
			*out = s->out;
			*len = s->len;
			st = WORK_READY;
			break;
		case SLOT_FAILED:
			/* Say so once; the next request tries again. */
			s->state = SLOT_FREE;
			st = WORK_FAILED;
			break;
		default:
			st = WORK_PENDING;
		}
		goto out;
	}
	if (*owner != '\0' && w->share > 0 && owner_jobs(w, owner) >= w->share) {
		log_limited(&w->limited_log, "%s: %s holds %d jobs not yet done, its share; refusing "
		    "more", w->name, owner, w->share);
		st = WORK_LIMITED;
		goto out;
	}
	/* A free slot, else the least recently used finished one. */
	for (int i = 0; i < w->nslots; i++) {
		struct slot *c = &w->slots[i];
		if (c->state == SLOT_FREE) {
			victim = c;
			break;
		}
		if ((c->state == SLOT_READY || c->state == SLOT_FAILED) &&
		    (victim == NULL || c->used < victim->used))
			victim = c;
	}
	if (victim == NULL && urgent && (victim = preemptable(w)) != NULL) {
		uint64_t one = 1;
		/* Its waiters ask again: woken as if it had ended. */
		explicit_bzero(victim->in, w->in_size);
		if (write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("%s: eventfd", w->name);
	}
	if (victim == NULL) {
		log_limited(&w->busy_log, "%s: %d jobs waiting; refusing %s", w->name, w->nslots, key);
		goto out;
	}
	free(victim->out);
	victim->out = NULL;
	victim->len = 0;
	snprintf(victim->key, sizeof(victim->key), "%s", key);
	memcpy(victim->in, in, w->in_size);
	victim->used = victim->queued = w->clock;
	victim->urgent = urgent;
	snprintf(victim->owner, sizeof(victim->owner), "%s", owner);
	victim->state = SLOT_QUEUED;
	pthread_cond_signal(&w->cv);
	st = WORK_PENDING;
out:
	pthread_mutex_unlock(&w->mu);
	return st;
}

void
work_forget(struct work *w, const char *key)
{
	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < w->nslots; i++) {
		struct slot *s = &w->slots[i];
		if ((s->state == SLOT_READY || s->state == SLOT_FAILED) && strcmp(s->key, key) == 0) {
			explicit_bzero(s->in, w->in_size);
			free(s->out);
			s->out = NULL;
			s->len = 0;
			s->state = SLOT_FREE;
		}
	}
	pthread_mutex_unlock(&w->mu);
}
