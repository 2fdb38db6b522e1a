/*
 * api.h: the JSON API under /api/v1 and /healthz: routing, strict parsing
 * of request bodies, and the handlers that call the queue. It knows nothing
 * of libmicrohttpd: http.c hands it a parsed request and sends the reply,
 * so every answer, errors included, takes the same road out.
 */
#ifndef BRANCHQ_API_H
#define BRANCHQ_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auth.h"
#include "error.h"
#include "metrics.h"
#include "pages.h"
#include "printer.h"
#include "queue.h"
#include "sse.h"
#include "voice.h"
#include "work.h"

#define API_BODY_MAX (16 * 1024)
#define API_KIOSK_BURST 10              /* tickets a kiosk may issue at once before kiosk_rate applies */
#define API_KIOSKS 64                   /* kiosks whose pace is kept; the longest idle is forgotten */
#define API_HELP_RATE 2                 /* calls for the lobby manager a minute one device may make */
#define API_HELP_BURST 3

/* One kiosk device's pace (GCRA): when its next ticket is due at kiosk_rate. */
struct api_pace {
	int64_t token_id;               /* 0: unused */
	int64_t due_ms;
};

struct api {
	struct queue *queue;
	const struct pages *pages;      /* the pages' static files; may be empty */
	struct printer *printer;        /* paper tickets and their previews */
	struct voice *voice;            /* the spoken calls; NULL: none */
	struct work *reports;           /* the reports' worker; NULL: reports are built on the loop */
	struct work *advice;            /* the staffing advice's worker; NULL: no advice */
	json_t *live;                   /* the live advice's figures while it says open a counter; NULL: not */
	struct uplink *uplink;          /* the head office's uplink; NULL: none */
	struct auth *auth;              /* accounts, sessions, tokens; NULL: nobody is anybody */
	struct work *signins;           /* checks passwords off the loop (api_signin_run) */
	struct metrics *metrics;        /* /metrics and /healthz's figures; NULL: none */
	/* GET /api/v1/queue as last rendered, for the hall version and second it shows. */
	char *queue_json;
	size_t queue_len;
	uint64_t queue_version;
	int64_t queue_at;
	struct api_pace kiosks[API_KIOSKS];
	struct api_pace helps[API_KIOSKS];  /* the same, for calls for the lobby manager */
};

/* Free what the api keeps (not the queue, pages, printer or voice it points to). */
void api_close(struct api *a);

struct api_request {
	const char *method;
	const char *path;               /* decoded path, no query */
	const char *content_type;       /* NULL when absent */
	char *body;                     /* NUL-terminated; api_handle wipes it */
	size_t len;
	const char *last_event_id;      /* header, NULL when absent */
	/* Query parameter key, or NULL. */
	const char *(*query)(void *ctx, const char *key);
	void *query_ctx;
	int64_t now;                    /* when it arrived: the same each time it is asked again */
	uint64_t seq;                   /* unique to the request, the same each time it is asked again */
	bool late;                      /* began after shutdown started: refused with 503 */
	/* Headers that say who asks and from where; NULL when absent. */
	const char *cookie, *authorization, *origin, *host, *csrf;
	const char *addr;               /* the client's address, for the audit trail and lockouts */
	/* Who asks, when the caller knows already (the fuzzers); http.c leaves it NULL. */
	const struct principal *who;
};

/* One route of api.c's table (see api_routes). */
struct route_ctx;
struct route {
	const char *method;
	const char *pattern;
	enum cap cap;
	void (*fn)(struct route_ctx *r);
	const char *audit;              /* the audit trail's action; "" the path's last part; NULL none */
};

/* The route table, for `branchqd routes` and the authorization tests. */
const struct route *api_routes(size_t *n);

/* A sign-in's password check, as the auth worker gets it. */
struct signin_job {
	uint64_t seq;
	char hash[160];
	char password[256];
};

/* The auth worker's job: one byte, 1 when the password fits the hash. */
bool api_signin_run(const void *in, uint8_t **out, size_t *len);

struct api_reply {
	unsigned status;                /* 0 until set */
	json_t *body;                   /* owned; NULL for 204 and errors */
	/* A body that is not JSON (a page, a WAV, a PNG, a CSV) when raw != NULL. */
	const void *raw;
	size_t raw_len;
	bool raw_owned;                 /* raw was malloc'ed and is the reply's to free */
	const char *content_type;       /* of raw; static string */
	const char *disposition;        /* Content-Disposition, or NULL; static or in message */
	enum bq_err err;                /* BQ_OK unless an error */
	char message[256];              /* the error's message; default when empty */
	const char *allow;              /* Allow header for 405 */
	unsigned retry_after;           /* an error's Retry-After, seconds; 0: the error's default */
	bool sse;                       /* open an event stream instead */
	enum sse_kind sse_kind;         /* staff, display or phone */
	int64_t sse_from;               /* events after this id; -1: only new ones */
	struct ticket sse_ticket;       /* a phone stream's ticket, its newest leg */
	/*
	 * Not ready yet (a voice call being synthesised, a ticket preview being
	 * drawn, a report being built): http.c suspends the connection and hands
	 * the request to api_handle again once a worker's descriptor says a job
	 * ended.
	 */
	bool pending;
	char set_cookie[256];           /* a Set-Cookie header's value; "" none */
	char allow_buf[64];             /* the text allow points to when the route table made it */
	char location[512];             /* a 303's Location; "" none */
	int route;                      /* index in api_routes of the route that answered; -1 none */
};

/* Route and answer req into *rep. The caller frees it with api_reply_free. */
void api_handle(struct api *a, struct api_request *req, struct api_reply *rep);

/*
 * Group commit around api_handle calls (queue.h): the changes handled after
 * api_batch_begin commit once. api_batch_commit starts that commit and
 * returns true while it runs on the store's thread (wait for api_commit_fd);
 * api_batch_collect then gives its error (BQ_OK when it held), at once when
 * api_batch_commit returned false.
 */
void api_batch_begin(struct api *a);
bool api_batch_commit(struct api *a);
enum bq_err api_batch_collect(struct api *a);
int api_commit_fd(struct api *a);

/* Free what rep owns (the JSON body, an owned raw body). */
void api_reply_free(struct api_reply *rep);

#endif
