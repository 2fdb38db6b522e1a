/*
 * bench_printer.c: what one paper ticket costs the daemon's loop: building
 * the layout, encoding it as ESC/POS (GB18030 text and the QR raster) and,
 * for the preview, drawing it as a PNG. Prints the median and the 99th
 * percentile of N runs of each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "escpos.h"
#include "layout.h"
#include "preview.h"

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
	preview_cleanup();
	return 0;
}
