/*
 * error.h: the one error vocabulary of branchq. Every failure a client can
 * see is one of these; http.c turns it into a status and the JSON body
 * {"error":{"code":"…","message":"…"}} in exactly one place.
 */
#ifndef BRANCHQ_ERROR_H
#define BRANCHQ_ERROR_H

enum bq_err {
	BQ_OK = 0,
	BQ_ERR_MALFORMED_JSON,      /* 400 */
	BQ_ERR_INVALID_FIELD,       /* 400: unknown, missing or mistyped field */
	BQ_ERR_INVALID_ID_NUMBER,   /* 400 */
	BQ_ERR_INVALID_CATEGORY,    /* 400 */
	BQ_ERR_INVALID_LANG,        /* 400 */
	BQ_ERR_INVALID_QUERY,       /* 400 */
	BQ_ERR_SAME_SERVICE,        /* 400: transfer to the ticket's own service */
	BQ_ERR_UNKNOWN_SERVICE,     /* 404 */
	BQ_ERR_UNKNOWN_COUNTER,     /* 404 */
	BQ_ERR_UNKNOWN_TICKET,      /* 404 */
	BQ_ERR_NOT_FOUND,           /* 404: no such resource */
	BQ_ERR_METHOD_NOT_ALLOWED,  /* 405 */
	BQ_ERR_COUNTER_PAUSED,      /* 409 */
	BQ_ERR_COUNTER_NOT_PAUSED,  /* 409 */
	BQ_ERR_NO_CURRENT_TICKET,   /* 409 */
	BQ_ERR_NOT_CALLED,          /* 409: recall or no-show when the customer is already at the counter */
	BQ_ERR_TICKET_NOT_WAITING,  /* 409 */
	BQ_ERR_PREVIOUS_DAY,        /* 409: transfer of a ticket from an earlier business day */
	BQ_ERR_COUNTER_CHANGED,     /* 409: the counter's ticket is not the one the client expected */
	BQ_ERR_NO_PRINTER,          /* 409: reprint with no printer configured */
	BQ_ERR_OUTCOME_NEEDED,      /* 409: call next on a recalled ticket never started: came or not? */
	BQ_ERR_NOT_NO_SHOW,         /* 409: reinstate of a ticket that is not a no-show */
	BQ_ERR_REINSTATE_LIMIT,     /* 409: the ticket was reinstated as often as it may be */
	BQ_ERR_NOTHING_TO_RATE,     /* 409: the counter served nobody lately */
	BQ_ERR_RATING_CLOSED,       /* 409: no rating is asked for that ticket now */
	BQ_ERR_ALREADY_RATED,       /* 409: one rating per ticket */
	BQ_ERR_UNKNOWN_ALERT,       /* 404 */
	BQ_ERR_NO_HISTORY,          /* 404: no day of history to plan the advice from */
	BQ_ERR_ALREADY_ACKNOWLEDGED,/* 409: somebody answered the alert already */
	BQ_ERR_BODY_TOO_LARGE,      /* 413 */
	BQ_ERR_UNSUPPORTED_MEDIA,   /* 415 */
	BQ_ERR_STORAGE_FULL,        /* 507: the disk is full; nothing was changed */
	BQ_ERR_STORAGE,             /* 500: the database failed; nothing was changed */
	BQ_ERR_STORAGE_UNWRITABLE,  /* 503: the database cannot be written (read-only, failing disk) */
	BQ_ERR_SHUTTING_DOWN,       /* 503 */
	BQ_ERR_VOICE_UNAVAILABLE,   /* 503: the call could not be synthesised now */
	BQ_ERR_PREVIEW_BUSY,        /* 503: too many ticket previews waiting to be drawn */
	BQ_ERR_REPORT_BUSY,         /* 503: too many reports waiting to be built */
	BQ_ERR_STREAMS_FULL,        /* 503: the server holds as many event streams as it may */
	BQ_ERR_TOO_MANY_STREAMS,    /* 503: this client address holds its share of event streams */
	BQ_ERR_UNAUTHORIZED,        /* 401: no credentials, or expired ones: sign in */
	BQ_ERR_SIGN_IN_FAILED,      /* 401: wrong name or password (never says which) */
	BQ_ERR_FORBIDDEN,           /* 403: signed in, but this role or counter may not */
	BQ_ERR_CSRF,                /* 403: a cookie's change without its CSRF token, JSON or Origin */
	BQ_ERR_COUNTER_TAKEN,       /* 409: another teller is signed in at that counter */
	BQ_ERR_TICKET_EXPIRED,      /* 410: a phone link of an earlier business day */
	BQ_ERR_MISDIRECTED,         /* 421: the Host header names none of the branch's names */
	BQ_ERR_LOCKED,              /* 429: too many failed sign-ins for that name */
	BQ_ERR_SLOWED,              /* 429: too many failed sign-ins from that address */
	BQ_ERR_SIGN_IN_BUSY,        /* 503: too many sign-ins waiting for their password check */
	BQ_ERR_TOO_MANY_REQUESTS,   /* 429: this client asks faster than its share (a flood) */
	BQ_ERR_INTERNAL,            /* 500 */
	BQ_ERR_COUNT
};

/* The stable machine-readable code ("unknown_service"). */
const char *bq_err_code(enum bq_err e);

/* A default human-readable message, English. */
const char *bq_err_message(enum bq_err e);

/* The HTTP status the error is answered with. */
unsigned int bq_err_status(enum bq_err e);

/* Seconds a client should wait before it tries again (Retry-After); 0: no such advice. */
unsigned int bq_err_retry_after(enum bq_err e);

#endif
