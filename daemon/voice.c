/*
 * voice.c: the spoken calls: the phrases (pure), the chime and the WAV
 * assembly (pure), and the worker thread that runs espeak-ng.
 *
 * The worker spawns the espeak-ng program with --stdout rather than linking
 * libespeak-ng: the library keeps global state and is not thread-safe, and a
 * child process that crashes or hangs on odd input cannot take the daemon
 * with it. A call takes 15-20 ms to synthesise, so one worker is plenty.
 *
 * The thread, its queue and the cache of clips are work.c's: a call's key
 * is "A001/3/en" and its input the phrases, so voice.c holds only what is
 * particular to speech.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "voice.h"
#include "work.h"

#define VOICE_PAUSE_MS 400
#define VOICE_CHIME_MS 1100
#define VOICE_SPEED_ZH "150"
#define VOICE_SPEED_EN "145"
#define VOICE_TIMEOUT_S 10

extern char **environ;

/* One job: the phrases to speak, zeroed past their end (work.c compares the bytes). */
struct voice_job {
	char text_zh[VOICE_TEXT_MAX];
	char text_en[VOICE_TEXT_MAX];       /* empty: Mandarin only */
};

struct voice {
	struct work *w;
};

static const char *const pinyin_digit[10] = {
	"ling2", "yi1", "er4", "san1", "si4", "wu3", "liu4", "qi1", "ba1", "jiu3"
};
static const char *const english_digit[10] = {
	"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"
};

bool
voice_number_valid(const char *number)
{
	size_t n;

	if (number == NULL || number[0] < 'A' || number[0] > 'Z')
		return false;
	n = strlen(number + 1);
	if (n < 3 || n > 4)
		return false;
	for (size_t i = 1; i <= n; i++)
		if (number[i] < '0' || number[i] > '9')
			return false;
	return true;
}

/* Append s and a space; false when it does not fit. */
static bool
put(char *out, size_t outlen, size_t *at, const char *s)
{
	int n = snprintf(out + *at, outlen - *at, "%s%s", *at ? " " : "", s);

	if (n < 0 || (size_t)n >= outlen - *at)
		return false;
	*at += (size_t)n;
	return true;
}

/* A counter number as a Chinese numeral in pinyin: 3 san1, 12 shi2 er4, 105 yi1 bai3 ling2 wu3. */
static bool
put_number_zh(char *out, size_t outlen, size_t *at, int n)
{
	int h = n / 100, t = n / 10 % 10, u = n % 10;
	bool ok = true;

	if (h > 0) {
		ok = put(out, outlen, at, pinyin_digit[h]) && put(out, outlen, at, "bai3");
		if (t == 0 && u != 0)
			ok = ok && put(out, outlen, at, "ling2");
	}
	if (t > 0) {
		/* Ten to nineteen are said "shi2 …", not "yi1 shi2 …", unless hundreds come first. */
		if (t > 1 || h > 0)
			ok = ok && put(out, outlen, at, pinyin_digit[t]);
		ok = ok && put(out, outlen, at, "shi2");
	}
	if (u > 0)
		ok = ok && put(out, outlen, at, pinyin_digit[u]);
	return ok;
}

bool
voice_text_zh(const char *number, int counter, char *out, size_t outlen)
{
	size_t at = 0;
	char letter[2] = { 0, 0 };
	bool ok;

	if (!voice_number_valid(number) || counter < 0 || counter > 999 || outlen == 0)
		return false;
	out[0] = '\0';
	letter[0] = number[0];
	if (counter == VOICE_RATE_PROMPT) {
		/* A001 号，请您为本次服务评价 */
		ok = put(out, outlen, &at, letter);
		for (const char *p = number + 1; ok && *p; p++)
			ok = put(out, outlen, &at, pinyin_digit[*p - '0']);
		return ok && put(out, outlen, &at, "hao4, qing3 nin2 wei4 ben3 ci4 fu2 wu4 ping2 jia4.");
	}
	/* 请 A001 号，到 3 号窗口 办理业务 */
	ok = put(out, outlen, &at, "qing3") && put(out, outlen, &at, letter);
	for (const char *p = number + 1; ok && *p; p++)
		ok = put(out, outlen, &at, pinyin_digit[*p - '0']);
	ok = ok && put(out, outlen, &at, "hao4, dao4") &&
	    put_number_zh(out, outlen, &at, counter) &&
	    put(out, outlen, &at, "hao4 chuang1 kou3, ban4 li3 ye4 wu4.");
	return ok;
}

bool
voice_text_en(const char *number, int counter, char *out, size_t outlen)
{
	size_t at = 0;
	char buf[16];
	bool ok;

	if (!voice_number_valid(number) || counter < 0 || counter > 999 || outlen == 0)
		return false;
	out[0] = '\0';
	/* The letter alone would be read as the article "a": give it its own clause. */
	snprintf(buf, sizeof(buf), "%c,", number[0]);
	ok = put(out, outlen, &at, "Number") && put(out, outlen, &at, buf);
	for (const char *p = number + 1; ok && *p; p++)
		ok = put(out, outlen, &at, english_digit[*p - '0']);
	if (counter == VOICE_RATE_PROMPT)
		return ok && put(out, outlen, &at, "- please rate our service.");
	snprintf(buf, sizeof(buf), "%d.", counter);
	ok = ok && put(out, outlen, &at, "- please go to counter") && put(out, outlen, &at, buf);
	return ok;
}

size_t
voice_chime(int16_t *out, size_t max)
{
	/* Two bell-like notes, E5 then C5, each with a quick attack and an exponential decay. */
	static const double freq[2] = { 659.25, 523.25 };
	size_t n = (size_t)VOICE_RATE * VOICE_CHIME_MS / 1000, half = n / 2;

	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		int note = i < half ? 0 : 1;
		double t = (double)(i - (note ? half : 0)) / VOICE_RATE;
		double env = (t < 0.01 ? t / 0.01 : 1.0) * exp(-t * 4.0);
		double s = sin(2 * M_PI * freq[note] * t) + 0.3 * sin(4 * M_PI * freq[note] * t);
		out[i] = (int16_t)(s * env * 0.45 * 32767 / 1.3);
	}
	return n;
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/*
 * The PCM samples of an espeak-ng WAV: a 44-byte header (RIFF, fmt of 16
 * bytes, data) for 16-bit mono at VOICE_RATE. The sizes in its header are
 * placeholders when it writes to a pipe, so the data runs to the end.
 */
static bool
wav_pcm(const uint8_t *w, size_t len, const uint8_t **pcm, size_t *n)
{
	if (len < 44 || memcmp(w, "RIFF", 4) != 0 || memcmp(w + 8, "WAVEfmt ", 8) != 0 ||
	    le32(w + 16) != 16 || w[20] != 1 || w[21] != 0 || w[22] != 1 || w[23] != 0 ||
	    le32(w + 24) != VOICE_RATE || w[34] != 16 || memcmp(w + 36, "data", 4) != 0)
		return false;
	*pcm = w + 44;
	*n = (len - 44) & ~(size_t)1;
	return true;
}

uint8_t *
voice_assemble(const uint8_t *const *parts, const size_t *lens, int n, size_t *len)
{
	size_t chime_n = (size_t)VOICE_RATE * VOICE_CHIME_MS / 1000;
	size_t pause = (size_t)VOICE_RATE * VOICE_PAUSE_MS / 1000 * 2;
	size_t total = chime_n * 2, at;
	const uint8_t *pcm;
	size_t pn;
	uint8_t *w;
	int16_t *chime;

	for (int i = 0; i < n; i++) {
		if (!wav_pcm(parts[i], lens[i], &pcm, &pn))
			return NULL;
		total += pause + pn;
	}
	if (total > VOICE_WAV_MAX || (w = calloc(1, 44 + total)) == NULL)
		return NULL;
	memcpy(w, "RIFF", 4);
	put32(w + 4, (uint32_t)(36 + total));
	memcpy(w + 8, "WAVEfmt ", 8);
	put32(w + 16, 16);
	w[20] = 1;                       /* PCM */
	w[22] = 1;                       /* mono */
	put32(w + 24, VOICE_RATE);
	put32(w + 28, VOICE_RATE * 2);
	w[32] = 2;                       /* block align */
	w[34] = 16;                      /* bits */
	memcpy(w + 36, "data", 4);
	put32(w + 40, (uint32_t)total);
	if ((chime = calloc(chime_n, sizeof(*chime))) == NULL) {
		free(w);
		return NULL;
	}
	voice_chime(chime, chime_n);
	for (size_t i = 0; i < chime_n; i++) {
		w[44 + 2 * i] = (uint8_t)((uint16_t)chime[i] & 0xff);
		w[44 + 2 * i + 1] = (uint8_t)((uint16_t)chime[i] >> 8);
	}
	free(chime);
	at = 44 + chime_n * 2;
	for (int i = 0; i < n; i++) {
		wav_pcm(parts[i], lens[i], &pcm, &pn);
		at += pause;                 /* calloc'ed: silence */
		memcpy(w + at, pcm, pn);
		at += pn;
	}
	*len = 44 + total;
	return w;
}

/* Run espeak-ng with voice and speed on text; its WAV output into *out (malloc'ed). */
static bool
synth(const char *voice, const char *speed, const char *text, uint8_t **out, size_t *len)
{
	char *argv[] = { VOICE_PROGRAM, "-v", (char *)voice, "-s", (char *)speed, "--stdout",
	    "--", (char *)text, NULL };
	posix_spawn_file_actions_t fa;
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;
	int fds[2], status;
	pid_t pid;
	time_t deadline;
	bool ok = false;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		log_warn("voice: pipe");
		return false;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	errno = posix_spawnp(&pid, VOICE_PROGRAM, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (errno != 0) {
		log_warn("voice: cannot run %s", VOICE_PROGRAM);
		close(fds[0]);
		return false;
	}
	deadline = time(NULL) + VOICE_TIMEOUT_S;
	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		ssize_t r;
		/* A synthesiser that hangs must not hold the calls waiting behind it forever. */
		if (poll(&pfd, 1, 1000) == 0) {
			if (time(NULL) < deadline)
				continue;
			log_warnx("voice: %s took over %d s; killed", VOICE_PROGRAM, VOICE_TIMEOUT_S);
			kill(pid, SIGKILL);
			break;
		}
		if (n == cap) {
			uint8_t *nb;
			if (cap >= VOICE_WAV_MAX || (nb = realloc(buf, cap ? cap * 2 : 65536)) == NULL)
				break;
			buf = nb;
			cap = cap ? cap * 2 : 65536;
		}
		r = read(fds[0], buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ok = r == 0;
			break;
		}
		n += (size_t)r;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || n <= 44) {
		log_warnx("voice: %s -v %s failed", VOICE_PROGRAM, voice);
		free(buf);
		return false;
	}
	*out = buf;
	*len = n;
	return true;
}

/* Worker: the clip of one call (work_run_fn): Mandarin, then English when asked for. */
static bool
voice_run(const void *arg, uint8_t **out, size_t *len)
{
	const struct voice_job *j = arg;
	uint8_t *parts[2] = { NULL, NULL };
	size_t lens[2] = { 0, 0 };
	int n = 0;

	if (synth(VOICE_ZH, VOICE_SPEED_ZH, j->text_zh, &parts[0], &lens[0])) {
		n = 1;
		if (j->text_en[0] != '\0')
			n = synth(VOICE_EN, VOICE_SPEED_EN, j->text_en, &parts[1], &lens[1]) ? 2 : 0;
	}
	*out = NULL;
	if (n > 0 && (*out = voice_assemble((const uint8_t *const *)parts, lens, n, len)) == NULL)
		log_warnx("voice: %s wrote no WAV of 16-bit mono at %d Hz", VOICE_PROGRAM, VOICE_RATE);
	free(parts[0]);
	free(parts[1]);
	return *out != NULL;
}

struct voice *
voice_new(void)
{
	struct voice *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	if ((v->w = work_new("voice", VOICE_CACHE_MAX, sizeof(struct voice_job), voice_run)) == NULL) {
		free(v);
		return NULL;
	}
	work_set_share(v->w, VOICE_SHARE);
	return v;
}

void
voice_free(struct voice *v)
{
	if (v == NULL)
		return;
	work_free(v->w);
	free(v);
}

int
voice_fd(struct voice *v)
{
	return work_fd(v->w);
}

void
voice_collect(struct voice *v)
{
	work_collect(v->w);
}

enum voice_state
voice_lookup(struct voice *v, const char *number, int counter, bool en,
    const struct work_from *from, const uint8_t **wav, size_t *len)
{
	char key[WORK_KEY_MAX];
	struct voice_job j;

	memset(&j, 0, sizeof(j));
	snprintf(key, sizeof(key), "%s/%d/%s", number, counter, en ? "en" : "zh");
	if (!voice_text_zh(number, counter, j.text_zh, sizeof(j.text_zh)) ||
	    (en && !voice_text_en(number, counter, j.text_en, sizeof(j.text_en))))
		return VOICE_FAILED;
	switch (work_lookup(v->w, key, &j, from, wav, len)) {
	case WORK_READY:
		return VOICE_READY;
	case WORK_PENDING:
		return VOICE_PENDING;
	case WORK_LIMITED:
		return VOICE_LIMITED;
	default:
		return VOICE_FAILED;
	}
}
