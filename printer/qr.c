/*
 * qr.c: QR codes through libqrencode, copied into memory we own so that the
 * drivers need not know its types.
 */
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "qr.h"

int
qr_encode(const char *text, struct qr *out)
{
	QRcode *c = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	size_t n;

	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return -1;
	n = (size_t)c->width * (size_t)c->width;
	if ((out->dark = malloc(n)) == NULL) {
		QRcode_free(c);
		return -1;
	}
	/* libqrencode's bit 0 of each byte is the module's colour. */
	for (size_t i = 0; i < n; i++)
		out->dark[i] = c->data[i] & 1;
	out->width = c->width;
	QRcode_free(c);
	return 0;
}

void
qr_free(struct qr *q)
{
	free(q->dark);
	q->dark = NULL;
	q->width = 0;
}
