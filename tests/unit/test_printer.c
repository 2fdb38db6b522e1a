/*
 * test_printer.c: the pure parts of printing: the ticket's layout in both
 * language orders, GB18030 text, the ESC/POS bytes (initialise, sizes, the
 * raster QR image's header and size, feed and cut), the number's
 * magnification on 80 mm and 58 mm paper, and a PNG that is a PNG.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo.h>

#include "config.h"
#include "escpos.h"
#include "layout.h"
#include "preview.h"
#include "qr.h"

static const struct layout_ticket demo = {
	.branch_zh = "中国示范银行 北京示范支行",
	.branch_en = "Demo Bank, Beijing Demo Branch",
	.service_zh = "个人业务",
	.service_en = "Personal banking",
	.number = "A001",
	.category_zh = "老年人",
	.category_en = "Elderly",
	.ahead = 3,
	.wait_min = 15,
	.issued = "2026-11-24 09:30",
	.url = "http://127.0.0.1:8080/t/0123456789abcdef0123456789abcdef",
	.footer = "投诉热线 95588 Complaint hotline",
	.width_dots = LAYOUT_DOTS_80MM,
};

/* Index of the first text line equal to s, or -1. */
static int
find_line(const struct layout *l, const char *s)
{
	for (int i = 0; i < l->n; i++)
		if (l->line[i].kind == LK_TEXT && strcmp(l->line[i].text, s) == 0)
			return i;
	return -1;
}

static void
test_layout_chinese_first(void **state)
{
	struct layout l;
	int num, zh, en, qr = -1;

	(void)state;
	layout_build(&demo, &l);
	assert_int_equal(l.width_dots, LAYOUT_DOTS_80MM);
	num = find_line(&l, "A001");
	assert_true(num >= 0);
	assert_int_equal(l.line[num].size, LS_HUGE);
	zh = find_line(&l, "前面还有 3 位");
	en = find_line(&l, "3 people ahead of you");
	assert_true(zh > num && en == zh + 1);
	assert_true(find_line(&l, "预计等候约 15 分钟") > en);
	assert_true(find_line(&l, "个人业务") < find_line(&l, "Personal banking"));
	assert_true(find_line(&l, "绿色通道 Green Channel") > num);
	assert_true(l.line[find_line(&l, "绿色通道 Green Channel")].inverse);
	assert_true(find_line(&l, "老年人 Elderly") >= 0);
	assert_true(find_line(&l, "取号时间 Issued 2026-11-24 09:30") >= 0);
	assert_true(find_line(&l, demo.footer) == l.n - 1);
	for (int i = 0; i < l.n; i++)
		if (l.line[i].kind == LK_QR)
			qr = i;
	assert_true(qr > 0);
	assert_string_equal(l.line[qr].text, demo.url);
}

static void
test_layout_english_first_and_normal(void **state)
{
	struct layout_ticket t = demo;
	struct layout l;

	(void)state;
	t.english_first = true;
	t.category_zh = t.category_en = NULL;
	t.ahead = 1;
	t.wait_min = 0;
	t.footer = NULL;
	t.width_dots = LAYOUT_DOTS_58MM;
	layout_build(&t, &l);
	assert_int_equal(l.width_dots, LAYOUT_DOTS_58MM);
	assert_true(find_line(&l, "Personal banking") < find_line(&l, "个人业务"));
	assert_int_equal(l.line[find_line(&l, "Personal banking")].size, LS_LARGE);
	assert_true(find_line(&l, "1 person ahead of you") < find_line(&l, "前面还有 1 位"));
	assert_true(find_line(&l, "Estimated wait: under 1 min") >= 0);
	assert_int_equal(find_line(&l, "绿色通道 Green Channel"), -1);
	assert_int_equal(find_line(&l, "Green Channel 绿色通道"), -1);
	/* Not waiting: no place and no wait on the paper. */
	t.ahead = -1;
	layout_build(&t, &l);
	assert_int_equal(find_line(&l, "前面还有 -1 位"), -1);
	for (int i = 0; i < l.n; i++)
		assert_null(strstr(l.line[i].text, "ahead"));
}

static void
test_layout_cuts_long_text_at_a_character(void **state)
{
	char longtext[600] = "";
	struct layout_ticket t = demo;
	struct layout l;
	int i;

	(void)state;
	for (i = 0; i < 150; i++)
		strcat(longtext, "行");   /* 3 bytes each: 450 bytes */
	t.footer = longtext;
	layout_build(&t, &l);
	i = l.n - 1;
	assert_true(strlen(l.line[i].text) < LAYOUT_TEXT_MAX);
	assert_int_equal(strlen(l.line[i].text) % 3, 0);
}

static void
test_gb18030(void **state)
{
	char out[64];

	(void)state;
	/* 前 is 0xC7B0 in GB2312/GBK/GB18030; ASCII is itself. */
	assert_int_equal(escpos_gb18030("A前", out, sizeof(out)), 3);
	assert_memory_equal(out, "A\xc7\xb0", 3);
	assert_int_equal(escpos_gb18030("绿色通道", out, sizeof(out)), 8);
	assert_memory_equal(out, "\xc2\xcc\xc9\xab\xcd\xa8\xb5\xc0", 8);
	/* A character outside GBK takes four bytes in GB18030: € is 0xA2E3, 𠀀 four bytes. */
	assert_int_equal(escpos_gb18030("\xf0\xa0\x80\x80", out, sizeof(out)), 4);
	assert_int_equal(escpos_gb18030("\xff", out, sizeof(out)), -1);
	assert_int_equal(escpos_gb18030("前前前", out, 4), -1);
}

static void
test_huge_scale(void **state)
{
	(void)state;
	assert_int_equal(escpos_huge_scale(LAYOUT_DOTS_80MM, 4), 8);
	assert_int_equal(escpos_huge_scale(LAYOUT_DOTS_58MM, 4), 8);
	assert_int_equal(escpos_huge_scale(LAYOUT_DOTS_58MM, 5), 6);
	assert_int_equal(escpos_huge_scale(LAYOUT_DOTS_80MM, 8), 6);
	assert_int_equal(escpos_huge_scale(LAYOUT_DOTS_58MM, 100), 1);
}

static const unsigned char *
find(const unsigned char *hay, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

static void
test_escpos_bytes(void **state)
{
	struct layout l;
	unsigned char *b;
	const unsigned char *p;
	size_t n;
	char gb[64];
	long gn;
	int xb, h;
	struct qr q;

	(void)state;
	layout_build(&demo, &l);
	assert_int_equal(escpos_encode(&l, &b, &n), 0);
	assert_memory_equal(b, "\x1b@\x1c&", 4);
	/* The number at 8 times (GS ! 0x77), then the text. */
	assert_non_null(find(b, n, "\x1d!\x77\x1b" "E\x01\x1d" "B\x00" "A001\n", 13));
	gn = escpos_gb18030("前面还有 3 位", gb, sizeof(gb));
	assert_non_null(find(b, n, gb, (size_t)gn));
	/* The green mark white on black. */
	gn = escpos_gb18030("绿色通道 Green Channel", gb, sizeof(gb));
	p = find(b, n, gb, (size_t)gn);
	assert_non_null(p);
	assert_memory_equal(p - 3, "\x1d" "B\x01", 3);
	/* GS v 0: width in bytes and height in dots fit the QR code and its quiet zone. */
	p = find(b, n, "\x1dv0\x00", 4);
	assert_non_null(p);
	xb = p[4] | p[5] << 8;
	h = p[6] | p[7] << 8;
	assert_int_equal(qr_encode(demo.url, &q), 0);
	assert_int_equal(h, (q.width + 2 * QR_QUIET) * qr_scale(LAYOUT_DOTS_80MM, q.width + 2 * QR_QUIET));
	assert_int_equal(xb, (h + 7) / 8);
	assert_true(h <= LAYOUT_DOTS_80MM);
	/* The image's first rows are the quiet zone: white. */
	for (int i = 0; i < xb * 4; i++)
		assert_int_equal(p[8 + i], 0);
	qr_free(&q);
	/* Feed, then cut, at the very end. */
	assert_memory_equal(b + n - 7, "\x1b" "d\x04\x1dV\x42\x00", 7);
	free(b);
}

static void
test_preview_png(void **state)
{
	struct layout l;
	unsigned char *png;
	size_t n;
	unsigned w, h;

	(void)state;
	layout_build(&demo, &l);
	assert_int_equal(preview_png(&l, &png, &n), 0);
	assert_true(n > 1000);
	assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
	w = (unsigned)png[16] << 24 | (unsigned)png[17] << 16 | (unsigned)png[18] << 8 | png[19];
	h = (unsigned)png[20] << 24 | (unsigned)png[21] << 16 | (unsigned)png[22] << 8 | png[23];
	assert_int_equal(w, LAYOUT_DOTS_80MM);
	assert_true(h > 600 && h < 2000);
	free(png);
}

/* Load a config of a minimal branch plus extra; the error count, messages in errs. */
static int
load_with(const char *extra, struct config *cfg, char *errs, size_t errlen)
{
	char path[] = "/tmp/branchq-printer-conf-XXXXXX";
	int fd = mkstemp(path), n;
	FILE *f = fdopen(fd, "w"), *e = fmemopen(errs, errlen, "w");

	assert_non_null(f);
	assert_non_null(e);
	fprintf(f, "[branch]\nname_zh = 测试\nname_en = Test\ntimezone = Asia/Shanghai\n"
	    "[service A]\nname_zh = 个人业务\nname_en = Personal\n[counter 1]\nservices = A\n%s", extra);
	fclose(f);
	memset(errs, 0, errlen);
	n = config_load(path, cfg, e);
	fclose(e);
	unlink(path);
	return n;
}

static void
test_config_printer_section(void **state)
{
	static struct config cfg;
	char errs[1024];

	(void)state;
	/* No [printer]: no queue, and the defaults. */
	assert_int_equal(load_with("", &cfg, errs, sizeof(errs)), 0);
	assert_string_equal(cfg.printer.queue, "");
	assert_string_equal(cfg.printer.server, "");
	assert_int_equal(cfg.printer.paper_mm, 80);
	assert_int_equal(cfg.printer.timeout_s, 20);
	assert_string_equal(cfg.printer.footer, "");
	assert_int_equal(load_with("[printer]\nqueue = ticket\nserver = 127.0.0.1:631\npaper = 58mm\n"
	    "footer = 投诉热线 95588\ntimeout = 45s\n", &cfg, errs, sizeof(errs)), 0);
	assert_string_equal(cfg.printer.queue, "ticket");
	assert_string_equal(cfg.printer.server, "127.0.0.1:631");
	assert_int_equal(cfg.printer.paper_mm, 58);
	assert_string_equal(cfg.printer.footer, "投诉热线 95588");
	assert_int_equal(cfg.printer.timeout_s, 45);
	/* Every problem, each with its line. */
	assert_int_equal(load_with("[printer]\npaper = 60mm\ntimeout = 1s\ncolour = red\n[printer]\n",
	    &cfg, errs, sizeof(errs)), 4);
	assert_non_null(strstr(errs, ":11: paper: \"60mm\" is not 80mm or 58mm"));
	assert_non_null(strstr(errs, ":12: timeout: 1s is out of range 2s..5m"));
	assert_non_null(strstr(errs, ":13: unknown key colour in [printer]"));
	assert_non_null(strstr(errs, ":14: [printer] appears twice (first at line 10)"));
}

struct pngread {
	const unsigned char *p;
	size_t n, off;
};

static cairo_status_t
png_read(void *arg, unsigned char *data, unsigned int n)
{
	struct pngread *r = arg;

	if (r->off + n > r->n)
		return CAIRO_STATUS_READ_ERROR;
	memcpy(data, r->p + r->off, n);
	r->off += n;
	return CAIRO_STATUS_SUCCESS;
}

/* One line of text drawn by the preview, decoded back to pixels; *dark counts the inked ones. */
static unsigned char *
draw_line(const char *text, size_t *len, int *dark)
{
	struct layout l = { .width_dots = LAYOUT_DOTS_80MM, .n = 1 };
	struct pngread r = { 0 };
	cairo_surface_t *s;
	unsigned char *png, *pix;
	int stride, h;

	l.line[0].kind = LK_TEXT;
	l.line[0].size = LS_LARGE;
	l.line[0].align = LA_LEFT;
	snprintf(l.line[0].text, sizeof(l.line[0].text), "%s", text);
	assert_int_equal(preview_png(&l, &png, &r.n), 0);
	r.p = png;
	s = cairo_image_surface_create_from_png_stream(png_read, &r);
	assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
	stride = cairo_image_surface_get_stride(s);
	h = cairo_image_surface_get_height(s);
	*len = (size_t)stride * (size_t)h;
	pix = malloc(*len);
	assert_non_null(pix);
	memcpy(pix, cairo_image_surface_get_data(s), *len);
	*dark = 0;
	for (size_t i = 0; i + 4 <= *len; i += 4)
		*dark += pix[i] < 128;
	cairo_surface_destroy(s);
	free(png);
	return pix;
}

/*
 * Chinese is drawn with real glyphs, not the font's missing-glyph box: if
 * every character came out as the same box, the same four characters in
 * another order would make the same picture, and so would four characters
 * no font has (U+10FFFD, private use).
 */
static void
test_preview_draws_chinese_glyphs(void **state)
{
	size_t la, lb, lc;
	int da, db, dc;
	unsigned char *a = draw_line("个人业务", &la, &da);
	unsigned char *b = draw_line("务业人个", &lb, &db);
	unsigned char *c = draw_line("\xf4\x8f\xbf\xbd\xf4\x8f\xbf\xbd\xf4\x8f\xbf\xbd\xf4\x8f\xbf\xbd", &lc, &dc);

	(void)state;
	assert_true(da > 500);
	assert_int_equal(da, db);           /* the same glyphs, in another order */
	assert_int_equal(la, lb);
	assert_true(memcmp(a, b, la) != 0);
	assert_true(la != lc || memcmp(a, c, la) != 0);
	assert_true(da != dc);
	free(a);
	free(b);
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_chinese_first),
		cmocka_unit_test(test_layout_english_first_and_normal),
		cmocka_unit_test(test_layout_cuts_long_text_at_a_character),
		cmocka_unit_test(test_gb18030),
		cmocka_unit_test(test_huge_scale),
		cmocka_unit_test(test_escpos_bytes),
		cmocka_unit_test(test_preview_png),
		cmocka_unit_test(test_preview_draws_chinese_glyphs),
		cmocka_unit_test(test_config_printer_section),
	};

	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	preview_cleanup();
	return rc;
}
