-- hq/schema.sql: the head office's database (docs/hq.md), version 1.
--
-- Every branch's branchqd sends its event log here (daemon/uplink.c,
-- through hq.put_events); the head office reads every branch through the
-- views at the end, which compute the branch's daily report figures with
-- the branch's own definitions (docs/reports.md). Load it once, as the
-- database's owner, with psql -v ON_ERROR_STOP=1 -f hq/schema.sql.
--
-- Roles: hq_branch (the group of every branch's own login role: it may put
-- its own branch's events and nothing else) and hq_analyst (reads the
-- views, writes nothing). A branch's login is made with hq.add_branch.

BEGIN;

CREATE SCHEMA hq;

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hq_branch') THEN
		CREATE ROLE hq_branch NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hq_analyst') THEN
		CREATE ROLE hq_analyst NOLOGIN;
	END IF;
END $$;

CREATE TABLE hq.schema_version (version integer NOT NULL);
INSERT INTO hq.schema_version VALUES (1);

-- One row per branch, made by the head office (hq.add_branch); the branch
-- fills in its names, time zone and day reset, and claims it with its
-- database's install id on first contact.
CREATE TABLE hq.branches (
	branch_id text PRIMARY KEY CHECK (branch_id ~ '^[A-Za-z0-9_-]{1,32}$'),
	db_role name NOT NULL UNIQUE,
	install_id text,
	name_zh text,
	name_en text,
	timezone text,
	day_reset time,
	last_event_id bigint NOT NULL DEFAULT 0,
	updated_at timestamptz
);

-- The services of each branch's business day, as its config had them when
-- that day's events came: the thresholds and targets the figures use.
CREATE TABLE hq.services_day (
	branch_id text NOT NULL REFERENCES hq.branches,
	bday date NOT NULL,
	service text NOT NULL,
	name_zh text NOT NULL,
	name_en text NOT NULL,
	overtime_s integer NOT NULL,
	target_share double precision NOT NULL,
	PRIMARY KEY (branch_id, bday, service)
);

CREATE TABLE hq.counters (
	branch_id text NOT NULL REFERENCES hq.branches,
	number integer NOT NULL,
	name_zh text NOT NULL,
	name_en text NOT NULL,
	PRIMARY KEY (branch_id, number)
);

-- The event log, every branch's, partitioned by business date: a ticket's
-- events by the ticket's own business day (its expiry at the next day's
-- reset included), any other by the day it happened on. (The month
-- partitions come from hq.add_months; a default one holds the rest). The
-- key includes the partition key, as PostgreSQL requires; a branch's event
-- id has one business date, so it is unique per branch all the same.
CREATE TABLE hq.events (
	branch_id text NOT NULL,
	event_id bigint NOT NULL,
	bday date NOT NULL,
	at timestamptz NOT NULL,
	type text NOT NULL,
	ticket_id bigint,
	counter integer,
	data jsonb NOT NULL,
	received_at timestamptz NOT NULL DEFAULT clock_timestamp(),   -- when it arrived here
	PRIMARY KEY (branch_id, bday, event_id)
) PARTITION BY RANGE (bday);
CREATE TABLE hq.events_default PARTITION OF hq.events DEFAULT;
CREATE INDEX events_day ON hq.events (bday, branch_id, ticket_id, event_id);

-- Month partitions from the month of first, n of them. Retention: detach
-- and drop old months (docs/hq.md).
CREATE FUNCTION hq.add_months(first date, n integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	m date := date_trunc('month', first)::date;
	name text;
BEGIN
	FOR i IN 0 .. n - 1 LOOP
		name := format('events_%s', to_char(m, 'YYYY_MM'));
		IF to_regclass('hq.' || name) IS NULL THEN
			EXECUTE format('CREATE TABLE hq.%I PARTITION OF hq.events FOR VALUES FROM (%L) TO (%L)',
			    name, m, (m + interval '1 month')::date);
		END IF;
		m := (m + interval '1 month')::date;
	END LOOP;
END $$;

-- A branch's login: a role in hq_branch and its row. Run by the head office.
CREATE FUNCTION hq.add_branch(p_branch text, p_role name, p_password text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE hq_branch', p_role, p_password);
	INSERT INTO hq.branches (branch_id, db_role) VALUES (p_branch, p_role);
END $$;

-- ---- what a branch may do: its own rows only (row-level security) ----

-- The branch of the role asking; NULL for any other role.
CREATE FUNCTION hq.my_branch() RETURNS text LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, hq AS $$
	SELECT branch_id FROM hq.branches WHERE db_role = session_user
$$;

ALTER TABLE hq.branches ENABLE ROW LEVEL SECURITY;
ALTER TABLE hq.services_day ENABLE ROW LEVEL SECURITY;
ALTER TABLE hq.counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE hq.events ENABLE ROW LEVEL SECURITY;

CREATE POLICY own_row ON hq.branches FOR ALL TO hq_branch
	USING (db_role = session_user) WITH CHECK (db_role = session_user);
CREATE POLICY own_rows ON hq.services_day FOR ALL TO hq_branch
	USING (branch_id = hq.my_branch()) WITH CHECK (branch_id = hq.my_branch());
CREATE POLICY own_rows ON hq.counters FOR ALL TO hq_branch
	USING (branch_id = hq.my_branch()) WITH CHECK (branch_id = hq.my_branch());
-- Analysts read every branch's names (the league table); nothing else directly.
CREATE POLICY analysts_read ON hq.branches FOR SELECT TO hq_analyst USING (true);
-- Events: insert its own, read nothing (ON CONFLICT DO NOTHING needs no read).
CREATE POLICY own_inserts ON hq.events FOR INSERT TO hq_branch
	WITH CHECK (branch_id = hq.my_branch());

GRANT USAGE ON SCHEMA hq TO hq_branch, hq_analyst;
GRANT SELECT ON hq.schema_version TO hq_branch, hq_analyst;
GRANT SELECT, UPDATE (install_id, name_zh, name_en, timezone, day_reset, last_event_id, updated_at)
	ON hq.branches TO hq_branch;
GRANT SELECT, INSERT, UPDATE ON hq.services_day, hq.counters TO hq_branch;
GRANT INSERT ON hq.events TO hq_branch;
REVOKE EXECUTE ON FUNCTION hq.add_branch(text, name, text), hq.add_months(date, integer) FROM PUBLIC;

-- This database takes the branch's row, or finds it another's: a second
-- database sending as the same branch would mix two event logs.
CREATE FUNCTION hq.claim(p_branch text, p_install text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	have text;
	found_row boolean;
	last bigint;
BEGIN
	SELECT install_id, last_event_id, true INTO have, last, found_row FROM hq.branches
	    WHERE branch_id = p_branch FOR UPDATE;
	IF found_row IS NULL THEN
		RAISE EXCEPTION 'branch % is not this login''s (ask the head office for its own)', p_branch;
	END IF;
	IF have IS NULL THEN
		UPDATE hq.branches SET install_id = p_install WHERE branch_id = p_branch;
	ELSIF have <> p_install THEN
		RAISE EXCEPTION 'branch id % is already taken by another branch''s database (install %)',
		    p_branch, have;
	END IF;
	RETURN last;
END $$;

-- One batch of a branch's events, in one transaction: the events (a batch
-- sent again is ignored row by row), the services of each business day in
-- it, the counters, the branch's names and day, and its cursor here.
CREATE FUNCTION hq.put_events(p_branch text, p_install text, p_events jsonb, p_meta jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	last bigint;
BEGIN
	PERFORM hq.claim(p_branch, p_install);
	INSERT INTO hq.events (branch_id, event_id, bday, at, type, ticket_id, counter, data)
	SELECT p_branch, (e->>'id')::bigint,
	    coalesce((e->'data'->'ticket'->>'business_day')::date, (e->>'bday')::date),
	    to_timestamp((e->>'at')::bigint),
	    e->>'type', (e->>'ticket_id')::bigint, (e->>'counter')::integer, e->'data'
	FROM jsonb_array_elements(p_events) e
	ON CONFLICT DO NOTHING;
	INSERT INTO hq.services_day AS s (branch_id, bday, service, name_zh, name_en, overtime_s,
	    target_share)
	SELECT p_branch, d.bday, v->>'id', v->>'name_zh', v->>'name_en', (v->>'overtime_s')::integer,
	    (v->>'target_share')::double precision
	FROM (SELECT DISTINCT (e->>'bday')::date AS bday FROM jsonb_array_elements(p_events) e) d,
	    jsonb_array_elements(p_meta->'services') v
	ON CONFLICT (branch_id, bday, service) DO UPDATE SET name_zh = excluded.name_zh,
	    name_en = excluded.name_en, overtime_s = excluded.overtime_s,
	    target_share = excluded.target_share;
	INSERT INTO hq.counters AS c (branch_id, number, name_zh, name_en)
	SELECT p_branch, (k->>'number')::integer, k->>'name_zh', k->>'name_en'
	FROM jsonb_array_elements(p_meta->'counters') k
	ON CONFLICT (branch_id, number) DO UPDATE SET name_zh = excluded.name_zh,
	    name_en = excluded.name_en;
	SELECT max((e->>'id')::bigint) INTO last FROM jsonb_array_elements(p_events) e;
	UPDATE hq.branches SET name_zh = p_meta->>'name_zh', name_en = p_meta->>'name_en',
	    timezone = p_meta->>'timezone', day_reset = (p_meta->>'day_reset')::time,
	    last_event_id = greatest(last_event_id, coalesce(last, 0)), updated_at = now()
	WHERE branch_id = p_branch;
	RETURN last;
END $$;

GRANT EXECUTE ON FUNCTION hq.claim(text, text), hq.put_events(text, text, jsonb, jsonb) TO hq_branch;

-- ---- the figures (docs/reports.md, docs/hq.md) ----

-- The share is summed from counts, never averaged from shares.
CREATE FUNCTION hq.share(overtime bigint, base bigint) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN base > 0 THEN overtime::double precision / base END $$;

-- When a branch's business day d ends: the next day_reset in its zone.
CREATE FUNCTION hq.day_end(p_tz text, p_reset time, d date) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
	SELECT ((d + 1) + p_reset) AT TIME ZONE p_tz
$$;

-- Every leg as it stood at close (the end of its day, or now for a day
-- still running): its newest image in the events at or before close.
CREATE VIEW hq.legs AS
SELECT DISTINCT ON (e.branch_id, e.bday, e.ticket_id)
	e.branch_id, e.bday, e.ticket_id,
	(e.data->'ticket'->>'origin_id')::bigint AS origin_id,
	e.data->'ticket'->>'number' AS number,
	e.data->'ticket'->>'service' AS service,
	e.data->'ticket'->>'category' AS category,
	e.data->'ticket'->>'status' AS status,
	(e.data->'ticket'->>'issued_at')::timestamptz AS issued_at,
	(e.data->'ticket'->>'called_at')::timestamptz AS called_at,
	(e.data->'ticket'->>'ended_at')::timestamptz AS ended_at,
	(e.data->'ticket'->>'created_at')::timestamptz AS created_at,
	least(now(), hq.day_end(b.timezone, b.day_reset, e.bday)) AS close_at,
	b.timezone
FROM hq.events e JOIN hq.branches b USING (branch_id)
WHERE e.ticket_id IS NOT NULL AND e.data ? 'ticket'
  AND e.at <= least(now(), hq.day_end(b.timezone, b.day_reset, e.bday))
ORDER BY e.branch_id, e.bday, e.ticket_id, e.event_id DESC;

-- Each ticket once, by its last leg at close, with its wait and overtime.
-- The business day is in every key, so a query of some days reads only
-- their partitions and rows.
CREATE VIEW hq.tickets AS
WITH last_leg AS (
	SELECT DISTINCT ON (branch_id, bday, origin_id) *
	FROM hq.legs
	ORDER BY branch_id, bday, origin_id, ticket_id DESC
), moved AS (
	SELECT DISTINCT e.branch_id, e.bday, (e.data->'ticket'->>'origin_id')::bigint AS origin_id
	FROM hq.events e JOIN hq.branches b USING (branch_id)
	WHERE e.type = 'ticket.transferred'
	  AND e.at <= least(now(), hq.day_end(b.timezone, b.day_reset, e.bday))
)
SELECT l.branch_id, l.bday, l.origin_id, l.number, l.service, l.category,
	l.category <> 'normal' AS green,
	extract(hour FROM l.issued_at AT TIME ZONE l.timezone)::integer AS hour,
	l.called_at IS NOT NULL AND l.called_at <= l.close_at AS called,
	l.status = 'served' AS served,
	l.status = 'no_show' AS no_show,
	l.status = 'cancelled' AND l.called_at IS NULL AS cancelled,
	(l.called_at IS NULL OR l.called_at > l.close_at) AND l.status NOT IN ('cancelled') AS waiting_at_close,
	m.origin_id IS NOT NULL AS transferred,
	CASE WHEN l.called_at IS NOT NULL AND l.called_at <= l.close_at
	     THEN floor(extract(epoch FROM l.called_at) - extract(epoch FROM l.issued_at))::bigint END
	    AS wait_s,
	floor(extract(epoch FROM l.close_at) - extract(epoch FROM l.issued_at))::bigint AS open_s,
	s.overtime_s, s.target_share
FROM last_leg l
LEFT JOIN moved m ON m.branch_id = l.branch_id AND m.bday = l.bday AND m.origin_id = l.origin_id
LEFT JOIN hq.services_day s ON s.branch_id = l.branch_id AND s.bday = l.bday AND s.service = l.service;

-- The figures of a set of tickets, under the daily report's names.
CREATE VIEW hq.ticket_figures AS
SELECT t.*,
	t.called AND t.wait_s > t.overtime_s AS overtime_called,
	t.waiting_at_close AND t.open_s > t.overtime_s AS overtime_waiting
FROM hq.tickets t;

-- The branch-wide target of a day: the strictest of its services.
CREATE VIEW hq.branch_targets AS
SELECT branch_id, bday, min(target_share) AS target_share FROM hq.services_day GROUP BY 1, 2;

-- Per branch and day; then by service, by hour, green against normal.
CREATE VIEW hq.daily AS
SELECT f.branch_id, f.bday AS date,
	count(*) AS issued,
	count(*) FILTER (WHERE called) AS called,
	count(*) FILTER (WHERE served) AS served,
	count(*) FILTER (WHERE no_show) AS no_show,
	count(*) FILTER (WHERE cancelled) AS cancelled,
	count(*) FILTER (WHERE waiting_at_close) AS waiting_at_close,
	count(*) FILTER (WHERE transferred) AS transferred,
	round(avg(wait_s)::numeric, 1) AS wait_avg_s,
	percentile_disc(0.5) WITHIN GROUP (ORDER BY wait_s) AS wait_p50_s,
	percentile_disc(0.9) WITHIN GROUP (ORDER BY wait_s) AS wait_p90_s,
	max(wait_s) AS wait_max_s,
	count(*) FILTER (WHERE overtime_called OR overtime_waiting) AS overtime,
	count(*) FILTER (WHERE overtime_waiting) AS overtime_waiting,
	count(*) FILTER (WHERE called OR overtime_waiting) AS overtime_base,
	hq.share(count(*) FILTER (WHERE overtime_called OR overtime_waiting),
	    count(*) FILTER (WHERE called OR overtime_waiting)) AS overtime_share,
	bt.target_share,
	count(*) FILTER (WHERE overtime_called OR overtime_waiting) <=
	    bt.target_share * count(*) FILTER (WHERE called OR overtime_waiting) AS target_met
FROM hq.ticket_figures f JOIN hq.branch_targets bt ON bt.branch_id = f.branch_id AND bt.bday = f.bday
GROUP BY f.branch_id, f.bday, bt.target_share;

CREATE VIEW hq.daily_by_service AS
SELECT f.branch_id, f.bday AS date, f.service,
	count(*) AS issued,
	count(*) FILTER (WHERE called) AS called,
	count(*) FILTER (WHERE served) AS served,
	count(*) FILTER (WHERE no_show) AS no_show,
	count(*) FILTER (WHERE cancelled) AS cancelled,
	count(*) FILTER (WHERE waiting_at_close) AS waiting_at_close,
	count(*) FILTER (WHERE transferred) AS transferred,
	round(avg(wait_s)::numeric, 1) AS wait_avg_s,
	percentile_disc(0.5) WITHIN GROUP (ORDER BY wait_s) AS wait_p50_s,
	percentile_disc(0.9) WITHIN GROUP (ORDER BY wait_s) AS wait_p90_s,
	max(wait_s) AS wait_max_s,
	count(*) FILTER (WHERE overtime_called OR overtime_waiting) AS overtime,
	count(*) FILTER (WHERE overtime_waiting) AS overtime_waiting,
	count(*) FILTER (WHERE called OR overtime_waiting) AS overtime_base,
	hq.share(count(*) FILTER (WHERE overtime_called OR overtime_waiting),
	    count(*) FILTER (WHERE called OR overtime_waiting)) AS overtime_share,
	min(f.target_share) AS target_share,
	count(*) FILTER (WHERE overtime_called OR overtime_waiting) <=
	    min(f.target_share) * count(*) FILTER (WHERE called OR overtime_waiting) AS target_met
FROM hq.ticket_figures f
GROUP BY f.branch_id, f.bday, f.service;

CREATE VIEW hq.daily_by_hour AS
SELECT f.branch_id, f.bday AS date, f.hour,
	count(*) AS issued,
	count(*) FILTER (WHERE called) AS called,
	count(*) FILTER (WHERE overtime_called OR overtime_waiting) AS overtime,
	count(*) FILTER (WHERE called OR overtime_waiting) AS overtime_base,
	hq.share(count(*) FILTER (WHERE overtime_called OR overtime_waiting),
	    count(*) FILTER (WHERE called OR overtime_waiting)) AS overtime_share,
	bt.target_share,
	count(*) FILTER (WHERE overtime_called OR overtime_waiting) <=
	    bt.target_share * count(*) FILTER (WHERE called OR overtime_waiting) AS target_met
FROM hq.ticket_figures f JOIN hq.branch_targets bt ON bt.branch_id = f.branch_id AND bt.bday = f.bday
GROUP BY f.branch_id, f.bday, f.hour, bt.target_share;

CREATE VIEW hq.daily_green_vs_normal AS
SELECT f.branch_id, f.bday AS date, CASE WHEN green THEN 'green' ELSE 'normal' END AS "group",
	count(*) AS issued,
	count(*) FILTER (WHERE called) AS called,
	round(avg(wait_s)::numeric, 1) AS wait_avg_s,
	percentile_disc(0.9) WITHIN GROUP (ORDER BY wait_s) AS wait_p90_s,
	count(*) FILTER (WHERE overtime_called OR overtime_waiting) AS overtime,
	count(*) FILTER (WHERE called OR overtime_waiting) AS overtime_base,
	hq.share(count(*) FILTER (WHERE overtime_called OR overtime_waiting),
	    count(*) FILTER (WHERE called OR overtime_waiting)) AS overtime_share,
	bt.target_share,
	count(*) FILTER (WHERE overtime_called OR overtime_waiting) <=
	    bt.target_share * count(*) FILTER (WHERE called OR overtime_waiting) AS target_met
FROM hq.ticket_figures f JOIN hq.branch_targets bt ON bt.branch_id = f.branch_id AND bt.bday = f.bday
GROUP BY f.branch_id, f.bday, 3, bt.target_share;

-- The league table of a range of days: each branch's totals, worst share first.
CREATE FUNCTION hq.league(p_from date, p_to date)
RETURNS TABLE (branch_id text, name_zh text, name_en text, days bigint, issued bigint,
	called bigint, served bigint, no_show bigint, cancelled bigint, waiting_at_close bigint,
	overtime bigint, overtime_base bigint, overtime_share double precision,
	target_share double precision, target_met boolean)
LANGUAGE sql STABLE AS $$
	SELECT d.branch_id, b.name_zh, b.name_en, count(*), sum(d.issued)::bigint,
	    sum(d.called)::bigint, sum(d.served)::bigint, sum(d.no_show)::bigint,
	    sum(d.cancelled)::bigint, sum(d.waiting_at_close)::bigint, sum(d.overtime)::bigint,
	    sum(d.overtime_base)::bigint, hq.share(sum(d.overtime)::bigint, sum(d.overtime_base)::bigint),
	    min(d.target_share),
	    sum(d.overtime) <= min(d.target_share) * sum(d.overtime_base)
	FROM hq.daily d JOIN hq.branches b USING (branch_id)
	WHERE d.date BETWEEN p_from AND p_to
	GROUP BY d.branch_id, b.name_zh, b.name_en
	ORDER BY hq.share(sum(d.overtime)::bigint, sum(d.overtime_base)::bigint) DESC NULLS LAST,
	    d.branch_id
$$;

GRANT SELECT ON hq.daily, hq.daily_by_service, hq.daily_by_hour, hq.daily_green_vs_normal,
	hq.branch_targets TO hq_analyst;
GRANT SELECT (branch_id, name_zh, name_en, timezone, day_reset, last_event_id, updated_at)
	ON hq.branches TO hq_analyst;
GRANT EXECUTE ON FUNCTION hq.league(date, date), hq.share(bigint, bigint) TO hq_analyst;
REVOKE EXECUTE ON FUNCTION hq.league(date, date) FROM PUBLIC;

COMMIT;
