/*
 * render.c: tickets, services, counters and the hall as JSON. Field names
 * are the API's (docs/api.md); times are ISO 8601 with the branch's offset.
 */
#include <string.h>

#include "bday.h"
#include "render.h"

json_t *
render_time(int64_t t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	time_iso8601(t, buf);
	return json_string(buf);
}

static json_t *
opt_int(int64_t v)
{
	return v > 0 ? json_integer(v) : json_null();
}

json_t *
render_ticket(const struct config *cfg, const struct ticket *t, const struct ticket_pos *pos,
    bool with_token)
{
	int s = config_service_index(cfg, t->service);
	bool waiting = t->status == TS_WAITING && pos != NULL && pos->ahead >= 0;
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "id", json_integer(t->id));
	json_object_set_new(o, "number", json_string(t->number));
	json_object_set_new(o, "service", json_string(t->service));
	json_object_set_new(o, "service_name_zh", s >= 0 ? json_string(cfg->services[s].name_zh) : json_null());
	json_object_set_new(o, "service_name_en", s >= 0 ? json_string(cfg->services[s].name_en) : json_null());
	json_object_set_new(o, "category", json_string(category_name(t->category)));
	json_object_set_new(o, "green", json_boolean(category_green(t->category)));
	json_object_set_new(o, "lang", json_string(lang_name(t->lang)));
	json_object_set_new(o, "status", json_string(status_name(t->status)));
	json_object_set_new(o, "ahead", waiting ? json_integer(pos->ahead) : json_null());
	json_object_set_new(o, "estimated_wait_s",
	    waiting && pos->estimated_wait_s >= 0 ? json_integer(pos->estimated_wait_s) : json_null());
	json_object_set_new(o, "business_day", json_string(t->bday));
	json_object_set_new(o, "issued_at", render_time(t->issued_at));
	json_object_set_new(o, "called_at", render_time(t->called_at));
	json_object_set_new(o, "recalled_at", render_time(t->recalled_at));
	json_object_set_new(o, "started_at", render_time(t->started_at));
	json_object_set_new(o, "ended_at", render_time(t->ended_at));
	json_object_set_new(o, "counter", opt_int(t->counter));
	json_object_set_new(o, "recalls", json_integer(t->recalls));
	json_object_set_new(o, "origin_id", json_integer(t->origin_id));
	json_object_set_new(o, "reinstated", json_integer(t->reinstated));
	json_object_set_new(o, "transferred_to", opt_int(t->transferred_to));
	json_object_set_new(o, "print", json_pack("{s:s,s:o}", "state",
	    print_state_name(t->print_state), "error",
	    t->print_error[0] ? json_string(t->print_error) : json_null()));
	if (with_token)
		json_object_set_new(o, "token", json_string(t->token));
	return o;
}

json_t *
render_service(const struct service_conf *s, int waiting, int open_counters)
{
	return json_pack("{s:s,s:s,s:s,s:I,s:f,s:I,s:i,s:i}", "id", s->id, "name_zh", s->name_zh,
	    "name_en", s->name_en, "overtime_s", (json_int_t)s->overtime_s, "target_share",
	    s->target_share, "service_time_s", (json_int_t)s->service_time_s, "waiting", waiting,
	    "open_counters", open_counters);
}

json_t *
render_counter(const struct config *cfg, int i, const struct counter_state *cs,
    const struct ticket *current)
{
	const struct counter_conf *cc = &cfg->counters[i];
	json_t *o = json_object(), *svcs = json_array();
	const char *state = "idle";

	if (o == NULL || svcs == NULL) {
		json_decref(o);
		json_decref(svcs);
		return NULL;
	}
	for (int j = 0; j < cc->nservices; j++)
		json_array_append_new(svcs, json_string(cfg->services[cc->services[j]].id));
	if (current != NULL)
		state = current->status == TS_SERVING ? "serving" : "called";
	json_object_set_new(o, "number", json_integer(cc->number));
	json_object_set_new(o, "services", svcs);
	json_object_set_new(o, "green", json_boolean(cc->green));
	json_object_set_new(o, "english", json_boolean(cc->english));
	json_object_set_new(o, "paused", json_boolean(cs != NULL && cs->paused));
	json_object_set_new(o, "paused_at", render_time(cs != NULL ? cs->paused_at : 0));
	json_object_set_new(o, "state", json_string(state));
	json_object_set_new(o, "ticket", current != NULL ? render_ticket(cfg, current, NULL, false) :
	    json_null());
	return o;
}

json_t *
render_queue(const struct config *cfg, const struct queue_view *v)
{
	json_t *o = json_object(), *services = json_array(), *counters = json_array();

	if (o == NULL || services == NULL || counters == NULL) {
		json_decref(o);
		json_decref(services);
		json_decref(counters);
		return NULL;
	}
	for (int s = 0; s < cfg->nservices; s++) {
		json_t *svc = render_service(&cfg->services[s], v->count[s], v->open_counters[s]);
		json_t *tickets = json_array();

		for (int j = 0; j < v->count[s]; j++) {
			int w = v->order[s][j];
			json_array_append_new(tickets, render_ticket(cfg, &v->waiting[w], &v->pos[w], false));
		}
		json_object_set_new(svc, "tickets", tickets);
		json_array_append_new(services, svc);
	}
	for (int i = 0; i < cfg->ncounters; i++)
		json_array_append_new(counters, render_counter(cfg, i, &v->counters[i],
		    v->counters[i].ticket_id ? &v->current[i] : NULL));
	json_object_set_new(o, "branch", json_pack("{s:s,s:s}", "name_zh", cfg->name_zh, "name_en",
	    cfg->name_en));
	json_object_set_new(o, "business_day", json_string(v->bday));
	json_object_set_new(o, "at", render_time(v->at));
	json_object_set_new(o, "last_event_id", json_integer(v->last_event_id));
	json_object_set_new(o, "services", services);
	json_object_set_new(o, "counters", counters);
	return o;
}

/* The latest moment a ticket was called to a counter (a recall counts), 0 when never. */
static int64_t
last_call(const struct ticket *t)
{
	return t->recalled_at > t->called_at ? t->recalled_at : t->called_at;
}

json_t *
render_hall_ticket(const struct ticket *t)
{
	return json_pack("{s:s,s:s,s:b,s:s,s:s,s:o}", "number", t->number, "service", t->service,
	    "green", category_green(t->category), "lang", lang_name(t->lang), "status",
	    status_name(t->status), "called_at", render_time(last_call(t)));
}

/* The keys the branch's keypads show, by name, in order. */
static json_t *
render_rating_key_names(const struct config *cfg)
{
	json_t *a = json_array();

	for (int i = 0; a != NULL && i < cfg->rating.nkeys; i++)
		json_array_append_new(a, json_string(rating_key_name(cfg->rating.keys[i])));
	return a;
}

json_t *
render_rating_keys(const struct config *cfg)
{
	json_t *a = json_array();

	for (int i = 0; a != NULL && i < cfg->rating.nkeys; i++) {
		int k = cfg->rating.keys[i];
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "key", rating_key_name(k), "zh",
		    rating_key_zh(k), "en", rating_key_en(k)));
	}
	return a;
}

/* The counters as the wall screen shows them: open or paused, and whom they called. */
static json_t *
render_hall_counters(const struct config *cfg, const struct queue_view *v)
{
	json_t *list = json_array();

	for (int i = 0; list != NULL && i < cfg->ncounters; i++) {
		const struct counter_state *cs = &v->counters[i];
		const struct ticket *cur = cs->ticket_id ? &v->current[i] : NULL;
		const struct queue_prompt *p = &v->prompt[i];
		json_t *c = json_pack("{s:i,s:s,s:s,s:b,s:s,s:o}", "number",
		    cfg->counters[i].number, "name_zh", cfg->counters[i].name_zh, "name_en",
		    cfg->counters[i].name_en, "paused", cs->paused != 0, "state", cur == NULL ? "idle" :
		    cur->status == TS_SERVING ? "serving" : "called", "ticket",
		    cur != NULL ? render_hall_ticket(cur) : json_null());

		if (c != NULL && v->teller[i][0] != '\0')
			json_object_set_new(c, "teller", json_string(v->teller[i]));
		/* The keypad's question: a number and a language, nothing personal. */
		if (c != NULL)
			json_object_set_new(c, "rating", p->ticket_id == 0 ? json_null() :
			    json_pack("{s:I,s:s,s:s,s:o,s:o}", "ticket_id", (json_int_t)p->ticket_id,
			    "number", p->number, "lang", lang_name(p->lang), "until", render_time(p->until),
			    "keys", render_rating_key_names(cfg)));
		json_array_append_new(list, c);
	}
	return list;
}

json_t *
render_hall(const struct config *cfg, const struct queue_view *v)
{
	json_t *waiting = json_object();

	for (int s = 0; waiting != NULL && s < cfg->nservices; s++)
		json_object_set_new(waiting, cfg->services[s].id, json_integer(v->count[s]));
	return json_pack("{s:o,s:o}", "waiting", waiting, "counters", render_hall_counters(cfg, v));
}

json_t *
render_display(const struct config *cfg, const struct queue_view *v)
{
	json_t *services = json_array();

	for (int s = 0; services != NULL && s < cfg->nservices; s++)
		json_array_append_new(services, json_pack("{s:s,s:s,s:s,s:i}", "id",
		    cfg->services[s].id, "name_zh", cfg->services[s].name_zh, "name_en",
		    cfg->services[s].name_en, "waiting", v->count[s]));
	return json_pack("{s:{s:s,s:s},s:s,s:o,s:I,s:i,s:o,s:o,s:o}", "branch", "name_zh",
	    cfg->name_zh, "name_en", cfg->name_en, "business_day", v->bday, "at", render_time(v->at),
	    "last_event_id", (json_int_t)v->last_event_id, "call_repeats", cfg->call_repeats,
	    "services", services, "counters", render_hall_counters(cfg, v), "rating_keys",
	    render_rating_keys(cfg));
}

json_t *
render_phone_ticket(const struct config *cfg, const struct ticket *t, const struct ticket_pos *pos)
{
	int s = config_service_index(cfg, t->service);
	bool waiting = t->status == TS_WAITING && pos != NULL && pos->ahead >= 0;

	return json_pack("{s:s,s:s,s:o,s:o,s:b,s:s,s:o,s:o,s:o}", "number", t->number, "service",
	    t->service, "service_name_zh", s >= 0 ? json_string(cfg->services[s].name_zh) :
	    json_null(), "service_name_en", s >= 0 ? json_string(cfg->services[s].name_en) :
	    json_null(), "green", category_green(t->category), "status", status_name(t->status),
	    "counter", opt_int(t->counter), "ahead", waiting ? json_integer(pos->ahead) : json_null(),
	    "estimated_wait_s", waiting && pos->estimated_wait_s >= 0 ?
	    json_integer(pos->estimated_wait_s) : json_null());
}

json_t *
render_green(const struct config *cfg)
{
	json_t *list = json_array();

	for (int c = CAT_NORMAL + 1; list != NULL && c < CAT_COUNT; c++)
		json_array_append_new(list, json_pack("{s:s,s:I}", "name",
		    category_name((enum category)c), "boost_s", (json_int_t)cfg->boost_s[c]));
	return json_pack("{s:o,s:i}", "categories", list, "elderly_age", cfg->elderly_age);
}

json_t *
render_rating(const struct rating *r)
{
	return json_pack("{s:I,s:I,s:s,s:i,s:o,s:s,s:s,s:o}", "origin_id", (json_int_t)r->origin_id,
	    "ticket_id", (json_int_t)r->ticket_id, "business_day", r->bday, "counter", r->counter,
	    "teller", r->teller[0] ? json_string(r->teller) : json_null(), "key", r->key, "source",
	    r->source, "at", render_time(r->at));
}

json_t *
render_alert(const struct alert *a)
{
	return json_pack("{s:I,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", (json_int_t)a->id, "kind",
	    a->kind, "at", render_time(a->at), "counter", a->counter ? json_integer(a->counter) :
	    json_null(), "teller", a->teller[0] ? json_string(a->teller) : json_null(), "number",
	    a->number[0] ? json_string(a->number) : json_null(), "from", a->from[0] ?
	    json_string(a->from) : json_null(), "acknowledged_at", a->acked_at ?
	    render_time(a->acked_at) : json_null(), "acknowledged_by", a->acked_by[0] ?
	    json_string(a->acked_by) : json_null());
}
