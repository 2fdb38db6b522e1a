/*
 * layout.h: a paper ticket as a plain list of lines, built once from what
 * the ticket says and handed to every driver (ESC/POS for the thermal
 * printer, PNG for the preview), so that the paper and the picture of it
 * cannot disagree. Building a layout is pure: no clock, no file, no
 * allocation; the caller passes every word and the time, already formatted.
 */
#ifndef BRANCHQ_LAYOUT_H
#define BRANCHQ_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#define LAYOUT_MAX_LINES 32
#define LAYOUT_TEXT_MAX 256

/* Printable width in dots at 203 dpi (8 dots/mm): 72 mm of 80 mm paper, 48 mm of 58 mm. */
#define LAYOUT_DOTS_80MM 576
#define LAYOUT_DOTS_58MM 384

enum layout_kind {
	LK_TEXT,
	LK_QR,           /* text is the URL to encode */
	LK_RULE,         /* a thin line across the paper */
	LK_FEED,         /* an empty line */
};

enum layout_size {
	LS_SMALL,        /* notes and the footer */
	LS_NORMAL,
	LS_LARGE,        /* twice as wide and high: the service and the green mark */
	LS_HUGE,         /* the number: as large as the paper allows */
};

enum layout_align { LA_LEFT, LA_CENTER, LA_RIGHT };

struct layout_line {
	enum layout_kind kind;
	enum layout_size size;
	enum layout_align align;
	bool bold;
	bool inverse;    /* white on black: the green-channel mark */
	char text[LAYOUT_TEXT_MAX];     /* UTF-8 */
};

struct layout {
	int width_dots;  /* LAYOUT_DOTS_80MM or LAYOUT_DOTS_58MM */
	struct layout_line line[LAYOUT_MAX_LINES];
	int n;
};

/* What a ticket says, all of it UTF-8 text the caller owns; NULL or "" leaves a line out. */
struct layout_ticket {
	const char *branch_zh, *branch_en;
	const char *service_zh, *service_en;
	const char *number;              /* "A001" */
	bool english_first;              /* the customer's language is English */
	const char *category_zh, *category_en;   /* a green category; NULL when normal */
	int ahead;                       /* people ahead; -1: not waiting (no line) */
	long wait_min;                   /* estimated wait in minutes; -1: unknown */
	const char *issued;              /* "2026-11-24 09:30" */
	const char *url;                 /* the phone page, shown as a QR code */
	const char *footer;              /* e.g. the complaint hotline */
	int width_dots;
};

/* Build the layout of ticket t into *out (overwritten whole). Text too long for a line is cut at a character. */
void layout_build(const struct layout_ticket *t, struct layout *out);

#endif
