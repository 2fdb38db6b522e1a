/*
 * live_work.c: the live advice's worker (see live_work.h).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "bday.h"
#include "live_work.h"
#include "log.h"

static bool
live_work_run(const void *in, uint8_t **out, size_t *len)
{
	const struct live_job *j = in;
	struct live_result *res = calloc(1, sizeof(*res));
	struct sim_scenario *sc = malloc(sizeof(*sc));
	struct simday_fit fit;
	sqlite3 *db = NULL;

	memset(&fit, 0, sizeof(fit));
	if (res == NULL || sc == NULL) {
		free(res);
		free(sc);
		return false;
	}
	res->now = j->now;
	simday_scenario(&j->cfg, sc);
	if (sqlite3_open_v2(j->cfg.database, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		char why[256];

		sqlite3_busy_timeout(db, 2000);
		/* No history for today's weekday: the queue alone, nobody more expected. */
		res->history = simday_fit(db, &j->cfg, bday_of(j->now, j->cfg.day_reset_min), sc, &fit,
		    why, sizeof(why)) == 0;
		if (!res->history)
			simday_scenario(&j->cfg, sc);
	} else {
		log_warnx("advice: cannot open %s to read: %s", j->cfg.database,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		res->err = -1;
	}
	sqlite3_close(db);
	if (res->err == 0 && simday_live(&j->cfg, sc, j->now, j->waiting, j->nwaiting, j->open,
	    j->cfg.advisor.live_replications, j->seed, &res->live) != 0)
		res->err = -1;
	res->live.waiting = j->waiting_all;
	simday_fit_free(&fit);
	free(sc);
	*out = (uint8_t *)res;
	*len = sizeof(*res);
	return true;
}

struct work *
live_work_new(void)
{
	json_object_seed(0);
	return work_new("live", 2, sizeof(struct live_job), live_work_run);
}

static json_t *
share_json(const struct simday_share *s)
{
	return json_pack("{s:f,s:[f,f]}", "overtime_share", s->share, "overtime_share_ci", s->lo,
	    s->hi);
}

json_t *
live_work_json(const struct config *cfg, const struct live_result *r)
{
	const struct simday_live *l = &r->live;
	json_t *j = json_object(), *svc = json_array();

	for (int s = 0; s < cfg->nservices; s++) {
		if (l->service[s].days == 0)
			continue;
		json_t *o = share_json(&l->service[s]);
		json_object_set_new(o, "service", json_string(cfg->services[s].id));
		json_object_set_new(o, "target_share", json_real(cfg->services[s].target_share));
		json_object_set_new(o, "over", json_boolean(l->service[s].share >
		    cfg->services[s].target_share));
		if (l->counter >= 0 && l->service_with[s].days > 0)
			json_object_set_new(o, "with_counter", share_json(&l->service_with[s]));
		json_array_append_new(svc, o);
	}
	json_object_set_new(j, "waiting", json_integer(l->waiting));
	json_object_set_new(j, "expected_arrivals", json_real(l->arrivals));
	json_object_set_new(j, "history", json_boolean(r->history));
	json_object_set_new(j, "predicted", share_json(&l->total));
	json_object_set_new(j, "services", svc);
	if (l->on && l->counter >= 0) {
		json_t *c = share_json(&l->total_with);
		json_object_set_new(c, "number", json_integer(cfg->counters[l->counter].number));
		json_object_set_new(c, "name_zh", json_string(cfg->counters[l->counter].name_zh));
		json_object_set_new(c, "name_en", json_string(cfg->counters[l->counter].name_en));
		json_object_set_new(j, "open_counter", c);
	} else {
		json_object_set_new(j, "open_counter", json_null());
	}
	return j;
}
