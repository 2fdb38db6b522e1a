/*
 * cupsjob.c: the CUPS client side of printing, with libcups's own API:
 * httpConnect2 to the configured server, Get-Printer-Attributes to refuse
 * early and clearly (no such queue, stopped, not accepting, no paper),
 * cupsCreateJob + cupsStartDocument(CUPS_FORMAT_RAW) + cupsWriteRequestData
 * + cupsFinishDocument to send the ESC/POS bytes untouched, then
 * Get-Job-Attributes every POLL_MS until the job completes, is aborted or
 * runs out of time.
 *
 * CUPS keeps a job whose printer is off (the backend retries the device
 * for days), so a deadline is the only way to tell the lobby in time; the
 * job is then cancelled, because the retry will send the ticket again and
 * a customer should not get two.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cups/cups.h>

#include "cupsjob.h"

#define CUPSJOB_POLL_MS 100
#define CUPSJOB_CONNECT_MS 5000

struct pstatus {
	int state;               /* IPP_PSTATE_IDLE, _PROCESSING, _STOPPED */
	bool accepting;
	char reasons[256];       /* printer-state-reasons, comma-separated */
	char message[256];       /* printer-state-message */
};

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static http_t *
cupsjob_connect(const char *server, char *err, size_t errlen)
{
	char host[256];
	int port = ippPort();
	char *colon;
	http_t *http;

	snprintf(host, sizeof(host), "%s", server[0] != '\0' ? server : cupsServer());
	/* "HOST:PORT"; a socket path ("/run/cups/cups.sock") has no port. */
	if (host[0] != '/' && (colon = strrchr(host, ':')) != NULL && colon[1] != '\0' &&
	    strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
		port = (int)strtol(colon + 1, NULL, 10);
		*colon = '\0';
	}
	/*
	 * cupsCreateJob looks the queue up through the thread's default server,
	 * whatever http it is given: point this (worker) thread's at ours.
	 */
	if (server[0] != '\0')
		cupsSetServer(server);
	http = httpConnect2(host, port, NULL, AF_UNSPEC, HTTP_ENCRYPTION_IF_REQUESTED, 1,
	    CUPSJOB_CONNECT_MS, NULL);
	/*
	 * errno is gone by now (httpConnect2 closes its socket on failure) and
	 * libcups says "Host is down" for a refused connection: say what to check.
	 */
	if (http == NULL)
		snprintf(err, errlen, "cannot reach the CUPS server %s (is cupsd running there? "
		    "is [printer] server right?)", server[0] != '\0' ? server : host);
	return http;
}

static void
printer_uri(const char *queue, char *uri, size_t len)
{
	httpAssembleURIf(HTTP_URI_CODING_ALL, uri, (int)len, "ipp", NULL, "localhost", 0,
	    "/printers/%s", queue);
}

/* Read queue's state. Returns 0, or -1 with the reason in err. */
static int
pstatus_get(http_t *http, const char *queue, struct pstatus *ps, char *err, size_t errlen)
{
	static const char *const want[] = { "printer-state", "printer-state-reasons",
	    "printer-state-message", "printer-is-accepting-jobs" };
	ipp_t *req = ippNewRequest(IPP_OP_GET_PRINTER_ATTRIBUTES), *resp;
	ipp_attribute_t *a;
	char uri[HTTP_MAX_URI];
	ipp_status_t st;

	memset(ps, 0, sizeof(*ps));
	printer_uri(queue, uri, sizeof(uri));
	ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, uri);
	ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes",
	    (int)(sizeof(want) / sizeof(want[0])), NULL, want);
	resp = cupsDoRequest(http, req, "/");
	st = cupsLastError();
	if (st == IPP_STATUS_ERROR_NOT_FOUND) {
		snprintf(err, errlen, "no CUPS queue \"%s\" (add it with lpadmin)", queue);
		ippDelete(resp);
		return -1;
	}
	if (resp == NULL || st > IPP_STATUS_OK_CONFLICTING) {
		snprintf(err, errlen, "CUPS: %s", cupsLastErrorString());
		ippDelete(resp);
		return -1;
	}
	if ((a = ippFindAttribute(resp, "printer-state", IPP_TAG_ENUM)) != NULL)
		ps->state = ippGetInteger(a, 0);
	if ((a = ippFindAttribute(resp, "printer-is-accepting-jobs", IPP_TAG_BOOLEAN)) != NULL)
		ps->accepting = ippGetBoolean(a, 0);
	if ((a = ippFindAttribute(resp, "printer-state-message", IPP_TAG_TEXT)) != NULL)
		snprintf(ps->message, sizeof(ps->message), "%s", ippGetString(a, 0, NULL));
	if ((a = ippFindAttribute(resp, "printer-state-reasons", IPP_TAG_KEYWORD)) != NULL) {
		size_t n = 0;
		for (int i = 0; i < ippGetCount(a) && n < sizeof(ps->reasons); i++) {
			const char *r = ippGetString(a, i, NULL);
			if (r != NULL && strcmp(r, "none") != 0)
				n += (size_t)snprintf(ps->reasons + n, sizeof(ps->reasons) - n, "%s%s",
				    n ? "," : "", r);
		}
	}
	ippDelete(resp);
	return 0;
}

/* Why queue cannot print now, into err; 0 when it can. */
static int
pstatus_judge(const char *queue, const struct pstatus *ps, char *err, size_t errlen)
{
	const char *why = ps->message[0] ? ps->message : ps->reasons[0] ? ps->reasons : "no reason given";

	if (strstr(ps->reasons, "media-empty") != NULL || strstr(ps->reasons, "media-needed") != NULL)
		snprintf(err, errlen, "printer out of paper");
	else if (strstr(ps->reasons, "cover-open") != NULL)
		snprintf(err, errlen, "printer cover open");
	else if (ps->state == IPP_PSTATE_STOPPED)
		snprintf(err, errlen, "CUPS queue \"%s\" is stopped (%s); start it with cupsenable",
		    queue, why);
	else if (!ps->accepting)
		snprintf(err, errlen, "CUPS queue \"%s\" is not accepting jobs; accept them with "
		    "cupsaccept", queue);
	else
		return 0;
	return -1;
}

int
cupsjob_check(const char *server, const char *queue, char *err, size_t errlen)
{
	http_t *http = cupsjob_connect(server, err, errlen);
	struct pstatus ps;
	int rc = -1;

	if (http == NULL)
		return -1;
	if (pstatus_get(http, queue, &ps, err, errlen) == 0)
		rc = pstatus_judge(queue, &ps, err, errlen);
	httpClose(http);
	return rc;
}

/* The job's state (IPP_JSTATE_*), or 0 when it cannot be read. */
static int
job_state(http_t *http, const char *queue, int job, char *reasons, size_t rlen)
{
	static const char *const want[] = { "job-state", "job-state-reasons" };
	ipp_t *req = ippNewRequest(IPP_OP_GET_JOB_ATTRIBUTES), *resp;
	char uri[HTTP_MAX_URI];
	int state = 0;

	printer_uri(queue, uri, sizeof(uri));
	ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, uri);
	ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "job-id", job);
	ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", 2, NULL, want);
	resp = cupsDoRequest(http, req, "/");
	if (resp != NULL && cupsLastError() <= IPP_STATUS_OK_CONFLICTING) {
		ipp_attribute_t *a;

		if ((a = ippFindAttribute(resp, "job-state", IPP_TAG_ENUM)) != NULL)
			state = ippGetInteger(a, 0);
		if ((a = ippFindAttribute(resp, "job-state-reasons", IPP_TAG_KEYWORD)) != NULL)
			snprintf(reasons, rlen, "%s", ippGetString(a, 0, NULL));
	}
	ippDelete(resp);
	return state;
}

int
cupsjob_print(const char *server, const char *queue, const char *title,
    const unsigned char *data, size_t len, int timeout_s, const atomic_bool *stop,
    char *err, size_t errlen)
{
	http_t *http = cupsjob_connect(server, err, errlen);
	struct pstatus ps;
	double deadline = mono_s() + timeout_s;
	char reasons[128] = "";
	int job, state = 0, rc = -1;

	if (http == NULL)
		return -1;
	if (pstatus_get(http, queue, &ps, err, errlen) != 0 ||
	    pstatus_judge(queue, &ps, err, errlen) != 0)
		goto out;
	if ((job = cupsCreateJob(http, queue, title, 0, NULL)) == 0) {
		snprintf(err, errlen, "CUPS refused the job: %s", cupsLastErrorString());
		goto out;
	}
	if (cupsStartDocument(http, queue, job, "ticket", CUPS_FORMAT_RAW, 1) != HTTP_STATUS_CONTINUE ||
	    cupsWriteRequestData(http, (const char *)data, len) != HTTP_STATUS_CONTINUE ||
	    cupsFinishDocument(http, queue) > IPP_STATUS_OK_CONFLICTING) {
		snprintf(err, errlen, "sending the job to CUPS failed: %s", cupsLastErrorString());
		cupsCancelJob2(http, queue, job, 0);
		goto out;
	}
	for (;;) {
		struct timespec pause = { 0, CUPSJOB_POLL_MS * 1000000L };

		state = job_state(http, queue, job, reasons, sizeof(reasons));
		if (state == IPP_JSTATE_COMPLETED) {
			rc = 0;
			break;
		}
		if (state == IPP_JSTATE_ABORTED || state == IPP_JSTATE_CANCELED) {
			snprintf(err, errlen, "CUPS %s the job (%s)", state == IPP_JSTATE_ABORTED ?
			    "aborted" : "cancelled", reasons[0] ? reasons : "no reason given");
			break;
		}
		if (atomic_load(stop) || mono_s() >= deadline) {
			/* Say what the printer was doing, then make sure it never prints late. */
			if (atomic_load(stop))
				snprintf(err, errlen, "branchqd stopped before the ticket printed");
			else if (pstatus_get(http, queue, &ps, err, errlen) == 0 &&
			    pstatus_judge(queue, &ps, err, errlen) == 0)
				snprintf(err, errlen, "not printed within %d s: %s", timeout_s,
				    ps.message[0] ? ps.message : ps.reasons[0] ? ps.reasons :
				    "the printer does not answer");
			cupsCancelJob2(http, queue, job, 0);
			break;
		}
		nanosleep(&pause, NULL);
	}
out:
	httpClose(http);
	return rc;
}
