/*
 * auth.c: accounts, sessions, tokens, roles, lockouts and the audit trail
 * (see auth.h).
 *
 * Sessions and tokens live in two small arrays: a branch has tens of staff
 * and devices, and a linear scan of them costs less than the hash of the
 * credential that is looked up. A secret is never kept: only its BLAKE2b
 * hash, in memory as in the database, compared in constant time.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "auth.h"
#include "bday.h"
#include "log.h"

#define ATTEMPTS_MAX 256            /* names and addresses whose failures are counted */
#define NAME_FAILS_LOCK 5           /* failed sign-ins that lock a name */
#define ADDR_FAILS_SLOW 20          /* failed sign-ins from one address that slow it */
#define ADDR_WINDOW_S 600           /* ... within this long */
#define ADDR_SLOW_S 60              /* ... and then: one attempt a minute */
#define PENDING_MAX 256

static const char *const role_names[ROLE_COUNT] = {
	[ROLE_NONE] = "none", [ROLE_LOBBY] = "lobby", [ROLE_TELLER] = "teller",
	[ROLE_HEAD] = "head", [ROLE_ADMIN] = "admin", [ROLE_KIOSK] = "kiosk",
	[ROLE_DISPLAY] = "display", [ROLE_METRICS] = "metrics", [ROLE_KEYPAD] = "keypad",
};

static const char *const cap_names[CAP_COUNT] = {
	[CAP_PUBLIC] = "public", [CAP_SIGNED_IN] = "signed_in", [CAP_ISSUE] = "issue",
	[CAP_TICKETS] = "tickets", [CAP_PREVIEW] = "preview", [CAP_QUEUE] = "queue",
	[CAP_COUNTER] = "counter", [CAP_RELEASE] = "release", [CAP_FIGURES] = "figures",
	[CAP_REPORTS] = "reports", [CAP_AUDIT] = "audit", [CAP_ADMIN] = "admin",
	[CAP_METRICS] = "metrics", [CAP_RATE] = "rate",
};

#define C(x) (1u << (x))
/* The roles table of docs/security.md, as bits. */
static const unsigned role_caps[ROLE_COUNT] = {
	[ROLE_NONE] = C(CAP_PUBLIC),
	[ROLE_LOBBY] = C(CAP_PUBLIC) | C(CAP_SIGNED_IN) | C(CAP_ISSUE) | C(CAP_TICKETS) |
	    C(CAP_PREVIEW) | C(CAP_QUEUE) | C(CAP_FIGURES),
	[ROLE_TELLER] = C(CAP_PUBLIC) | C(CAP_SIGNED_IN) | C(CAP_QUEUE) | C(CAP_COUNTER),
	[ROLE_HEAD] = C(CAP_PUBLIC) | C(CAP_SIGNED_IN) | C(CAP_ISSUE) | C(CAP_TICKETS) |
	    C(CAP_PREVIEW) | C(CAP_QUEUE) | C(CAP_COUNTER) | C(CAP_RELEASE) | C(CAP_FIGURES) |
	    C(CAP_REPORTS) | C(CAP_AUDIT),
	[ROLE_ADMIN] = (1u << CAP_COUNT) - 1,
	[ROLE_KIOSK] = C(CAP_PUBLIC) | C(CAP_SIGNED_IN) | C(CAP_ISSUE),
	[ROLE_DISPLAY] = C(CAP_PUBLIC) | C(CAP_SIGNED_IN),
	[ROLE_METRICS] = C(CAP_PUBLIC) | C(CAP_METRICS),
	/* Nobody on staff rates their own service: only the customer's keypad (and admin's tests). */
	[ROLE_KEYPAD] = C(CAP_PUBLIC) | C(CAP_SIGNED_IN) | C(CAP_RATE),
};
#undef C

const char *
role_name(enum role r)
{
	return r >= 0 && r < ROLE_COUNT ? role_names[r] : "none";
}

enum role
role_parse(const char *s)
{
	for (int r = ROLE_LOBBY; s != NULL && r < ROLE_COUNT; r++)
		if (strcmp(s, role_names[r]) == 0)
			return (enum role)r;
	return ROLE_NONE;
}

const char *
cap_name(enum cap c)
{
	return c >= 0 && c < CAP_COUNT ? cap_names[c] : "?";
}

bool
role_may(enum role r, enum cap c)
{
	return r >= 0 && r < ROLE_COUNT && c >= 0 && c < CAP_COUNT && (role_caps[r] & (1u << c));
}

bool
auth_may(const struct principal *p, enum cap c, int counter)
{
	if (!role_may(p->role, c))
		return false;
	/* A teller, and a counter's device, operate their own counter only. */
	if ((c == CAP_COUNTER && p->role == ROLE_TELLER) || (c == CAP_RATE && p->role == ROLE_KEYPAD))
		return counter != 0 && counter == p->counter;
	return true;
}

/* An account's session. A device has none: its token is its credential (cookie or Bearer). */
struct session {
	char hash[AUTH_HASH_HEX + 1];
	int64_t user_id;
	enum role role;
	int counter;
	char name[AUTH_NAME_MAX];
	char csrf[AUTH_SECRET_HEX + 1];
	int64_t expires_at, last_seen;
};

struct token {
	int64_t id;
	char hash[AUTH_HASH_HEX + 1];
	enum role role;
	int counter;
	char label[AUTH_NAME_MAX];
};

struct attempt {
	char key[AUTH_NAME_MAX + 8];        /* "n:name" or "a:address" */
	int fails;
	int64_t first, until;
};

struct auth {
	sqlite3 *db;                        /* our own connection, for reads only */
	int64_t gen;                        /* auth_gen as last read */
	int64_t data_version;
	int64_t idle_s, max_s, lock_s;
	bool tls;                           /* HTTPS: the cookies' names are __Host- */
	struct session *s;
	int ns, caps;
	struct token *t;
	int nt;
	char pending[PENDING_MAX][AUTH_HASH_HEX + 1];   /* ended in memory, rows still to delete */
	int npending;
	struct attempt att[ATTEMPTS_MAX];
};

bool
auth_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return false;
	return la == 0 || sodium_memcmp(a, b, la) == 0;
}

int
auth_secret(char secret[AUTH_SECRET_HEX + 1])
{
	unsigned char raw[AUTH_SECRET_HEX / 2];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -1;
	sodium_bin2hex(secret, AUTH_SECRET_HEX + 1, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

void
auth_hash(const char *secret, char hash[AUTH_HASH_HEX + 1])
{
	unsigned char h[AUTH_HASH_HEX / 2];

	crypto_generichash(h, sizeof(h), (const unsigned char *)secret, strlen(secret), NULL, 0);
	sodium_bin2hex(hash, AUTH_HASH_HEX + 1, h, sizeof(h));
}

int
auth_password_hash(const char *password, char *out, size_t outlen)
{
	if (outlen < crypto_pwhash_STRBYTES)
		return -1;
	return crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

bool
auth_password_verify(const char *hash, const char *password)
{
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

/*
 * What a sign-in for an unknown name is checked against, so that it costs as
 * long as a known one: the hash, with the same limits, of a random password
 * nobody kept.
 */
const char *
auth_dummy_hash(void)
{
	return "$argon2id$v=19$m=65536,t=2,p=1$LccDo4QiuJ7OhuDk/ZOF2g$"
	    "PKm+n7PI4Yf4s6W+WI2sz600G7b6sYJ4Cgr2y9d1ggg";
}

/* ---- loading from the database --------------------------------------------------------- */

static void
copy_col(char *dst, size_t n, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, n, "%s", t != NULL ? (const char *)t : "");
}

static bool
is_pending(const struct auth *a, const char *hash)
{
	for (int i = 0; i < a->npending; i++)
		if (strcmp(a->pending[i], hash) == 0)
			return true;
	return false;
}

static void
push_pending(struct auth *a, const char *hash)
{
	if (a->npending < PENDING_MAX && !is_pending(a, hash))
		snprintf(a->pending[a->npending++], AUTH_HASH_HEX + 1, "%s", hash);
}

static int
sessions_grow(struct auth *a)
{
	if (a->ns == a->caps) {
		int cap = a->caps ? a->caps * 2 : 32;
		struct session *n = realloc(a->s, (size_t)cap * sizeof(*n));
		if (n == NULL)
			return -1;
		a->s = n;
		a->caps = cap;
	}
	return 0;
}

static struct session *
session_find(struct auth *a, const char *hash)
{
	for (int i = 0; i < a->ns; i++)
		if (auth_equal(a->s[i].hash, hash))
			return &a->s[i];
	return NULL;
}

/* Read sessions and tokens again; what memory knew of a session's last use is kept. */
static int
auth_load(struct auth *a, int64_t now)
{
	static const char sql_s[] =
	    "SELECT s.hash, s.user_id, s.counter, s.csrf, s.expires_at, u.role, u.name "
	    "FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.disabled = 0";
	static const char sql_t[] =
	    "SELECT id, hash, role, counter, label FROM tokens WHERE revoked_at IS NULL";
	sqlite3_stmt *st = NULL;
	struct session *old = a->s;
	int nold = a->ns, rc;
	struct token *nt = NULL;
	int ntok = 0, captok = 0;

	if (sqlite3_exec(a->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	a->s = NULL;
	a->ns = a->caps = 0;
	if (sqlite3_prepare_v2(a->db, sql_s, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct session *s;
		char hash[AUTH_HASH_HEX + 1], role[16];

		copy_col(hash, sizeof(hash), st, 0);
		if (is_pending(a, hash) || sessions_grow(a) != 0)
			continue;
		s = &a->s[a->ns];
		memset(s, 0, sizeof(*s));
		memcpy(s->hash, hash, sizeof(hash));
		s->user_id = sqlite3_column_int64(st, 1);
		s->counter = sqlite3_column_int(st, 2);
		copy_col(s->csrf, sizeof(s->csrf), st, 3);
		s->expires_at = sqlite3_column_int64(st, 4);
		copy_col(role, sizeof(role), st, 5);
		s->role = role_parse(role);
		copy_col(s->name, sizeof(s->name), st, 6);
		s->last_seen = now;
		for (int i = 0; i < nold; i++)
			if (strcmp(old[i].hash, s->hash) == 0)
				s->last_seen = old[i].last_seen;
		if (s->role != ROLE_NONE)
			a->ns++;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE)
		goto fail;
	if (sqlite3_prepare_v2(a->db, sql_t, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char role[16];
		if (ntok == captok) {
			int cap = captok ? captok * 2 : 16;
			struct token *g = realloc(nt, (size_t)cap * sizeof(*g));
			if (g == NULL)
				break;
			nt = g;
			captok = cap;
		}
		memset(&nt[ntok], 0, sizeof(nt[ntok]));
		nt[ntok].id = sqlite3_column_int64(st, 0);
		copy_col(nt[ntok].hash, sizeof(nt[ntok].hash), st, 1);
		copy_col(role, sizeof(role), st, 2);
		nt[ntok].role = role_parse(role);
		nt[ntok].counter = sqlite3_column_int(st, 3);
		copy_col(nt[ntok].label, sizeof(nt[ntok].label), st, 4);
		if (nt[ntok].role != ROLE_NONE)
			ntok++;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		goto fail;
	sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL);
	free(old);
	free(a->t);
	a->t = nt;
	a->nt = ntok;
	return 0;
fail:
	log_warnx("auth: cannot read sessions and tokens: %s", sqlite3_errmsg(a->db));
	sqlite3_finalize(st);
	sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	free(a->s);
	a->s = old;
	a->ns = a->caps = nold;
	free(nt);
	return -1;
}

static int64_t
read_int(sqlite3 *db, const char *sql, int64_t def)
{
	sqlite3_stmt *st;
	int64_t v = def;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return def;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Something outside the daemon changed accounts, tokens or sessions: read them again. */
static void
auth_refresh(struct auth *a, int64_t now)
{
	int64_t dv = read_int(a->db, "PRAGMA data_version", -1), gen;

	if (dv == a->data_version)
		return;
	a->data_version = dv;
	gen = read_int(a->db, "SELECT n FROM auth_gen", a->gen);
	if (gen != a->gen) {
		a->gen = gen;
		auth_load(a, now);
	}
}

void
auth_set_config(struct auth *a, const struct config *cfg)
{
	a->idle_s = cfg->session_idle_s;
	a->max_s = cfg->session_max_s;
	a->lock_s = cfg->lockout_s;
	a->tls = config_tls_on(cfg);
}

struct auth *
auth_new(const char *path, const struct config *cfg, int64_t now)
{
	struct auth *a;

	if (sodium_init() < 0 || (a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	auth_set_config(a, cfg);
	if (sqlite3_open_v2(path, &a->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		log_warnx("auth: cannot open %s: %s", path, a->db ? sqlite3_errmsg(a->db) : "?");
		auth_free(a);
		return NULL;
	}
	sqlite3_busy_timeout(a->db, 2000);
	if (auth_load(a, now) != 0) {
		auth_free(a);
		return NULL;
	}
	a->gen = read_int(a->db, "SELECT n FROM auth_gen", 0);
	a->data_version = read_int(a->db, "PRAGMA data_version", -1);
	return a;
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	sqlite3_close(a->db);
	if (a->s != NULL)
		sodium_memzero(a->s, (size_t)a->caps * sizeof(*a->s));
	free(a->s);
	free(a->t);
	free(a);
}

int
auth_count_users(struct auth *a)
{
	return (int)read_int(a->db, "SELECT count(*) FROM users WHERE disabled = 0", -1);
}

bool
auth_account(struct auth *a, const char *name, struct account *out)
{
	sqlite3_stmt *st;
	bool found = false;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(a->db, "SELECT id, name, role, pwhash, disabled FROM users "
	    "WHERE name = ?1", -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		char role[16];
		out->id = sqlite3_column_int64(st, 0);
		copy_col(out->name, sizeof(out->name), st, 1);
		copy_col(role, sizeof(role), st, 2);
		out->role = role_parse(role);
		copy_col(out->pwhash, sizeof(out->pwhash), st, 3);
		out->disabled = sqlite3_column_int(st, 4) != 0;
		found = out->role != ROLE_NONE;
	}
	sqlite3_finalize(st);
	return found;
}

/* ---- who is asking ---------------------------------------------------------------------- */

/* The value of cookie name in a Cookie header, into out; false when absent. */
static bool
cookie_value(const char *header, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);

	for (const char *p = header; p != NULL && *p != '\0';) {
		while (*p == ' ' || *p == ';')
			p++;
		if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
			const char *v = p + nl + 1;
			size_t n = strcspn(v, ";");
			if (n >= outlen)
				return false;
			memcpy(out, v, n);
			out[n] = '\0';
			return true;
		}
		p = strchr(p, ';');
	}
	return false;
}

static bool
looks_secret(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!isxdigit((unsigned char)s[n]))
			return false;
	return n == AUTH_SECRET_HEX;
}

static void
from_session(const struct session *s, struct principal *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = WHO_SESSION;
	out->role = s->role;
	out->counter = s->counter;
	out->user_id = s->user_id;
	snprintf(out->name, sizeof(out->name), "%s", s->name);
	memcpy(out->session, s->hash, sizeof(out->session));
	memcpy(out->csrf, s->csrf, sizeof(out->csrf));
}

static void
from_token(const struct token *t, struct principal *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = WHO_TOKEN;
	out->role = t->role;
	out->counter = t->counter;
	out->device = true;
	out->token_id = t->id;
	snprintf(out->name, sizeof(out->name), "%s", t->label);
}

static struct token *
token_find(struct auth *a, const char *secret)
{
	char hash[AUTH_HASH_HEX + 1];

	if (!looks_secret(secret))
		return NULL;
	auth_hash(secret, hash);
	for (int i = 0; i < a->nt; i++)
		if (auth_equal(a->t[i].hash, hash))
			return &a->t[i];
	return NULL;
}

bool
auth_token(struct auth *a, const char *secret, struct principal *out)
{
	struct token *t;

	memset(out, 0, sizeof(*out));
	auth_refresh(a, (int64_t)time(NULL));
	if ((t = token_find(a, secret)) == NULL)
		return false;
	from_token(t, out);
	return true;
}

static void
session_drop(struct auth *a, struct session *s)
{
	push_pending(a, s->hash);
	sodium_memzero(s, sizeof(*s));
	*s = a->s[--a->ns];
}

void
auth_resolve(struct auth *a, const char *cookie, const char *authorization, int64_t now,
    struct principal *out)
{
	char secret[AUTH_SECRET_HEX + 8], hash[AUTH_HASH_HEX + 1];
	struct session *s;

	memset(out, 0, sizeof(*out));
	out->role = ROLE_NONE;
	if (authorization == NULL && cookie == NULL)
		return;
	auth_refresh(a, now);
	if (authorization != NULL) {
		struct token *t;
		if (strncasecmp(authorization, "Bearer ", 7) == 0 &&
		    (t = token_find(a, authorization + 7)) != NULL)
			from_token(t, out);
		return;
	}
	if (!cookie_value(cookie, a->tls ? AUTH_TLS_COOKIE_PREFIX AUTH_COOKIE : AUTH_COOKIE, secret,
	    sizeof(secret)) || !looks_secret(secret)) {
		/* A paired device: its token in a cookie, with a CSRF token made from it. */
		struct token *t;
		if (cookie_value(cookie, a->tls ? AUTH_TLS_COOKIE_PREFIX AUTH_DEVICE_COOKIE :
		    AUTH_DEVICE_COOKIE, secret, sizeof(secret)) &&
		    (t = token_find(a, secret)) != NULL) {
			char salted[AUTH_SECRET_HEX + 16], h[AUTH_HASH_HEX + 1];
			from_token(t, out);
			out->cookie = true;
			snprintf(salted, sizeof(salted), "csrf%s", secret);
			auth_hash(salted, h);
			memcpy(out->csrf, h, AUTH_SECRET_HEX);
			out->csrf[AUTH_SECRET_HEX] = '\0';
			sodium_memzero(salted, sizeof(salted));
		}
		sodium_memzero(secret, sizeof(secret));
		return;
	}
	auth_hash(secret, hash);
	sodium_memzero(secret, sizeof(secret));
	if ((s = session_find(a, hash)) == NULL)
		return;
	if (now >= s->expires_at || now - s->last_seen > a->idle_s) {
		session_drop(a, s);
		return;
	}
	s->last_seen = now;
	from_session(s, out);
}

/* ---- sign-in ------------------------------------------------------------------------------- */

static struct attempt *
attempt_get(struct auth *a, const char *kind, const char *what, int64_t now, bool make)
{
	char key[sizeof(a->att[0].key)];
	struct attempt *free_slot = NULL, *oldest = NULL;

	snprintf(key, sizeof(key), "%s:%s", kind, what);
	for (char *p = key; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (int i = 0; i < ATTEMPTS_MAX; i++) {
		struct attempt *t = &a->att[i];
		if (t->key[0] != '\0' && strcmp(t->key, key) == 0)
			return t;
		if (t->key[0] == '\0' && free_slot == NULL)
			free_slot = t;
		if (t->key[0] != '\0' && t->until <= now &&
		    (oldest == NULL || t->first < oldest->first))
			oldest = t;
	}
	if (!make)
		return NULL;
	if (free_slot == NULL)
		free_slot = oldest;
	if (free_slot == NULL)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	snprintf(free_slot->key, sizeof(free_slot->key), "%s", key);
	free_slot->first = now;
	return free_slot;
}

enum bq_err
auth_signin_allowed(struct auth *a, const char *name, const char *addr, int64_t now)
{
	struct attempt *t = attempt_get(a, "a", addr, now, false);

	if (t != NULL && t->until > now)
		return BQ_ERR_SLOWED;
	t = attempt_get(a, "n", name, now, false);
	if (t != NULL && t->until > now)
		return BQ_ERR_LOCKED;
	return BQ_OK;
}

void
auth_signin_failed(struct auth *a, const char *name, const char *addr, int64_t now,
    bool *locked_now)
{
	struct attempt *t = attempt_get(a, "n", name, now, true);

	*locked_now = false;
	if (t != NULL && t->until <= now) {
		if (t->until != 0) {
			/* A lock that ran out starts the count again. */
			t->fails = 0;
			t->until = 0;
		}
		if (++t->fails >= NAME_FAILS_LOCK) {
			t->until = now + a->lock_s;
			*locked_now = true;
		}
	}
	t = attempt_get(a, "a", addr, now, true);
	if (t != NULL) {
		if (now - t->first > ADDR_WINDOW_S) {
			t->first = now;
			t->fails = 0;
		}
		if (++t->fails >= ADDR_FAILS_SLOW)
			t->until = now + ADDR_SLOW_S;
	}
}

void
auth_signin_ok(struct auth *a, const char *name)
{
	struct attempt *t = attempt_get(a, "n", name, 0, false);

	if (t != NULL)
		memset(t, 0, sizeof(*t));
}

const char *
auth_counter_holder(struct auth *a, int counter, int64_t now, int64_t user_id)
{
	for (int i = 0; i < a->ns; i++) {
		struct session *s = &a->s[i];
		if (s->role != ROLE_TELLER || s->counter != counter ||
		    s->user_id == user_id)
			continue;
		if (now >= s->expires_at || now - s->last_seen > a->idle_s)
			continue;
		return s->name;
	}
	return NULL;
}

enum bq_err
auth_session_new(struct auth *a, const struct account *acc, int counter, int64_t now,
    char cookie[AUTH_SECRET_HEX + 1], struct principal *out, int64_t *expires_at)
{
	struct session *s;

	if (sessions_grow(a) != 0)
		return BQ_ERR_INTERNAL;
	s = &a->s[a->ns];
	memset(s, 0, sizeof(*s));
	if (auth_secret(cookie) != 0 || auth_secret(s->csrf) != 0)
		return BQ_ERR_INTERNAL;
	auth_hash(cookie, s->hash);
	s->user_id = acc->id;
	s->role = acc->role;
	s->counter = acc->role == ROLE_TELLER ? counter : 0;
	snprintf(s->name, sizeof(s->name), "%s", acc->name);
	s->last_seen = now;
	s->expires_at = *expires_at = now + a->max_s;
	a->ns++;
	from_session(s, out);
	return BQ_OK;
}

void
auth_session_end(struct auth *a, const char *hash)
{
	struct session *s = session_find(a, hash);

	if (s != NULL)
		session_drop(a, s);
	else
		push_pending(a, hash);
}

int
auth_release_counter(struct auth *a, int counter)
{
	int n = 0;

	for (int i = 0; i < a->ns;) {
		if (a->s[i].role == ROLE_TELLER && a->s[i].counter == counter) {
			session_drop(a, &a->s[i]);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

/*
 * The audit rows of [from, to), on our own read connection: a read of the
 * trail never waits for a commit in flight on the daemon's.
 */
enum bq_err
auth_audit_rows(struct auth *a, int64_t from, int64_t to,
    void (*row)(void *ctx, sqlite3_stmt *st), void *ctx)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(a->db, "SELECT id, at, who, role, counter, action, ticket_id, result, "
	    "address FROM audit WHERE at >= ?1 AND at < ?2 ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return BQ_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		row(ctx, st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? BQ_OK : BQ_ERR_STORAGE;
}

/* ---- writes, on the daemon's connection, inside the caller's change ---------------------- */

static enum bq_err
step_done(sqlite3 *db, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return BQ_OK;
	log_warnx("auth: %s: %s", what, sqlite3_errmsg(db));
	return (rc & 0xff) == SQLITE_FULL ? BQ_ERR_STORAGE_FULL : BQ_ERR_STORAGE;
}

enum bq_err
auth_write_session(sqlite3 *db, const char *hash, const struct principal *p, int64_t now,
    int64_t expires_at)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "INSERT INTO sessions(hash, user_id, counter, csrf, created_at, "
	    "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &st, NULL) != SQLITE_OK)
		return BQ_ERR_STORAGE;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, p->user_id);
	if (p->counter)
		sqlite3_bind_int(st, 3, p->counter);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_text(st, 4, p->csrf, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, expires_at);
	return step_done(db, st, "write session");
}

bool
auth_has_pending(const struct auth *a)
{
	return a->npending > 0;
}

enum bq_err
auth_write_pending(struct auth *a, sqlite3 *db)
{
	enum bq_err e = BQ_OK;

	for (int i = 0; i < a->npending && e == BQ_OK; i++) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db, "DELETE FROM sessions WHERE hash = ?1", -1, &st, NULL) !=
		    SQLITE_OK)
			return BQ_ERR_STORAGE;
		sqlite3_bind_text(st, 1, a->pending[i], -1, SQLITE_STATIC);
		e = step_done(db, st, "end session");
	}
	if (e == BQ_OK)
		a->npending = 0;
	return e;
}

/* The audit statement cached for the loop's connection. */
static sqlite3 *cached_db;
static sqlite3_stmt *cached;

void
auth_audit_forget(void)
{
	sqlite3_finalize(cached);
	cached = NULL;
	cached_db = NULL;
}

enum bq_err
auth_audit(sqlite3 *db, int64_t at, const struct principal *p, const char *who,
    const char *action, int counter, int64_t ticket_id, const char *result, const char *addr)
{
	sqlite3_stmt *st;
	int rc;

	/* The loop writes a row per staff action: its statement is prepared once per connection. */
	if (cached_db != db) {
		auth_audit_forget();
		if (sqlite3_prepare_v3(db, "INSERT INTO audit(at, who, role, counter, action, "
		    "ticket_id, result, address) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", -1,
		    SQLITE_PREPARE_PERSISTENT, &cached, NULL) != SQLITE_OK)
			return BQ_ERR_STORAGE;
		cached_db = db;
	}
	st = cached;
	sqlite3_bind_int64(st, 1, at);
	sqlite3_bind_text(st, 2, who != NULL ? who : p->name[0] ? p->name : "anonymous", -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, role_name(p->role), -1, SQLITE_STATIC);
	if (counter)
		sqlite3_bind_int(st, 4, counter);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_text(st, 5, action, -1, SQLITE_TRANSIENT);
	if (ticket_id)
		sqlite3_bind_int64(st, 6, ticket_id);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_text(st, 7, result, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 8, addr != NULL ? addr : "", -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE)
		return BQ_OK;
	log_warnx("auth: audit: %s", sqlite3_errmsg(db));
	return (rc & 0xff) == SQLITE_FULL ? BQ_ERR_STORAGE_FULL : BQ_ERR_STORAGE;
}
