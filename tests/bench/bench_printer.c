/*
 * bench_printer.c: what one paper ticket costs: building the layout and
 * encoding it as ESC/POS (GB18030 text and the QR raster), on the loop;
 * drawing it as a PNG, on the preview worker; and what a preview costs the
 * loop now, the layout and the cache lookup (work.c) that either answers
 * the drawing or queues it. Prints the median and the 99th percentile of N
 * runs of each.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "escpos.h"
#include "layout.h"
#include "preview.h"
#include "work.h"

#define RUNS 300

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *name, double *us)
{
	qsort(us, RUNS, sizeof(*us), cmp);
	printf("%-22s n=%-5d p50=%8.3f ms  p99=%8.3f ms\n", name, RUNS, us[RUNS / 2] / 1000,
	    us[RUNS * 99 / 100] / 1000);
}

static bool
draw(const void *in, uint8_t **out, size_t *len)
{
	return preview_png(in, out, len) == 0;
}

/*
 * The loop's part of a preview as printer_png does it: the layout, then a
 * lookup in a full cache of 16 drawings of the same ticket at other
 * places in line, the one asked for among them (the worst case: it is
 * compared last).
 */
static int
bench_preview_loop(const struct layout_ticket *t, double *us)
{
	struct work *w = work_new("bench", 16, sizeof(struct layout), draw);
	struct layout_ticket lt = *t;
	struct layout l;
	const uint8_t *out;
	size_t len;

	if (w == NULL)
		return -1;
	for (int i = 0; i < 16; i++) {
		struct pollfd p = { .fd = work_fd(w), .events = POLLIN };
		lt.ahead = 16 - i;
		layout_build(&lt, &l);
		while (work_lookup(w, "ticket 7", &l, &out, &len) == WORK_PENDING) {
			poll(&p, 1, 10000);
			work_collect(w);
		}
	}
	for (int i = 0; i < RUNS; i++) {
		double t0 = now_us();
		layout_build(&lt, &l);
		if (work_lookup(w, "ticket 7", &l, &out, &len) != WORK_READY) {
			work_free(w);
			return -1;
		}
		us[i] = now_us() - t0;
	}
	work_free(w);
	return 0;
}

int
main(void)
{
	static const struct layout_ticket t = {
		"中国示范银行 北京示范支行", "Demo Bank, Beijing Demo Branch", "个人业务",
		"Personal banking", "A123", false, "老年人", "Senior", 17, 25, "2026-11-24 09:30",
		"http://127.0.0.1:8080/t/0123456789abcdef0123456789abcdef",
		"投诉热线 95588 Complaint hotline 95588", LAYOUT_DOTS_80MM,
	};
	static double esc[RUNS], png[RUNS];
	struct layout l;
	unsigned char *out;
	size_t len = 0, plen = 0;
	double t0;

	for (int i = 0; i < RUNS; i++) {
		t0 = now_us();
		layout_build(&t, &l);
		if (escpos_encode(&l, &out, &len) != 0)
			return 1;
		esc[i] = now_us() - t0;
		free(out);
		t0 = now_us();
		if (preview_png(&l, &out, &plen) != 0)
			return 1;
		png[i] = now_us() - t0;
		free(out);
	}
	printf("paper ticket: ESC/POS %zu bytes, PNG %zu bytes\n", len, plen);
	report("layout + ESC/POS", esc);
	report("layout drawn as PNG", png);
	if (bench_preview_loop(&t, png) != 0)
		return 1;
	report("layout + cache lookup", png);
	preview_cleanup();
	return 0;
}
