/*
 * fuzz_path.c: libFuzzer target for request paths and query values, the
 * outside input of the pages' endpoints: /api/v1/voice/{number}/{counter}
 * (.wav, .txt, ?lang=), /api/v1/t/{token}, /counter/{n}, /assets/{name}.
 * The first byte picks the lang value; the rest is the path, handed to the
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


static const char *
query(void *ctx, const char *key)
{
	(void)ctx;
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
	struct api_request req = { 0 };
	struct api_reply rep;
	char path[600], text[VOICE_TEXT_MAX];

	if (queue.store == NULL)
		fuzz_daemon_setup();
	if (size == 0 || size > sizeof(path) - 1)
		return 0;
	lang = langs[data[0] % (sizeof(langs) / sizeof(langs[0]))];
	memcpy(path, data + 1, size - 1);
	path[size - 1] = '\0';
	if (strlen(path) != size - 1)
		return 0;   /* libmicrohttpd never hands over a path with a NUL in it */
	req.method = "GET";
	req.path = path;
	req.query = query;
	req.now = 1795000000;
	api_handle(&api, &req, &rep);
	if (rep.status < 200 || rep.status > 599)
		abort();
	if (rep.err == BQ_OK && !rep.sse && !rep.pending && rep.body == NULL && rep.raw == NULL)
		abort();
	api_reply_free(&rep);

	if (voice_number_valid(path)) {
		int counter = 1 + data[0] * 4;
		if (!voice_text_zh(path, counter, text, sizeof(text)))
			abort();
		check_phrase(text);
		if (!voice_text_en(path, counter, text, sizeof(text)))
			abort();
		check_phrase(text);
	}
	return 0;
}
