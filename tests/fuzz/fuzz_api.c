/*
 * fuzz_api.c: libFuzzer target for request bodies, the outside input every
 * lobby page, counter and script sends. The first byte picks a route; the
 * rest is the body, handed to the real api_handle over the demo config and
 * a real (in-memory) SQLite store. Whatever the bytes, the answer must be a
 * status with either a JSON body or an error code, and nothing may leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_daemon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t clock_s = 1795000000;

static const struct {
	const char *method, *path;
} routes[] = {
	{ "POST", "/api/v1/tickets" },
	{ "POST", "/api/v1/tickets/1/green" },
	{ "POST", "/api/v1/tickets/2/cancel" },
	{ "POST", "/api/v1/counters/1/call" },
	{ "POST", "/api/v1/counters/2/transfer" },
	{ "POST", "/api/v1/counters/2/recall" },
	{ "GET", "/api/v1/queue" },
	{ "GET", "/api/v1/events" },
	{ "POST", "/api/v1/counters/3/pause" },
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An admin: the bodies are what is fuzzed here; who may ask is test_auth.py's. */
	static const struct principal admin = { .kind = WHO_TOKEN, .role = ROLE_ADMIN, .name = "fuzz" };
	struct api_request req = { .host = "127.0.0.1", .who = &admin };
	struct api_reply rep;
	char *body;

	if (queue.store == NULL)
		fuzz_daemon_setup();
	if (size == 0 || size > API_BODY_MAX)
		return 0;
	if ((body = malloc(size)) == NULL)
		return 0;
	memcpy(body, data + 1, size - 1);
	body[size - 1] = '\0';
	req.method = routes[data[0] % (sizeof(routes) / sizeof(routes[0]))].method;
	req.path = routes[data[0] % (sizeof(routes) / sizeof(routes[0]))].path;
	req.content_type = "application/json";
	req.body = body;
	req.len = size - 1;
	req.now = clock_s++;
	api_handle(&api, &req, &rep);
	if (rep.status < 200 || rep.status > 599)
		abort();
	/* A success has a body: JSON, or bytes kept aside (the hall's JSON, a page). */
	if (rep.err == BQ_OK && rep.status != 204 && !rep.sse && rep.body == NULL && rep.raw == NULL)
		abort();
	api_reply_free(&rep);
	free(body);
	return 0;
}
