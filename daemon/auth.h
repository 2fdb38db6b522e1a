/*
 * auth.h: who is asking. Staff accounts with passwords (Argon2id through
 * libsodium), browser sessions in a cookie, device and API tokens, the
 * roles and what each may do, sign-in lockouts, and the audit trail.
 *
 * The database holds accounts, token hashes, session-id hashes and the
 * audit rows (schema version 5, store.c). The daemon keeps the sessions and
 * tokens in memory and looks every request up there; it reads them again
 * from the database only when something outside it (the command line,
 * auth_cli.c) changed them, which it learns from a change counter
 * (auth_gen) read on a connection of its own, so a revoked token or a
 * disabled account stops working at once.
 */
#ifndef BRANCHQ_AUTH_H
#define BRANCHQ_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

struct sqlite3;

enum role {
	ROLE_NONE,                  /* nobody signed in */
	ROLE_LOBBY,                 /* 大堂经理 */
	ROLE_TELLER,                /* 柜员: one counter */
	ROLE_HEAD,                  /* 网点负责人 */
	ROLE_ADMIN,
	ROLE_KIOSK,                 /* device: issues tickets */
	ROLE_DISPLAY,               /* device: the hall display */
	ROLE_METRICS,               /* device: a Prometheus server, reads /metrics only */
	ROLE_KEYPAD,                /* device: the rating keypad (评价器) facing one counter's customer */
	ROLE_COUNT
};

/* What a route needs (api.c's table names one per route). */
enum cap {
	CAP_PUBLIC,                 /* anyone, no sign-in */
	CAP_SIGNED_IN,              /* any account or device */
	CAP_ISSUE,                  /* issue tickets */
	CAP_TICKETS,                /* upgrade to green, cancel, reprint; the lobby page */
	CAP_PREVIEW,                /* a ticket's PNG preview (its QR holds the phone token) */
	CAP_QUEUE,                  /* the queue with categories, tickets, the staff stream */
	CAP_COUNTER,                /* operate the counter of the path: a teller only their own */
	CAP_RELEASE,                /* release a counter a teller holds */
	CAP_FIGURES,                /* today's daily report */
	CAP_REPORTS,                /* every report */
	CAP_AUDIT,                  /* the audit trail */
	CAP_ADMIN,                  /* accounts and tokens */
	CAP_METRICS,                /* GET /metrics (or an address in [monitoring] metrics_allow) */
	CAP_RATE,                   /* a customer's rating at the counter of the path: its keypad */
	CAP_COUNT
};

#define AUTH_NAME_MAX 64
#define AUTH_SECRET_HEX 32          /* 128 random bits as hex */
#define AUTH_HASH_HEX 64            /* BLAKE2b-256 of a secret, as hex */
#define AUTH_COOKIE "branchq_session"
#define AUTH_DEVICE_COOKIE "branchq_device"     /* a paired device's token (/pair) */
/*
 * Under TLS both cookies are Secure and carry this prefix, which a browser
 * accepts only from an HTTPS answer, with Path=/ and no Domain: no plain
 * HTTP answer, nor another host, can plant or overwrite one. Only the name
 * of the daemon's mode is read.
 */
#define AUTH_TLS_COOKIE_PREFIX "__Host-"

const char *role_name(enum role r);
/* The role named s, or ROLE_NONE. */
enum role role_parse(const char *s);
const char *cap_name(enum cap c);
/* May role r do what c names (for a teller, at its own counter only: see auth_may)? */
bool role_may(enum role r, enum cap c);

struct principal {
	enum { WHO_NONE, WHO_SESSION, WHO_TOKEN } kind;
	enum role role;
	int counter;                        /* a teller's or a counter device's; 0: none */
	bool device;                        /* a token, or a session paired from one */
	char name[AUTH_NAME_MAX];           /* account name or token label */
	int64_t user_id;                    /* an account's; 0 for a device */
	int64_t token_id;                   /* a device's token; 0 for an account */
	char session[AUTH_HASH_HEX + 1];    /* the session's id hash, for sign-out */
	char csrf[AUTH_SECRET_HEX + 1];     /* the session's CSRF token; "" for a bearer token */
	bool cookie;                        /* a device token sent as a cookie: CSRF applies */
};

/* May p do c, at counter (0 when the route names none)? */
bool auth_may(const struct principal *p, enum cap c, int counter);

struct auth;

/* Open the auth state of the database at path (its own connection). NULL on failure. */
struct auth *auth_new(const char *path, const struct config *cfg, int64_t now);
void auth_free(struct auth *a);

/* The config (session lengths) changed: a reload. */
void auth_set_config(struct auth *a, const struct config *cfg);

/* How many accounts exist (-1 on error): the first start says how to make one. */
int auth_count_users(struct auth *a);

/*
 * Who sent a request with these headers (either may be NULL). A session
 * past its idle or absolute expiry is ended here and counts as nobody.
 */
void auth_resolve(struct auth *a, const char *cookie, const char *authorization, int64_t now,
    struct principal *out);

/* Constant-time comparison of two NUL-terminated strings. */
bool auth_equal(const char *a, const char *b);

/* A fresh secret (128 bits from getrandom, as hex) and its stored hash. */
int auth_secret(char secret[AUTH_SECRET_HEX + 1]);
void auth_hash(const char *secret, char hash[AUTH_HASH_HEX + 1]);

/* Password hashing (Argon2id, interactive limits): slow, never on the loop. */
int auth_password_hash(const char *password, char *out, size_t outlen);
bool auth_password_verify(const char *hash, const char *password);
/* A hash of a random password: what a sign-in for an unknown name is checked against. */
const char *auth_dummy_hash(void);

/* An account as the sign-in needs it; false when there is none. */
struct account {
	int64_t id;
	char name[AUTH_NAME_MAX];
	enum role role;
	char pwhash[160];
	bool disabled;
};
bool auth_account(struct auth *a, const char *name, struct account *out);

/* Sign-in lockouts: per name (known or not, so that a lock tells nothing) and per address. */
enum bq_err auth_signin_allowed(struct auth *a, const char *name, const char *addr, int64_t now);
void auth_signin_failed(struct auth *a, const char *name, const char *addr, int64_t now,
    bool *locked_now);
void auth_signin_ok(struct auth *a, const char *name);

/* The teller session that holds counter n, other than user_id's; NULL when free. */
const char *auth_counter_holder(struct auth *a, int counter, int64_t now, int64_t user_id);

/*
 * A new session for account acc (a teller's at counter), kept in memory at
 * once; the caller writes it with auth_write_session in the same change.
 * *cookie is the id to send, out the principal it makes.
 */
enum bq_err auth_session_new(struct auth *a, const struct account *acc, int counter, int64_t now,
    char cookie[AUTH_SECRET_HEX + 1], struct principal *out, int64_t *expires_at);
/* End the session whose id hash is hash; the caller deletes its row (auth_write_end). */
void auth_session_end(struct auth *a, const char *hash);
/* End the teller sessions held at counter n; their hashes go to the rows to delete. */
int auth_release_counter(struct auth *a, int counter);

/* A device token by its secret (for /pair); false when unknown or revoked. */
bool auth_token(struct auth *a, const char *secret, struct principal *out);

/*
 * Writes, on the daemon's own connection (db), inside the caller's change:
 * the session row, and the rows of sessions ended in memory since the last
 * call (expired, signed out, released).
 */
enum bq_err auth_write_session(struct sqlite3 *db, const char *hash, const struct principal *p,
    int64_t now, int64_t expires_at);
enum bq_err auth_write_pending(struct auth *a, struct sqlite3 *db);
bool auth_has_pending(const struct auth *a);

/* One row of the audit trail. ticket_id, counter 0: none. */
enum bq_err auth_audit(struct sqlite3 *db, int64_t at, const struct principal *p,
    const char *who, const char *action, int counter, int64_t ticket_id, const char *result,
    const char *addr);
/* The audit rows with at in [from, to), oldest first, each handed to row. */
struct sqlite3_stmt;
enum bq_err auth_audit_rows(struct auth *a, int64_t from, int64_t to,
    void (*row)(void *ctx, struct sqlite3_stmt *st), void *ctx);

/* Finalize the statement auth_audit keeps; before the connection closes. */
void auth_audit_forget(void);

#endif
