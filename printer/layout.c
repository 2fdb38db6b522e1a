/*
 * layout.c: what goes on a paper ticket, in which order and how large.
 *
 * Every line is given in both languages, Chinese first; a ticket issued in
 * English (lang en: a foreign visitor) puts English first and larger. The
 * number is the largest thing on the paper, then the green-channel mark
 * (white on black, so it is seen from across the hall), then the customer's
 * place. The QR code takes the customer to their phone page.
 */
#include <stdio.h>
#include <string.h>

#include "layout.h"

static struct layout_line *
layout_add(struct layout *l, enum layout_kind kind, enum layout_size size, enum layout_align align,
    bool bold, const char *text)
{
	struct layout_line *ln;

	if (l->n == LAYOUT_MAX_LINES)
		return NULL;
	ln = &l->line[l->n++];
	memset(ln, 0, sizeof(*ln));
	ln->kind = kind;
	ln->size = size;
	ln->align = align;
	ln->bold = bold;
	if (text != NULL) {
		size_t n = strlen(text);
		if (n >= sizeof(ln->text)) {
			/* Cut at a character boundary, never inside a UTF-8 sequence. */
			n = sizeof(ln->text) - 1;
			while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
				n--;
		}
		memcpy(ln->text, text, n);
		ln->text[n] = '\0';
	}
	return ln;
}

static bool
has(const char *s)
{
	return s != NULL && *s != '\0';
}

static void
text(struct layout *l, enum layout_size size, bool bold, const char *s)
{
	if (has(s))
		layout_add(l, LK_TEXT, size, LA_CENTER, bold, s);
}

/* A pair of lines: the customer's language first, at size first; the other at size second. */
static void
pair(struct layout *l, const struct layout_ticket *t, const char *zh, const char *en,
    enum layout_size first, enum layout_size second, bool bold)
{
	text(l, first, bold, t->english_first ? en : zh);
	text(l, second, false, t->english_first ? zh : en);
}

void
layout_build(const struct layout_ticket *t, struct layout *l)
{
	char zh[LAYOUT_TEXT_MAX];

	memset(l, 0, sizeof(*l));
	l->width_dots = t->width_dots == LAYOUT_DOTS_58MM ? LAYOUT_DOTS_58MM : LAYOUT_DOTS_80MM;

	pair(l, t, t->branch_zh, t->branch_en, LS_NORMAL, LS_SMALL, true);
	layout_add(l, LK_RULE, LS_NORMAL, LA_CENTER, false, NULL);
	pair(l, t, t->service_zh, t->service_en, LS_LARGE, LS_NORMAL, true);
	text(l, LS_HUGE, true, t->number);

	if (has(t->category_zh) || has(t->category_en)) {
		struct layout_line *ln = layout_add(l, LK_TEXT, LS_LARGE, LA_CENTER, true,
		    t->english_first ? "Green Channel 绿色通道" : "绿色通道 Green Channel");
		if (ln != NULL)
			ln->inverse = true;
		snprintf(zh, sizeof(zh), "%s %s", t->english_first ? t->category_en : t->category_zh,
		    t->english_first ? t->category_zh : t->category_en);
		text(l, LS_NORMAL, true, zh);
	}

	if (t->ahead >= 0) {
		char en[LAYOUT_TEXT_MAX];

		snprintf(zh, sizeof(zh), "前面还有 %d 位", t->ahead);
		snprintf(en, sizeof(en), "%d %s ahead of you", t->ahead,
		    t->ahead == 1 ? "person" : "people");
		pair(l, t, zh, en, LS_NORMAL, LS_NORMAL, true);
		if (t->wait_min > 0) {
			snprintf(zh, sizeof(zh), "预计等候约 %ld 分钟", t->wait_min);
			snprintf(en, sizeof(en), "Estimated wait: about %ld min", t->wait_min);
			pair(l, t, zh, en, LS_NORMAL, LS_NORMAL, false);
		} else if (t->wait_min == 0) {
			pair(l, t, "预计等候不到 1 分钟", "Estimated wait: under 1 min", LS_NORMAL,
			    LS_NORMAL, false);
		}
	}
	if (has(t->issued)) {
		snprintf(zh, sizeof(zh), "%s %s", t->english_first ? "Issued 取号时间" : "取号时间 Issued",
		    t->issued);
		text(l, LS_SMALL, false, zh);
	}
	if (has(t->url)) {
		layout_add(l, LK_QR, LS_NORMAL, LA_CENTER, false, t->url);
		pair(l, t, "扫码查看排队进度", "Scan to follow your place in line", LS_SMALL,
		    LS_SMALL, false);
	}
	if (has(t->footer)) {
		layout_add(l, LK_RULE, LS_NORMAL, LA_CENTER, false, NULL);
		text(l, LS_SMALL, false, t->footer);
	}
}
