/*
 * error.c: code, status and default message of every branchq error, in one
 * table so that a new error is one line.
 */
#include "error.h"

static const struct {
	const char *code;
	unsigned int status;
	const char *message;
	unsigned int retry_after;           /* seconds; every 503 says when to come back */
} bq_errors[BQ_ERR_COUNT] = {
	[BQ_OK] = { "ok", 200, "ok" },
	[BQ_ERR_MALFORMED_JSON] = { "malformed_json", 400, "the request body is not valid JSON" },
	[BQ_ERR_INVALID_FIELD] = { "invalid_field", 400, "a field is unknown, missing or of the wrong type" },
	[BQ_ERR_INVALID_ID_NUMBER] = { "invalid_id_number", 400, "the ID number is not valid" },
	[BQ_ERR_INVALID_CATEGORY] = { "invalid_category", 400, "unknown category" },
	[BQ_ERR_INVALID_LANG] = { "invalid_lang", 400, "lang must be \"zh\" or \"en\"" },
	[BQ_ERR_INVALID_QUERY] = { "invalid_query", 400, "a query parameter is not valid" },
	[BQ_ERR_SAME_SERVICE] = { "same_service", 400, "the ticket is already in that service" },
	[BQ_ERR_UNKNOWN_SERVICE] = { "unknown_service", 404, "no such service" },
	[BQ_ERR_UNKNOWN_COUNTER] = { "unknown_counter", 404, "no such counter" },
	[BQ_ERR_UNKNOWN_TICKET] = { "unknown_ticket", 404, "no such ticket" },
	[BQ_ERR_NOT_FOUND] = { "not_found", 404, "no such resource" },
	[BQ_ERR_METHOD_NOT_ALLOWED] = { "method_not_allowed", 405, "method not allowed here" },
	[BQ_ERR_COUNTER_PAUSED] = { "counter_paused", 409, "the counter is paused" },
	[BQ_ERR_COUNTER_NOT_PAUSED] = { "counter_not_paused", 409, "the counter is not paused" },
	[BQ_ERR_NO_CURRENT_TICKET] = { "no_current_ticket", 409, "the counter has no current ticket" },
	[BQ_ERR_NOT_CALLED] = { "not_called", 409, "the customer is already being served" },
	[BQ_ERR_TICKET_NOT_WAITING] = { "ticket_not_waiting", 409, "the ticket is no longer waiting" },
	[BQ_ERR_PREVIOUS_DAY] = { "previous_day", 409, "the ticket belongs to an earlier business day, "
	    "whose numbers are issued again today: finish it and issue a new ticket" },
	[BQ_ERR_COUNTER_CHANGED] = { "counter_changed", 409, "the counter's current ticket is not the "
	    "one expected (another click or another client got there first); nothing was changed" },
	[BQ_ERR_NO_PRINTER] = { "no_printer", 409, "no printer is configured ([printer] queue)" },
	[BQ_ERR_OUTCOME_NEEDED] = { "outcome_needed", 409, "the current ticket was recalled and "
	    "never started: say whether the customer came (outcome served) or not (outcome no_show) "
	    "(客户来了吗？)" },
	[BQ_ERR_NOT_NO_SHOW] = { "not_no_show", 409, "only a ticket marked no-show can be put "
	    "back in line (只有过号的票可以重新排队)" },
	[BQ_ERR_REINSTATE_LIMIT] = { "reinstate_limit", 409, "this ticket was put back in line as "
	    "often as the branch allows (reinstate_max) (已达重新排队次数上限)" },
	[BQ_ERR_NOTHING_TO_RATE] = { "nothing_to_rate", 409, "the counter has finished no ticket "
	    "in the last 10 minutes that is not rated yet" },
	[BQ_ERR_RATING_CLOSED] = { "rating_closed", 409, "no rating is asked for this ticket now "
	    "(the time for it passed, or it was never asked); nothing was changed" },
	[BQ_ERR_ALREADY_RATED] = { "already_rated", 409, "this ticket was rated already; one "
	    "rating per ticket (已评价)" },
	[BQ_ERR_UNKNOWN_ALERT] = { "unknown_alert", 404, "no such alert today" },
	[BQ_ERR_NO_HISTORY] = { "no_history", 404, "no day of history to plan from" },
	[BQ_ERR_ALREADY_ACKNOWLEDGED] = { "already_acknowledged", 409, "somebody acknowledged "
	    "this alert already" },
	[BQ_ERR_BODY_TOO_LARGE] = { "body_too_large", 413, "the request body is over 16 KiB" },
	[BQ_ERR_UNSUPPORTED_MEDIA] = { "unsupported_media_type", 415, "send application/json" },
	[BQ_ERR_STORAGE_FULL] = { "storage_full", 507, "the disk is full; nothing was changed" },
	[BQ_ERR_STORAGE] = { "storage_error", 500, "the database failed; nothing was changed" },
	[BQ_ERR_STORAGE_UNWRITABLE] = { "storage_unwritable", 503, "the database cannot be written "
	    "now (a read-only or failing disk, a file-size limit); nothing was changed", 10 },
	[BQ_ERR_SHUTTING_DOWN] = { "shutting_down", 503, "the server is shutting down", 5 },
	[BQ_ERR_VOICE_UNAVAILABLE] = { "voice_unavailable", 503, "the call could not be "
	    "synthesised (espeak-ng failed or is busy); try again", 2 },
	[BQ_ERR_PREVIEW_BUSY] = { "preview_busy", 503, "too many ticket previews are waiting "
	    "to be drawn; try again in a moment", 1 },
	[BQ_ERR_REPORT_BUSY] = { "report_busy", 503, "too many reports are being built; try "
	    "again in a moment", 2 },
	[BQ_ERR_STREAMS_FULL] = { "streams_full", 503, "the server holds as many event streams "
	    "as it may; try again later", 10 },
	[BQ_ERR_TOO_MANY_STREAMS] = { "too_many_streams", 503, "this address holds as many "
	    "event streams as one client may; close one or try again later", 10 },
	[BQ_ERR_UNAUTHORIZED] = { "unauthorized", 401, "sign in first (请先登录)" },
	[BQ_ERR_SIGN_IN_FAILED] = { "sign_in_failed", 401, "wrong name or password "
	    "(用户名或密码错误)" },
	[BQ_ERR_FORBIDDEN] = { "forbidden", 403, "your role may not do this here "
	    "(您的角色无权执行此操作)" },
	[BQ_ERR_CSRF] = { "csrf", 403, "a change needs the session's X-CSRF-Token header, a "
	    "same-origin Origin and a JSON body" },
	[BQ_ERR_COUNTER_TAKEN] = { "counter_taken", 409, "another teller is signed in at this "
	    "counter; they sign out first, or a branch head releases it (该窗口已有柜员登录)" },
	[BQ_ERR_TICKET_EXPIRED] = { "ticket_expired", 410, "this ticket was for an earlier "
	    "business day (此号票已过期)" },
	[BQ_ERR_MISDIRECTED] = { "misdirected", 421, "this server does not answer to that host "
	    "name" },
	[BQ_ERR_LOCKED] = { "locked", 429, "too many failed sign-ins: this name is locked for a "
	    "while (登录失败次数过多，账户暂时锁定)", 60 },
	[BQ_ERR_SLOWED] = { "too_many_attempts", 429, "too many failed sign-ins from this "
	    "device: wait a minute and try again (登录失败次数过多，请稍后再试)", 60 },
	[BQ_ERR_SIGN_IN_BUSY] = { "sign_in_busy", 503, "too many sign-ins at once: try again in a "
	    "moment (登录人数过多，请稍后再试)", 2 },
	[BQ_ERR_TOO_MANY_REQUESTS] = { "too_many_requests", 429, "this client asks faster than "
	    "its share; others are served first: slow down (请求过于频繁，请稍后再试)", 2 },
	[BQ_ERR_INTERNAL] = { "internal_error", 500, "internal error" },
};

const char *bq_err_code(enum bq_err e) { return bq_errors[e].code; }
const char *bq_err_message(enum bq_err e) { return bq_errors[e].message; }
unsigned int bq_err_status(enum bq_err e) { return bq_errors[e].status; }
unsigned int bq_err_retry_after(enum bq_err e) { return bq_errors[e].retry_after; }
