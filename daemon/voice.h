/*
 * voice.h: spoken calls for the hall display ("请 A001 号 到 3 号窗口 办理业务",
 * and for an English ticket "Number A001, please go to counter 3"), as WAV
 * files made on the server by espeak-ng and kept in a small cache.
 *
 * Debian's espeak-ng reads Chinese characters wrongly with its cmn voice,
 * so the Mandarin phrase is written in tone-numbered pinyin for the
 * cmn-latn-pinyin voice: a fixed template, the ticket's letter (which that
 * voice says as a letter name) and every digit spelled one by one.
 *
 * espeak-ng runs in one worker thread, never on the event loop. The loop
 * asks with voice_lookup(); a miss queues a job and answers VOICE_PENDING.
 * When a job ends the worker writes to an eventfd (voice_fd), the loop calls
 * voice_collect() and retries the requests that waited. The worker, its
 * bounded queue and the cache are work.c's; a finished clip is only ever
 * evicted by the loop, so a pointer voice_lookup() returned stays valid
 * until the loop's next voice_lookup().
 */
#ifndef BRANCHQ_VOICE_H
#define BRANCHQ_VOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VOICE_CACHE_MAX 48          /* clips kept; a day's recent calls */
#define VOICE_TEXT_MAX 256
#define VOICE_RATE 22050            /* espeak-ng's sample rate; the chime is made at it too */
#define VOICE_WAV_MAX (4 * 1024 * 1024)
#define VOICE_PROGRAM "espeak-ng"
#define VOICE_ZH "cmn-latn-pinyin"
#define VOICE_EN "en"

enum voice_state {
	VOICE_READY,                /* *wav and *len are the clip */
	VOICE_PENDING,              /* being made; wait for voice_fd */
	VOICE_FAILED,               /* the synthesiser failed, or too many jobs wait */
	VOICE_LIMITED,              /* this client holds its share of jobs not yet made */
};

/* Jobs not yet made one client (not the hall's own calls) may hold. */
#define VOICE_SHARE 4

struct voice;

/*
 * True when number is a ticket number the voice can say: one capital
 * letter and three or four digits ("A001", "B1024").
 */
bool voice_number_valid(const char *number);

/*
 * The Mandarin phrase in tone-numbered pinyin for the call of number to
 * counter (1..999), into out. Returns false when it does not fit or the
 * input is not valid.
 */
bool voice_text_zh(const char *number, int counter, char *out, size_t outlen);

/*
 * Counter VOICE_RATE_PROMPT instead of a counter: the rating keypad's
 * prompt for number ("A001 号，请您为本次服务评价" / "Number A, 0 0 1 -
 * please rate our service."), made and cached like a call.
 */
#define VOICE_RATE_PROMPT 0

/* The English phrase, letters and digits spoken one by one. */
bool voice_text_en(const char *number, int counter, char *out, size_t outlen);

/*
 * A two-note chime ("ding-dong") of VOICE_RATE 16-bit mono samples into
 * out, at most max of them; returns how many were written.
 */
size_t voice_chime(int16_t *out, size_t max);

/*
 * A WAV file (RIFF, PCM 16-bit mono, VOICE_RATE) of the chime, then each of
 * the espeak-ng WAV files parts[0..n) with a short pause between them.
 * Returns a malloc'ed buffer the caller frees, its size in *len, or NULL
 * when a part is not a WAV file espeak-ng makes.
 */
uint8_t *voice_assemble(const uint8_t *const *parts, const size_t *lens, int n, size_t *len);

/* Start the worker. NULL when out of memory or no thread could start. Free with voice_free. */
struct voice *voice_new(void);

/* Stop the worker (it finishes its current job) and free every clip. */
void voice_free(struct voice *v);

/* Readable when jobs have ended; voice_collect clears it. */
int voice_fd(struct voice *v);

/* Clear voice_fd's readiness; call before retrying the requests that waited. */
void voice_collect(struct voice *v);

/*
 * The call of number (voice_number_valid) to counter, in Mandarin and, when
 * en, English too. READY: *wav, *len are the clip, owned by the cache and
 * valid until the next voice_lookup. PENDING: a job is queued or running.
 * FAILED: synthesis failed (the next lookup tries again) or the queue is
 * full. from says who asks (work.h): the hall's own calls are urgent;
 * LIMITED: from's owner holds VOICE_SHARE jobs already. Runs on the loop
 * thread only.
 */
struct work_from;
enum voice_state voice_lookup(struct voice *v, const char *number, int counter, bool en,
    const struct work_from *from, const uint8_t **wav, size_t *len);

#endif
