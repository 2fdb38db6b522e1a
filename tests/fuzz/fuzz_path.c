/*
 * fuzz_path.c: libFuzzer target for request paths and query values, the
 * outside input of the pages' endpoints: /api/v1/voice/{number}/{counter}
 * (.wav, .txt, ?lang=), /api/v1/t/{token}, the event streams
 * (/api/v1/events, /api/v1/display/events, /api/v1/t/{token}/events, with
 * ?last_event_id= or Last-Event-ID), /counter/{n}, /assets/{name}.
 * The first byte picks the lang value, the resume id and whether it comes
 * as the header or the query; the rest is the path, handed to the
 * real api_handle (no voice worker: a call that passed every check answers
 * voice_unavailable). Whatever the bytes, the answer must be a status with
 * a body, and a phrase made from a number that passed voice_number_valid
 * must hold only letters, digits, spaces and ",.-".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_daemon.h"
#include "voice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lang;
static const char *resume;       /* the last_event_id query value */


static const char *
query(void *ctx, const char *key)
{
	(void)ctx;
	if (strcmp(key, "last_event_id") == 0)
		return resume;
	return strcmp(key, "lang") == 0 ? lang : NULL;
}

static void
check_phrase(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		    strchr(" ,.-", *s) != NULL))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const langs[] = { NULL, "zh", "en", "", "fr", "EN" };
	static const char *const ids[] = { NULL, "0", "1", "-1", "", "99999999999999999999",
	    "12abc", " 3", "9223372036854775807" };
	/* An admin, so a path reaches its handler; who may ask is test_auth.py's. */
	static const struct principal admin = { .kind = WHO_TOKEN, .role = ROLE_ADMIN, .name = "fuzz" };
	struct api_request req = { .host = "127.0.0.1", .who = &admin };
	struct api_reply rep;
	char path[600], text[VOICE_TEXT_MAX];

	if (queue.store == NULL)
		fuzz_daemon_setup();
	if (size == 0 || size > sizeof(path) - 1)
		return 0;
	lang = langs[data[0] % (sizeof(langs) / sizeof(langs[0]))];
	resume = ids[(data[0] / 6) % (sizeof(ids) / sizeof(ids[0]))];
	memcpy(path, data + 1, size - 1);
	path[size - 1] = '\0';
	if (strlen(path) != size - 1)
		return 0;   /* libmicrohttpd never hands over a path with a NUL in it */
	req.method = "GET";
	req.path = path;
	req.query = query;
	if (data[0] & 0x80) {
		req.last_event_id = resume;
		resume = NULL;
	}
	req.now = 1795000000;
	api_handle(&api, &req, &rep);
	if (rep.status < 200 || rep.status > 599)
		abort();
	if (rep.err == BQ_OK && !rep.sse && !rep.pending && rep.body == NULL && rep.raw == NULL)
		abort();
	api_reply_free(&rep);

	if (voice_number_valid(path)) {
		/* The phrases take a counter as painted over it: 1..MAX_COUNTER_NUMBER. */
		int counter = 1 + data[0] * 4 % MAX_COUNTER_NUMBER;
		if (!voice_text_zh(path, counter, text, sizeof(text)))
			abort();
		check_phrase(text);
		if (!voice_text_en(path, counter, text, sizeof(text)))
			abort();
		check_phrase(text);
	}
	return 0;
}
