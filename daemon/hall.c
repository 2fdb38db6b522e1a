/*
 * hall.c: the business day's hall in memory (see hall.h for the contract).
 *
 * Each waiting ticket is one malloc'ed struct ticket, owned by the hall and
 * reached two ways: from byid (sorted by leg id, for lookups) and from the
 * bucket of its service letter, category and language (sorted by issue time
 * and first leg's id, the policy's order within a bucket). A change moves
 * pointers only; with 10,000 waiting that is a few tens of kilobytes of
 * memmove at most, and no ticket is copied.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hall.h"
#include "log.h"

#define HALL_LETTERS 26
#define HALL_LANGS 2
#define HALL_BUCKETS (CAT_COUNT * HALL_LANGS)
/*
 * After each letter's HALL_BUCKETS comes its held bucket: the reinstated
 * tickets whose service has not had their due_call calls yet, in the order
 * they come due. A call of the service that brings one due moves it into its
 * ordinary bucket (hall_release); a rewound call moves it back (hall_rehold).
 */
#define HALL_HELD HALL_BUCKETS
#define HALL_SLOTS (HALL_BUCKETS + 1)

struct bucket {
	struct ticket **v;
	int n, cap;
};

struct hall_counter {
	struct counter_state cs;
	bool has_cur;
	struct ticket cur;
};

/* Newest first: by end time, then by id, as store_recent_service reads them. */
struct history {
	struct service_time t[HALL_SERVICE_HISTORY];
	int n;
};

/* One undo record of the journal: what a change found before it touched it. */
enum jkind { J_TICKET, J_COUNTER, J_NCOUNTERS, J_HISTORY, J_CALLS };

struct jrec {
	enum jkind kind;
	int index;                   /* counter slot, history letter, or the old ncounters */
	bool had;                    /* J_TICKET: the ticket was waiting */
	union {
		struct ticket t;
		struct hall_counter c;
		struct history hs;
	} u;
};

struct journal {
	bool on;
	bool broken;                 /* out of memory, or the hall was read again: cannot rewind */
	struct jrec *v;
	int n, cap;
};

struct hall {
	struct journal j;
	uint64_t version;            /* changes with every change; kept across a reload */
	char bday[11];
	struct ticket **byid;
	/*
	 * The same tickets by token, for the phones: open addressing with linear
	 * probing, a power of two of slots at most half full, so a phone's
	 * look-up and an issue cost the same with 10,000 waiting as with 10.
	 */
	struct ticket **bytok;
	size_t captok;
	int n, cap;
	struct bucket b[HALL_LETTERS][HALL_SLOTS];
	int calls[HALL_LETTERS];     /* legs of each letter called today (store_day_calls) */
	struct hall_counter counters[MAX_COUNTERS];
	int ncounters;
	struct history hist[HALL_LETTERS];
};

/* The bucket row of a service prefix, or -1 when it is not one letter A..Z. */
static int
hall_letter(const char *service)
{
	if (service[0] < 'A' || service[0] > 'Z' || service[1] != '\0')
		return -1;
	return service[0] - 'A';
}

/* Whether t waits for calls of its service still to pass (a reinstated no-show). */
static bool
hall_held(const struct hall *h, const struct ticket *t)
{
	int l = hall_letter(t->service);

	return l >= 0 && t->due_call > h->calls[l];
}

static struct bucket *
hall_bucket(struct hall *h, const struct ticket *t)
{
	int l = hall_letter(t->service);
	int c = (int)t->category;

	if (l < 0 || c < 0 || c >= CAT_COUNT)
		return NULL;
	if (hall_held(h, t))
		return &h->b[l][HALL_HELD];
	return &h->b[l][c * HALL_LANGS + (t->lang == LANG_EN)];
}

static bool
bucket_is_held(const struct hall *h, const struct bucket *b)
{
	return (b - &h->b[0][0]) % HALL_SLOTS == HALL_HELD;
}

/*
 * Issue order within a bucket: issue time, then the first leg's id; in a
 * held bucket the call they come due at goes first (the policy's order of
 * held tickets).
 */
static int
bucket_key_cmp(bool held, const struct ticket *a, const struct ticket *b)
{
	if (held && a->due_call != b->due_call)
		return a->due_call < b->due_call ? -1 : 1;
	if (a->issued_at != b->issued_at)
		return a->issued_at < b->issued_at ? -1 : 1;
	if (a->origin_id != b->origin_id)
		return a->origin_id < b->origin_id ? -1 : 1;
	return 0;
}

/* The first place in b whose key is not below t's. */
static int
bucket_lower(const struct hall *h, const struct bucket *b, const struct ticket *t)
{
	bool held = bucket_is_held(h, b);
	int lo = 0, hi = b->n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (bucket_key_cmp(held, b->v[mid], t) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
grow(void *pv, int *cap, int need, size_t size)
{
	void **p = pv;
	int ncap = *cap ? *cap : 16;
	void *nv;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if ((nv = realloc(*p, (size_t)ncap * size)) == NULL)
		return -1;
	*p = nv;
	*cap = ncap;
	return 0;
}

static int
bucket_insert(struct hall *h, struct ticket *t)
{
	struct bucket *b = hall_bucket(h, t);
	int at;

	if (b == NULL)
		return 0;
	if (grow(&b->v, &b->cap, b->n + 1, sizeof(b->v[0])) != 0)
		return -1;
	at = bucket_lower(h, b, t);
	memmove(&b->v[at + 1], &b->v[at], (size_t)(b->n - at) * sizeof(b->v[0]));
	b->v[at] = t;
	b->n++;
	return 0;
}

static void
bucket_remove(struct hall *h, const struct ticket *t)
{
	struct bucket *b = hall_bucket(h, t);

	if (b == NULL)
		return;
	for (int at = bucket_lower(h, b, t); at < b->n &&
	    bucket_key_cmp(bucket_is_held(h, b), b->v[at], t) == 0; at++) {
		if (b->v[at] == t) {
			memmove(&b->v[at], &b->v[at + 1], (size_t)(b->n - at - 1) * sizeof(b->v[0]));
			b->n--;
			return;
		}
	}
}

/* The place of id in byid, or where it would go as -(place) - 1. */
static int
byid_find(const struct hall *h, int64_t id)
{
	int lo = 0, hi = h->n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (h->byid[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < h->n && h->byid[lo]->id == id ? lo : -lo - 1;
}

static struct jrec *
journal_add(struct hall *h, enum jkind kind, int index)
{
	struct journal *j = &h->j;

	if (!j->on || j->broken)
		return NULL;
	if (grow(&j->v, &j->cap, j->n + 1, sizeof(j->v[0])) != 0) {
		j->broken = true;
		return NULL;
	}
	j->v[j->n].kind = kind;
	j->v[j->n].index = index;
	return &j->v[j->n++];
}

static void
journal_ticket(struct hall *h, int64_t id, const struct ticket *before)
{
	struct jrec *r = journal_add(h, J_TICKET, 0);

	if (r == NULL)
		return;
	r->had = before != NULL;
	if (before != NULL) {
		r->u.t = *before;
	} else {
		memset(&r->u.t, 0, sizeof(r->u.t));
		r->u.t.id = id;
	}
}

static void
journal_counter(struct hall *h, int i)
{
	struct jrec *r = journal_add(h, J_COUNTER, i);

	if (r != NULL)
		r->u.c = h->counters[i];
}

struct hall *
hall_new(void)
{
	return calloc(1, sizeof(struct hall));
}

static void
hall_clear(struct hall *h)
{
	struct journal j = h->j;
	uint64_t version = h->version + 1;

	for (int i = 0; i < h->n; i++)
		free(h->byid[i]);
	free(h->byid);
	free(h->bytok);
	for (int l = 0; l < HALL_LETTERS; l++)
		for (int k = 0; k < HALL_SLOTS; k++)
			free(h->b[l][k].v);
	memset(h, 0, sizeof(*h));
	/* What the journal recorded is of a hall that is gone. */
	h->j = j;
	h->j.n = 0;
	h->j.broken = j.on;
	h->version = version;
}

void
hall_free(struct hall *h)
{
	if (h == NULL)
		return;
	hall_clear(h);
	free(h->j.v);
	free(h);
}

const char *
hall_bday(const struct hall *h)
{
	return h->bday;
}

void
hall_invalidate(struct hall *h)
{
	h->version++;
	h->bday[0] = '\0';
	h->j.broken = h->j.on;
}

static bool
current_status(enum ticket_status st)
{
	return st == TS_CALLED || st == TS_SERVING;
}

static struct hall_counter *
counter_find(struct hall *h, int number)
{
	for (int i = 0; i < h->ncounters; i++)
		if (h->counters[i].cs.number == number)
			return &h->counters[i];
	return NULL;
}

static void
history_add(struct hall *h, const struct ticket *t)
{
	int l = hall_letter(t->service);
	struct history *hs;
	struct service_time st = { t->id, t->ended_at, t->ended_at - t->called_at };
	int at = 0;

	if (l < 0 || t->status != TS_SERVED || t->called_at == 0)
		return;
	hs = &h->hist[l];
	for (int i = 0; i < hs->n; i++)
		if (hs->t[i].id == t->id)
			return;
	struct jrec *r = journal_add(h, J_HISTORY, l);
	if (r != NULL)
		r->u.hs = *hs;
	while (at < hs->n && (hs->t[at].ended_at > st.ended_at ||
	    (hs->t[at].ended_at == st.ended_at && hs->t[at].id > st.id)))
		at++;
	if (at == HALL_SERVICE_HISTORY)
		return;
	if (hs->n == HALL_SERVICE_HISTORY)
		hs->n--;
	memmove(&hs->t[at + 1], &hs->t[at], (size_t)(hs->n - at) * sizeof(hs->t[0]));
	hs->t[at] = st;
	hs->n++;
}

static size_t
tok_hash(const char *token)
{
	uint64_t x = 1469598103934665603ull;   /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)token; *p != '\0'; p++)
		x = (x ^ *p) * 1099511628211ull;
	return (size_t)(x ^ (x >> 29));
}

/* The slot of token in bytok, or -1. */
static ptrdiff_t
tok_find(const struct hall *h, const char *token)
{
	if (h->captok == 0)
		return -1;
	for (size_t m = h->captok - 1, k = tok_hash(token) & m; h->bytok[k] != NULL; k = (k + 1) & m)
		if (strcmp(h->bytok[k]->token, token) == 0)
			return (ptrdiff_t)k;
	return -1;
}

/* Put t in bytok, which has a free slot. */
static void
tok_place(struct ticket **slots, size_t cap, struct ticket *t)
{
	size_t k = tok_hash(t->token) & (cap - 1);

	while (slots[k] != NULL)
		k = (k + 1) & (cap - 1);
	slots[k] = t;
}

/* Take t out of bytok, moving back what probed past its slot. */
static void
tok_remove(struct hall *h, const struct ticket *t)
{
	ptrdiff_t at = tok_find(h, t->token);
	size_t m = h->captok - 1, hole, k;

	if (at < 0 || h->bytok[at] != t)
		return;
	hole = (size_t)at;
	h->bytok[hole] = NULL;
	for (k = (hole + 1) & m; h->bytok[k] != NULL; k = (k + 1) & m) {
		size_t home = tok_hash(h->bytok[k]->token) & m;
		/* Move it into the hole unless its home lies cyclically in (hole, k]. */
		if (((k - home) & m) >= ((k - hole) & m)) {
			h->bytok[hole] = h->bytok[k];
			h->bytok[k] = NULL;
			hole = k;
		}
	}
}

/* Make room in bytok for n tickets. 0, or -1 when out of memory. */
static int
tok_reserve(struct hall *h, int n)
{
	size_t cap = h->captok ? h->captok : 64;
	struct ticket **slots;

	while (cap < 2 * (size_t)n)
		cap *= 2;
	if (cap == h->captok)
		return 0;
	if ((slots = calloc(cap, sizeof(*slots))) == NULL)
		return -1;
	for (size_t k = 0; k < h->captok; k++)
		if (h->bytok[k] != NULL)
			tok_place(slots, cap, h->bytok[k]);
	free(h->bytok);
	h->bytok = slots;
	h->captok = cap;
	return 0;
}

static void
tok_insert(struct hall *h, struct ticket *t)
{
	tok_place(h->bytok, h->captok, t);
}

/*
 * Make the waiting set hold t for its id when belongs, or nothing for that
 * id; counters and histories are not touched. 0, or -1 when out of memory.
 */
static int
waiting_set(struct hall *h, int64_t id, const struct ticket *t, bool belongs)
{
	int k = byid_find(h, id);

	if (k >= 0 && !belongs) {
		struct ticket *gone = h->byid[k];

		bucket_remove(h, gone);
		tok_remove(h, gone);
		memmove(&h->byid[k], &h->byid[k + 1], (size_t)(h->n - k - 1) * sizeof(h->byid[0]));
		h->n--;
		free(gone);
	} else if (k >= 0) {
		struct ticket *same = h->byid[k];

		bucket_remove(h, same);
		tok_remove(h, same);
		h->n--;
		*same = *t;
		tok_insert(h, same);
		h->n++;
		if (bucket_insert(h, same) != 0)
			return -1;
	} else if (belongs) {
		struct ticket *nt = malloc(sizeof(*nt));

		k = -k - 1;
		if (nt == NULL || grow(&h->byid, &h->cap, h->n + 1, sizeof(h->byid[0])) != 0 ||
		    tok_reserve(h, h->n + 1) != 0) {
			free(nt);
			return -1;
		}
		*nt = *t;
		memmove(&h->byid[k + 1], &h->byid[k], (size_t)(h->n - k) * sizeof(h->byid[0]));
		h->byid[k] = nt;
		tok_insert(h, nt);
		h->n++;
		if (bucket_insert(h, nt) != 0)
			return -1;
	}
	return 0;
}

/*
 * Move the tickets of letter l that are where they were before calls[l]
 * changed into the bucket they belong in now: the held bucket's heads that
 * came due into their own buckets, and, after a rewound call (rehold), the
 * reinstated tickets that are held again back: that costs the letter's
 * tickets, a call only its held bucket's heads. 0, or -1 when out of memory.
 */
static int
hall_settle(struct hall *h, int l, bool rehold)
{
	struct bucket *hb = &h->b[l][HALL_HELD];

	while (hb->n > 0 && !hall_held(h, hb->v[0])) {
		struct ticket *t = hb->v[0];

		memmove(&hb->v[0], &hb->v[1], (size_t)(hb->n - 1) * sizeof(hb->v[0]));
		hb->n--;
		if (bucket_insert(h, t) != 0)
			return -1;
	}
	for (int b = 0; rehold && b < HALL_BUCKETS; b++) {
		struct bucket *bk = &h->b[l][b];

		for (int i = 0; i < bk->n; i++) {
			struct ticket *t = bk->v[i];

			if (t->due_call == 0 || !hall_held(h, t))
				continue;
			memmove(&bk->v[i], &bk->v[i + 1], (size_t)(bk->n - i - 1) * sizeof(bk->v[0]));
			bk->n--;
			i--;
			if (bucket_insert(h, t) != 0)
				return -1;
		}
	}
	return 0;
}

/* One more call of letter l today: what brings its held tickets due. */
static int
hall_count_call(struct hall *h, int l)
{
	struct jrec *r = journal_add(h, J_CALLS, l);

	if (r != NULL)
		memset(&r->u, 0, sizeof(r->u));
	h->calls[l]++;
	return hall_settle(h, l, false);
}

int
hall_put_ticket(struct hall *h, const struct ticket *t)
{
	bool belongs = t->status == TS_WAITING && strcmp(t->bday, h->bday) == 0 &&
	    hall_bucket(h, t) != NULL;
	const struct ticket *was = hall_waiting(h, t->id);
	/* A leg's first call counts, whoever it goes to: a recall is no new call. */
	int called = was != NULL && was->called_at == 0 && t->called_at != 0 ?
	    hall_letter(was->service) : -1;

	h->version++;
	journal_ticket(h, t->id, was);
	if (waiting_set(h, t->id, t, belongs) != 0)
		goto oom;
	if (called >= 0 && hall_count_call(h, called) != 0)
		goto oom;
	for (int i = 0; i < h->ncounters; i++) {
		struct hall_counter *hc = &h->counters[i];

		if (hc->cs.ticket_id != t->id)
			continue;
		journal_counter(h, i);
		if (current_status(t->status)) {
			hc->cur = *t;
			hc->has_cur = true;
		} else {
			hc->cs.ticket_id = 0;
			hc->has_cur = false;
		}
	}
	history_add(h, t);
	return 0;
oom:
	log_warnx("hall: out of memory; the hall is read again from the database");
	hall_invalidate(h);
	return -1;
}

int
hall_put_counter(struct hall *h, const struct counter_state *cs, const struct ticket *cur)
{
	struct hall_counter *hc = counter_find(h, cs->number);

	h->version++;
	if (hc == NULL) {
		struct jrec *r;

		if (h->ncounters == MAX_COUNTERS) {
			hall_invalidate(h);
			return -1;
		}
		if ((r = journal_add(h, J_NCOUNTERS, h->ncounters)) != NULL)
			memset(&r->u, 0, sizeof(r->u));
		hc = &h->counters[h->ncounters++];
	} else {
		journal_counter(h, (int)(hc - h->counters));
	}
	memset(hc, 0, sizeof(*hc));
	hc->cs = *cs;
	if (cs->ticket_id != 0 && cur != NULL && cur->id == cs->ticket_id &&
	    current_status(cur->status)) {
		hc->cur = *cur;
		hc->has_cur = true;
	} else {
		hc->cs.ticket_id = 0;
	}
	return 0;
}

enum bq_err
hall_load(struct hall *h, struct store *s, const struct config *cfg, const char *bday)
{
	struct ticket *w = NULL;
	int n = 0;
	enum bq_err e;

	hall_clear(h);
	if ((e = store_day_calls(s, bday, h->calls)) != BQ_OK)
		return e;
	if ((e = store_waiting(s, bday, &w, &n)) != BQ_OK)
		return e;
	snprintf(h->bday, sizeof(h->bday), "%s", bday);
	for (int i = 0; i < n && e == BQ_OK; i++)
		if (hall_put_ticket(h, &w[i]) != 0)
			e = BQ_ERR_INTERNAL;
	free(w);
	for (int i = 0; i < cfg->ncounters && e == BQ_OK; i++) {
		struct counter_state cs;
		struct ticket cur;
		bool has = false;

		if ((e = store_counter_get(s, cfg->counters[i].number, &cs)) != BQ_OK)
			break;
		if (cs.ticket_id != 0) {
			e = store_ticket_get(s, cs.ticket_id, &cur);
			if (e == BQ_ERR_UNKNOWN_TICKET)
				e = BQ_OK;
			else if (e == BQ_OK)
				has = true;
		}
		if (e == BQ_OK && hall_put_counter(h, &cs, has ? &cur : NULL) != 0)
			e = BQ_ERR_INTERNAL;
	}
	for (int l = 0; l < HALL_LETTERS && e == BQ_OK; l++) {
		char id[2] = { (char)('A' + l), '\0' };
		e = store_recent_service(s, id, HALL_SERVICE_HISTORY, h->hist[l].t, &h->hist[l].n);
	}
	if (e != BQ_OK)
		hall_clear(h);
	return e;
}

void
hall_journal_begin(struct hall *h)
{
	h->j.on = true;
	h->j.broken = false;
	h->j.n = 0;
}

int
hall_journal_rewind(struct hall *h)
{
	struct journal *j = &h->j;
	int ret = 0;

	h->version++;
	if (j->broken) {
		hall_invalidate(h);
		ret = -1;
	}
	for (int i = j->n - 1; i >= 0 && ret == 0; i--) {
		struct jrec *r = &j->v[i];

		switch (r->kind) {
		case J_TICKET:
			if (waiting_set(h, r->u.t.id, &r->u.t, r->had) != 0) {
				hall_invalidate(h);
				ret = -1;
			}
			break;
		case J_COUNTER:
			h->counters[r->index] = r->u.c;
			break;
		case J_NCOUNTERS:
			h->ncounters = r->index;
			break;
		case J_HISTORY:
			h->hist[r->index] = r->u.hs;
			break;
		case J_CALLS:
			h->calls[r->index]--;
			if (hall_settle(h, r->index, true) != 0) {
				hall_invalidate(h);
				ret = -1;
			}
			break;
		}
	}
	j->on = j->broken = false;
	j->n = 0;
	return ret;
}

void
hall_journal_end(struct hall *h)
{
	h->j.on = h->j.broken = false;
	h->j.n = 0;
}

const struct ticket *
hall_ticket_by_token(const struct hall *h, const char *token)
{
	ptrdiff_t k = tok_find(h, token);

	if (k >= 0)
		return h->bytok[k];
	for (int i = 0; i < h->ncounters; i++)
		if (h->counters[i].has_cur && strcmp(h->counters[i].cur.token, token) == 0)
			return &h->counters[i].cur;
	return NULL;
}

const struct ticket *
hall_ticket(const struct hall *h, int64_t id)
{
	const struct ticket *t = hall_waiting(h, id);

	for (int i = 0; t == NULL && i < h->ncounters; i++)
		if (h->counters[i].has_cur && h->counters[i].cur.id == id)
			t = &h->counters[i].cur;
	return t;
}

const struct ticket *
hall_waiting(const struct hall *h, int64_t id)
{
	int k = byid_find(h, id);

	return k >= 0 ? h->byid[k] : NULL;
}

uint64_t
hall_version(const struct hall *h)
{
	return h->version;
}

int
hall_nwaiting(const struct hall *h)
{
	return h->n;
}

int
hall_calls(const struct hall *h, const char *service)
{
	int l = hall_letter(service);

	return l >= 0 ? h->calls[l] : 0;
}

int
hall_count(const struct hall *h, const char *service)
{
	int l = hall_letter(service), n = 0;

	for (int b = 0; l >= 0 && b < HALL_SLOTS; b++)
		n += h->b[l][b].n;
	return n;
}

void
hall_counter(const struct hall *h, int number, struct counter_state *cs, struct ticket *cur)
{
	const struct hall_counter *hc = counter_find((struct hall *)h, number);

	memset(cs, 0, sizeof(*cs));
	cs->number = number;
	if (hc == NULL)
		return;
	*cs = hc->cs;
	if (hc->has_cur)
		*cur = hc->cur;
	else
		cs->ticket_id = 0;
}

static void
policy_ticket_of(const struct hall *h, const struct ticket *t, int s, struct policy_ticket *pt)
{
	int l = hall_letter(t->service);

	pt->id = t->origin_id;
	pt->service = s;
	pt->category = t->category;
	pt->english = t->lang == LANG_EN;
	pt->issued_at = t->issued_at;
	pt->held = hall_held(h, t);
	pt->hold_left = pt->held ? (int)(t->due_call - h->calls[l]) : 0;
}

int
hall_next_n(const struct hall *h, const struct config *cfg, const struct policy_rules *r,
    const struct policy_counter *pcs, int ci, int64_t now, const struct ticket **out, int max)
{
	struct policy_ticket pt[MAX_SERVICES * HALL_SLOTS];
	const struct bucket *bk[MAX_SERVICES * HALL_SLOTS];
	int svc[MAX_SERVICES * HALL_SLOTS], at[MAX_SERVICES * HALL_SLOTS] = { 0 };
	const struct counter_conf *cc = &cfg->counters[ci];
	bool seen[HALL_LETTERS] = { false };
	int nb = 0, got = 0;

	for (int j = 0; j < cc->nservices; j++) {
		int s = cc->services[j], l = hall_letter(cfg->services[s].id);

		if (l < 0 || seen[l])
			continue;
		seen[l] = true;
		for (int b = 0; b < HALL_SLOTS; b++) {
			if (h->b[l][b].n == 0)
				continue;
			bk[nb] = &h->b[l][b];
			svc[nb] = s;
			nb++;
		}
	}
	/*
	 * Within a bucket the first ticket goes first: the others cannot be the
	 * next. Taking the pick out of its bucket and asking again is what the
	 * next call would see, since a call changes no counter's policy view.
	 */
	while (got < max) {
		int map[MAX_SERVICES * HALL_SLOTS], k = 0, pick;

		for (int i = 0; i < nb; i++) {
			if (at[i] == bk[i]->n)
				continue;
			policy_ticket_of(h, bk[i]->v[at[i]], svc[i], &pt[k]);
			map[k++] = i;
		}
		pick = policy_next(r, pcs, cfg->ncounters, ci, pt, k, now);
		if (pick < 0)
			break;
		out[got++] = bk[map[pick]]->v[at[map[pick]]++];
	}
	return got;
}

const struct ticket *
hall_next(const struct hall *h, const struct config *cfg, const struct policy_rules *r,
    const struct policy_counter *pcs, int ci, int64_t now)
{
	const struct ticket *t = NULL;

	return hall_next_n(h, cfg, r, pcs, ci, now, &t, 1) == 1 ? t : NULL;
}

int
hall_ahead(const struct hall *h, const struct config *cfg, const struct policy_rules *r,
    const struct ticket *t, int64_t now)
{
	const struct ticket *m = hall_waiting(h, t->id);
	struct policy_ticket pm, pu;
	int s, l, ahead = 0;

	if (m == NULL || (s = config_service_index(cfg, m->service)) < 0)
		return -1;
	l = hall_letter(m->service);
	if (hall_held(h, m)) {
		/* Called after its calls to go, sooner when nobody else is left (policy.h). */
		const struct bucket *hb = &h->b[l][HALL_HELD];
		int unheld = hall_count(h, m->service) - hb->n, before = 0;

		while (before < hb->n && hb->v[before] != m)
			before++;
		return (int)(m->due_call - h->calls[l]) < unheld ? (int)(m->due_call - h->calls[l]) + before :
		    unheld + before;
	}
	policy_ticket_of(h, m, s, &pm);
	/* Those before m in a bucket are a prefix of it: count each by halving. */
	for (int b = 0; b < HALL_BUCKETS; b++) {
		const struct bucket *bk = &h->b[l][b];
		int lo = 0, hi = bk->n;

		while (lo < hi) {
			int mid = lo + (hi - lo) / 2;
			policy_ticket_of(h, bk->v[mid], s, &pu);
			if (policy_order_cmp(r, &pu, &pm, now) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		ahead += lo;
	}
	return ahead;
}

int64_t
hall_avg_service_s(const struct hall *h, const char *service)
{
	int l = hall_letter(service);
	int64_t sum = 0;

	if (l < 0 || h->hist[l].n == 0)
		return 0;
	for (int i = 0; i < h->hist[l].n; i++)
		sum += h->hist[l].t[i].duration_s;
	return sum / h->hist[l].n;
}

int
hall_order(const struct hall *h, const struct config *cfg, const struct policy_rules *r, int s,
    int64_t now, const struct ticket **out)
{
	int l = hall_letter(cfg->services[s].id), at[HALL_SLOTS] = { 0 }, k = 0;

	if (l < 0)
		return 0;
	/* Merge the service's buckets, each already in the policy's order. */
	for (;;) {
		struct policy_ticket best, pu;
		int bi = -1;

		for (int b = 0; b < HALL_SLOTS; b++) {
			if (at[b] == h->b[l][b].n)
				continue;
			policy_ticket_of(h, h->b[l][b].v[at[b]], s, &pu);
			if (bi < 0 || policy_order_cmp(r, &pu, &best, now) < 0) {
				bi = b;
				best = pu;
			}
		}
		if (bi < 0)
			return k;
		out[k++] = h->b[l][bi].v[at[bi]++];
	}
}

int
hall_waiting_copy(const struct hall *h, struct ticket **out, int *n)
{
	*out = NULL;
	*n = 0;
	if (h->n == 0)
		return 0;
	if ((*out = malloc((size_t)h->n * sizeof(**out))) == NULL)
		return -1;
	for (int i = 0; i < h->n; i++)
		(*out)[i] = *h->byid[i];
	*n = h->n;
	return 0;
}

#define DIFF(...) do { snprintf(why, len, __VA_ARGS__); return false; } while (0)

static bool
ticket_equal(const struct ticket *a, const struct ticket *b)
{
	return a->id == b->id && a->origin_id == b->origin_id && strcmp(a->bday, b->bday) == 0 &&
	    strcmp(a->number, b->number) == 0 && strcmp(a->service, b->service) == 0 &&
	    a->category == b->category && a->lang == b->lang && a->status == b->status &&
	    strcmp(a->token, b->token) == 0 && a->issued_at == b->issued_at &&
	    a->created_at == b->created_at && a->called_at == b->called_at &&
	    a->recalled_at == b->recalled_at && a->started_at == b->started_at &&
	    a->ended_at == b->ended_at && a->counter == b->counter && a->recalls == b->recalls &&
	    a->transferred_to == b->transferred_to && a->print_state == b->print_state &&
	    strcmp(a->print_error, b->print_error) == 0 && a->reinstated == b->reinstated &&
	    a->due_call == b->due_call;
}

/* Every bucket in order, and every ticket in exactly its own bucket. */
static bool
hall_consistent(const struct hall *h, char *why, size_t len)
{
	int total = 0;

	for (int l = 0; l < HALL_LETTERS; l++) {
		for (int b = 0; b < HALL_SLOTS; b++) {
			const struct bucket *bk = &h->b[l][b];

			for (int i = 0; i < bk->n; i++) {
				const struct ticket *t = bk->v[i];
				if (hall_bucket((struct hall *)h, t) != bk)
					DIFF("ticket %lld is in another bucket", (long long)t->id);
				if (i > 0 && bucket_key_cmp(b == HALL_HELD, bk->v[i - 1], t) >= 0)
					DIFF("bucket %c/%d is out of order at %d", 'A' + l, b, i);
				if (hall_waiting(h, t->id) != t)
					DIFF("ticket %lld is in a bucket but not in the index",
					    (long long)t->id);
			}
			total += bk->n;
		}
	}
	if (total != h->n)
		DIFF("%d tickets in buckets, %d in the index", total, h->n);
	for (int i = 0; i < h->n; i++)
		if (tok_find(h, h->byid[i]->token) < 0 || h->bytok[tok_find(h, h->byid[i]->token)] !=
		    h->byid[i])
			DIFF("ticket %lld is not found by its token", (long long)h->byid[i]->id);
	{
		int held = 0;
		for (size_t k = 0; k < h->captok; k++)
			held += h->bytok[k] != NULL;
		if (held != h->n)
			DIFF("%d tickets by token, %d in the index", held, h->n);
	}
	return true;
}

bool
hall_equal(const struct hall *a, const struct hall *b, char *why, size_t len)
{
	if (!hall_consistent(a, why, len) || !hall_consistent(b, why, len))
		return false;
	if (strcmp(a->bday, b->bday) != 0)
		DIFF("day %s against %s", a->bday, b->bday);
	if (a->n != b->n)
		DIFF("%d waiting against %d", a->n, b->n);
	for (int i = 0; i < a->n; i++)
		if (!ticket_equal(a->byid[i], b->byid[i]))
			DIFF("waiting ticket %lld differs", (long long)a->byid[i]->id);
	for (int i = 0; i < a->ncounters; i++) {
		const struct hall_counter *x = &a->counters[i];
		const struct hall_counter *y = counter_find((struct hall *)b, x->cs.number);

		if (y == NULL)
			DIFF("counter %d is missing", x->cs.number);
		if (x->cs.paused != y->cs.paused || x->cs.paused_at != y->cs.paused_at ||
		    x->cs.ticket_id != y->cs.ticket_id || x->has_cur != y->has_cur ||
		    (x->has_cur && !ticket_equal(&x->cur, &y->cur)))
			DIFF("counter %d differs", x->cs.number);
	}
	for (int l = 0; l < HALL_LETTERS; l++) {
		if (a->calls[l] != b->calls[l])
			DIFF("service %c: %d calls against %d", 'A' + l, a->calls[l], b->calls[l]);
		if (a->hist[l].n != b->hist[l].n)
			DIFF("service %c: %d service times against %d", 'A' + l, a->hist[l].n,
			    b->hist[l].n);
		for (int i = 0; i < a->hist[l].n; i++)
			if (memcmp(&a->hist[l].t[i], &b->hist[l].t[i], sizeof(a->hist[l].t[i])) != 0)
				DIFF("service %c: service time %d differs", 'A' + l, i);
	}
	return true;
}
