/**
 * Versioned schema migrations for the PostgreSQL store. Everything lives in one
 * schema (default `baton`); the applied versions are rows of
 * `<schema>.schema_migrations`. Migrations run on open in one transaction under
 * an advisory lock, so processes starting together apply each step once.
 * Append new steps; never edit a released one.
 *
 * Times are `bigint` epoch milliseconds read from the server's clock
 * (`clock_timestamp()`), like the SQLite store's, so both map rows the same way.
 * JSON columns are `json`, not `jsonb`, so metadata and event details keep the
 * key order they were written with and print the same on both stores.
 *
 * Each claim operation is one PL/pgSQL function: one round trip, one transaction,
 * the row locked (`FOR UPDATE`) before the clock is read and before a fencing
 * token is drawn, so tokens grow in grant order per key.
 */

export interface PgMigration {
  readonly version: number;
  readonly description: string;
  /** SQL with `S` standing for the quoted schema name (replaced by {@link migrationSql}). */
  readonly sql: string;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: "claims, events, fencing-token sequence, claim functions",
    sql: `
CREATE SEQUENCE S.fencing_token;

CREATE TABLE S.claims (
  key         text COLLATE "C" PRIMARY KEY,
  agent       text COLLATE "C" NOT NULL,
  token       bigint NOT NULL,
  state       text NOT NULL CHECK (state IN ('active', 'completed', 'released', 'abandoned')),
  claimed_at  bigint NOT NULL,
  renewed_at  bigint,
  expires_at  bigint NOT NULL,
  ended_at    bigint,
  meta        json,
  result      text,
  commit_sha  text,
  reason      text
);
CREATE INDEX claims_state_expiry ON S.claims (state, expires_at);
CREATE INDEX claims_agent ON S.claims (agent, state);

CREATE TABLE S.events (
  id          bigserial PRIMARY KEY,
  at          bigint NOT NULL,
  kind        text NOT NULL,
  key         text COLLATE "C" NOT NULL,
  agent       text COLLATE "C" NOT NULL,
  token       bigint,
  commit_sha  text,
  detail      json
);
CREATE INDEX events_key ON S.events (key, id);
CREATE INDEX events_agent ON S.events (agent, id);
CREATE INDEX events_at ON S.events (at);

-- The server's clock in epoch milliseconds: the only clock decisions use.
CREATE FUNCTION S.now_ms() RETURNS bigint LANGUAGE sql VOLATILE
AS $$ SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;

-- Epoch milliseconds as an ISO-8601 UTC string, exactly as JavaScript's toISOString().
CREATE FUNCTION S.iso(ms bigint) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT to_char(to_timestamp(ms / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
          || '.' || lpad((ms % 1000)::text, 3, '0') || 'Z' $$;

-- Grant, renew or deny a claim, recording the decision. See ClaimInput.
CREATE FUNCTION S.claim(p_key text, p_agent text, p_ttl bigint, p_meta json, p_reopen boolean, p_done_window bigint)
RETURNS TABLE (outcome text, now_ms bigint, claim json, previous json)
LANGUAGE plpgsql AS $$
DECLARE
  r S.claims;
  g S.claims;
  t bigint;
  prev_state text;
BEGIN
  LOOP
    SELECT * INTO r FROM S.claims c WHERE c.key = p_key FOR UPDATE;
    EXIT WHEN FOUND;
    -- A key never claimed: no earlier grant exists, so no token can be lower than one
    -- before it. Losing the insert race means another grant exists: lock it and decide.
    t := S.now_ms();
    INSERT INTO S.claims AS c (key, agent, token, state, claimed_at, expires_at, meta)
      VALUES (p_key, p_agent, nextval('S.fencing_token'), 'active', t, t + p_ttl, p_meta)
      ON CONFLICT (key) DO NOTHING
      RETURNING * INTO g;
    IF FOUND THEN
      INSERT INTO S.events (at, kind, key, agent, token, detail)
        VALUES (t, 'granted', p_key, p_agent, g.token, json_build_object('ttlMs', p_ttl));
      RETURN QUERY SELECT 'granted'::text, t, row_to_json(g), NULL::json;
      RETURN;
    END IF;
  END LOOP;

  t := S.now_ms();
  IF r.state = 'active' AND r.expires_at > t THEN
    IF r.agent = p_agent THEN
      UPDATE S.claims c SET expires_at = t + p_ttl, renewed_at = t, meta = coalesce(p_meta, c.meta)
        WHERE c.key = p_key RETURNING * INTO g;
      INSERT INTO S.events (at, kind, key, agent, token, detail)
        VALUES (t, 'renewed', p_key, p_agent, r.token, json_build_object('ttlMs', p_ttl));
      RETURN QUERY SELECT 'renewed'::text, t, row_to_json(g), NULL::json;
      RETURN;
    END IF;
    INSERT INTO S.events (at, kind, key, agent, token, detail)
      VALUES (t, 'denied', p_key, p_agent, NULL, json_build_object(
        'code', 'CLAIM_HELD', 'holder', r.agent, 'holderToken', r.token, 'expiresAt', S.iso(r.expires_at)));
    RETURN QUERY SELECT 'denied'::text, t, row_to_json(r), NULL::json;
    RETURN;
  END IF;

  IF r.state = 'completed' AND NOT p_reopen AND r.ended_at IS NOT NULL AND r.ended_at > t - p_done_window THEN
    INSERT INTO S.events (at, kind, key, agent, token, detail)
      VALUES (t, 'denied', p_key, p_agent, NULL, json_build_object(
        'code', 'CLAIM_DONE', 'holder', r.agent, 'holderToken', r.token, 'completedAt', S.iso(r.ended_at)));
    RETURN QUERY SELECT 'done'::text, t, row_to_json(r), NULL::json;
    RETURN;
  END IF;

  -- The row is locked: the token drawn here is greater than every earlier grant's.
  UPDATE S.claims c SET agent = p_agent, token = nextval('S.fencing_token'), state = 'active',
      claimed_at = t, renewed_at = NULL, expires_at = t + p_ttl, ended_at = NULL, meta = p_meta,
      result = NULL, commit_sha = NULL, reason = NULL
    WHERE c.key = p_key RETURNING * INTO g;
  prev_state := CASE WHEN r.state = 'active' AND r.expires_at <= t THEN 'expired' ELSE r.state END;
  INSERT INTO S.events (at, kind, key, agent, token, detail)
    VALUES (t, 'granted', p_key, p_agent, g.token, CASE
      WHEN p_reopen AND prev_state = 'completed' THEN json_build_object('ttlMs', p_ttl,
        'previousAgent', r.agent, 'previousState', prev_state, 'previousToken', r.token, 'reopened', true)
      ELSE json_build_object('ttlMs', p_ttl,
        'previousAgent', r.agent, 'previousState', prev_state, 'previousToken', r.token)
      END);
  RETURN QUERY SELECT 'granted'::text, t, row_to_json(g), row_to_json(r);
END $$;

-- Renew, complete, release or abandon the caller's claim. p_kind is the event kind.
CREATE FUNCTION S.act(p_kind text, p_key text, p_agent text, p_ttl bigint,
                      p_result text, p_commit text, p_reason text)
RETURNS TABLE (code text, now_ms bigint, claim json)
LANGUAGE plpgsql AS $$
DECLARE
  r S.claims;
  g S.claims;
  t bigint;
BEGIN
  SELECT * INTO r FROM S.claims c WHERE c.key = p_key FOR UPDATE;
  t := S.now_ms();
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'NOT_FOUND'::text, t, NULL::json;
    RETURN;
  END IF;
  IF r.agent <> p_agent OR r.state <> 'active' THEN
    RETURN QUERY SELECT 'NOT_HOLDER'::text, t, row_to_json(r);
    RETURN;
  END IF;
  -- Release and abandon accept an expired claim nobody took over; renew and complete do not.
  IF r.expires_at <= t AND p_kind IN ('renewed', 'completed') THEN
    RETURN QUERY SELECT 'CLAIM_EXPIRED'::text, t, row_to_json(r);
    RETURN;
  END IF;
  IF p_kind = 'renewed' THEN
    UPDATE S.claims c SET expires_at = t + p_ttl, renewed_at = t WHERE c.key = p_key RETURNING * INTO g;
    INSERT INTO S.events (at, kind, key, agent, token, detail)
      VALUES (t, 'renewed', p_key, p_agent, g.token, json_build_object('ttlMs', p_ttl));
  ELSIF p_kind = 'completed' THEN
    UPDATE S.claims c SET state = 'completed', ended_at = t, result = p_result, commit_sha = p_commit
      WHERE c.key = p_key RETURNING * INTO g;
    INSERT INTO S.events (at, kind, key, agent, token, commit_sha, detail)
      VALUES (t, 'completed', p_key, p_agent, g.token, p_commit,
              CASE WHEN coalesce(p_result, '') <> '' THEN json_build_object('result', p_result) END);
  ELSE
    UPDATE S.claims c SET state = p_kind, ended_at = t, commit_sha = p_commit, reason = p_reason
      WHERE c.key = p_key RETURNING * INTO g;
    INSERT INTO S.events (at, kind, key, agent, token, commit_sha, detail)
      VALUES (t, p_kind, p_key, p_agent, g.token, p_commit,
              CASE WHEN coalesce(p_reason, '') <> '' THEN json_build_object('reason', p_reason) END);
  END IF;
  RETURN QUERY SELECT NULL::text, t, row_to_json(g);
END $$;

-- Turn claims expired for at least p_min_age into abandoned loose ends, logging each.
CREATE FUNCTION S.reap(p_min_age bigint, p_by text)
RETURNS TABLE (now_ms bigint, claim json)
LANGUAGE plpgsql AS $$
DECLARE
  t bigint;
BEGIN
  PERFORM 1 FROM S.claims c WHERE c.state = 'active' AND c.expires_at <= S.now_ms() - p_min_age
    ORDER BY c.key FOR UPDATE;
  t := S.now_ms();
  RETURN QUERY
  WITH reaped AS (
    UPDATE S.claims c SET state = 'abandoned', ended_at = t, reason = 'reaped: expired without completion'
      WHERE c.state = 'active' AND c.expires_at <= t - p_min_age
      RETURNING c.*, c.expires_at AS old_expiry
  ), logged AS (
    INSERT INTO S.events (at, kind, key, agent, token, detail)
      SELECT t, 'reaped', x.key, x.agent, x.token, CASE
        WHEN p_by IS NULL THEN json_build_object('expiredAt', S.iso(x.old_expiry))
        ELSE json_build_object('by', p_by, 'expiredAt', S.iso(x.old_expiry)) END
      FROM (SELECT * FROM reaped ORDER BY expires_at, key) x
  )
  SELECT t, json_build_object('key', x.key, 'agent', x.agent, 'token', x.token, 'state', x.state,
      'claimed_at', x.claimed_at, 'renewed_at', x.renewed_at, 'expires_at', x.expires_at,
      'ended_at', x.ended_at, 'meta', x.meta, 'result', x.result, 'commit_sha', x.commit_sha, 'reason', x.reason)
    FROM reaped x ORDER BY x.expires_at, x.key;
END $$;
`,
  },
  {
    version: 2,
    description: "path claims",
    sql: `
CREATE TABLE S.path_claims (
  id          bigserial PRIMARY KEY,
  repo        text COLLATE "C" NOT NULL,
  pattern     text COLLATE "C" NOT NULL,
  agent       text COLLATE "C" NOT NULL,
  mode        text NOT NULL CHECK (mode IN ('exclusive', 'shared')),
  token       bigint NOT NULL,
  state       text NOT NULL CHECK (state IN ('active', 'completed', 'released', 'abandoned')),
  claimed_at  bigint NOT NULL,
  renewed_at  bigint,
  expires_at  bigint NOT NULL,
  ended_at    bigint,
  reason      text,
  commit_sha  text,
  work_key    text COLLATE "C"
);
CREATE INDEX path_claims_live ON S.path_claims (repo, state, expires_at);
CREATE INDEX path_claims_agent ON S.path_claims (agent, state);
`,
  },
  {
    version: 3,
    description: "tasks and category outcome statistics",
    sql: `
CREATE TABLE S.tasks (
  id          text COLLATE "C" PRIMARY KEY,
  title       text NOT NULL,
  category    text COLLATE "C" NOT NULL,
  priority    integer NOT NULL,
  state       text NOT NULL CHECK (state IN ('open', 'done')),
  blocked_by  json NOT NULL DEFAULT '[]',
  paths       json NOT NULL DEFAULT '[]',
  assignee    text,
  meta        json,
  source      text,
  created_at  bigint NOT NULL,
  updated_at  bigint NOT NULL,
  done_at     bigint
);
CREATE INDEX tasks_open ON S.tasks (state, category, priority DESC, created_at);
CREATE TABLE S.category_stats (
  category    text COLLATE "C" PRIMARY KEY,
  successes   double precision NOT NULL,
  failures    double precision NOT NULL,
  updated_at  bigint NOT NULL
);
`,
  },
  {
    version: 4,
    description:
      "one work lifecycle: completing task:ID marks it done, ending a work claim ends its path claims, renew keeps the lease, resolve",
    sql: `
-- End the holder's active path claims granted with the work claim p_work (inside its transaction).
CREATE FUNCTION S.end_linked_paths(p_now bigint, p_work text, p_holder text, p_state text, p_commit text)
RETURNS void LANGUAGE sql AS $$
  WITH ended AS (
    UPDATE S.path_claims pc SET state = p_state, ended_at = p_now, commit_sha = coalesce(p_commit, pc.commit_sha)
      WHERE pc.agent = p_holder AND pc.work_key = p_work AND pc.state = 'active'
      RETURNING pc.*
  )
  INSERT INTO S.events (at, kind, key, agent, token, commit_sha, detail)
    SELECT p_now, p_state, 'path:' || e.pattern, p_holder, e.token, p_commit,
           json_build_object('repo', e.repo, 'workKey', p_work)
    FROM ended e ORDER BY e.id
$$;

DROP FUNCTION S.claim(text, text, bigint, json, boolean, bigint);
-- Grant, renew or deny a claim, recording the decision. See ClaimInput; p_keep_ttl keeps the
-- lease length on a renewal.
CREATE FUNCTION S.claim(p_key text, p_agent text, p_ttl bigint, p_meta json, p_reopen boolean, p_done_window bigint,
                        p_keep_ttl boolean)
RETURNS TABLE (outcome text, now_ms bigint, claim json, previous json)
LANGUAGE plpgsql AS $$
DECLARE
  r S.claims;
  g S.claims;
  t bigint;
  ttl bigint;
  prev_state text;
BEGIN
  LOOP
    SELECT * INTO r FROM S.claims c WHERE c.key = p_key FOR UPDATE;
    EXIT WHEN FOUND;
    -- A key never claimed: no earlier grant exists, so no token can be lower than one
    -- before it. Losing the insert race means another grant exists: lock it and decide.
    t := S.now_ms();
    INSERT INTO S.claims AS c (key, agent, token, state, claimed_at, expires_at, meta)
      VALUES (p_key, p_agent, nextval('S.fencing_token'), 'active', t, t + p_ttl, p_meta)
      ON CONFLICT (key) DO NOTHING
      RETURNING * INTO g;
    IF FOUND THEN
      INSERT INTO S.events (at, kind, key, agent, token, detail)
        VALUES (t, 'granted', p_key, p_agent, g.token, json_build_object('ttlMs', p_ttl));
      RETURN QUERY SELECT 'granted'::text, t, row_to_json(g), NULL::json;
      RETURN;
    END IF;
  END LOOP;

  t := S.now_ms();
  IF r.state = 'active' AND r.expires_at > t THEN
    IF r.agent = p_agent THEN
      ttl := CASE WHEN p_keep_ttl THEN r.expires_at - coalesce(r.renewed_at, r.claimed_at) ELSE p_ttl END;
      UPDATE S.claims c SET expires_at = t + ttl, renewed_at = t, meta = coalesce(p_meta, c.meta)
        WHERE c.key = p_key RETURNING * INTO g;
      INSERT INTO S.events (at, kind, key, agent, token, detail)
        VALUES (t, 'renewed', p_key, p_agent, r.token, json_build_object('ttlMs', ttl));
      RETURN QUERY SELECT 'renewed'::text, t, row_to_json(g), NULL::json;
      RETURN;
    END IF;
    INSERT INTO S.events (at, kind, key, agent, token, detail)
      VALUES (t, 'denied', p_key, p_agent, NULL, json_build_object(
        'code', 'CLAIM_HELD', 'holder', r.agent, 'holderToken', r.token, 'expiresAt', S.iso(r.expires_at)));
    RETURN QUERY SELECT 'denied'::text, t, row_to_json(r), NULL::json;
    RETURN;
  END IF;

  IF r.state = 'completed' AND NOT p_reopen AND r.ended_at IS NOT NULL AND r.ended_at > t - p_done_window THEN
    INSERT INTO S.events (at, kind, key, agent, token, detail)
      VALUES (t, 'denied', p_key, p_agent, NULL, json_build_object(
        'code', 'CLAIM_DONE', 'holder', r.agent, 'holderToken', r.token, 'completedAt', S.iso(r.ended_at)));
    RETURN QUERY SELECT 'done'::text, t, row_to_json(r), NULL::json;
    RETURN;
  END IF;

  -- The row is locked: the token drawn here is greater than every earlier grant's.
  UPDATE S.claims c SET agent = p_agent, token = nextval('S.fencing_token'), state = 'active',
      claimed_at = t, renewed_at = NULL, expires_at = t + p_ttl, ended_at = NULL, meta = p_meta,
      result = NULL, commit_sha = NULL, reason = NULL
    WHERE c.key = p_key RETURNING * INTO g;
  prev_state := CASE WHEN r.state = 'active' AND r.expires_at <= t THEN 'expired' ELSE r.state END;
  INSERT INTO S.events (at, kind, key, agent, token, detail)
    VALUES (t, 'granted', p_key, p_agent, g.token, CASE
      WHEN p_reopen AND prev_state = 'completed' THEN json_build_object('ttlMs', p_ttl,
        'previousAgent', r.agent, 'previousState', prev_state, 'previousToken', r.token, 'reopened', true)
      ELSE json_build_object('ttlMs', p_ttl,
        'previousAgent', r.agent, 'previousState', prev_state, 'previousToken', r.token)
      END);
  RETURN QUERY SELECT 'granted'::text, t, row_to_json(g), row_to_json(r);
END $$;

-- Renew, complete, release or abandon the caller's claim. p_kind is the event kind. A NULL
-- p_ttl on renew keeps the lease length. Ending a work claim ends the path claims granted
-- with it; completing task:ID marks the task done.
CREATE OR REPLACE FUNCTION S.act(p_kind text, p_key text, p_agent text, p_ttl bigint,
                      p_result text, p_commit text, p_reason text)
RETURNS TABLE (code text, now_ms bigint, claim json)
LANGUAGE plpgsql AS $$
DECLARE
  r S.claims;
  g S.claims;
  t bigint;
  ttl bigint;
BEGIN
  -- A task before its claim, the order next and task done lock them in: no deadlock between them.
  IF p_kind = 'completed' AND starts_with(p_key, 'task:') THEN
    PERFORM 1 FROM S.tasks tk WHERE tk.id = substr(p_key, 6) FOR UPDATE;
  END IF;
  SELECT * INTO r FROM S.claims c WHERE c.key = p_key FOR UPDATE;
  t := S.now_ms();
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'NOT_FOUND'::text, t, NULL::json;
    RETURN;
  END IF;
  IF r.agent <> p_agent OR r.state <> 'active' THEN
    RETURN QUERY SELECT 'NOT_HOLDER'::text, t, row_to_json(r);
    RETURN;
  END IF;
  -- Release and abandon accept an expired claim nobody took over; renew and complete do not.
  IF r.expires_at <= t AND p_kind IN ('renewed', 'completed') THEN
    RETURN QUERY SELECT 'CLAIM_EXPIRED'::text, t, row_to_json(r);
    RETURN;
  END IF;
  IF p_kind = 'renewed' THEN
    ttl := coalesce(p_ttl, r.expires_at - coalesce(r.renewed_at, r.claimed_at));
    UPDATE S.claims c SET expires_at = t + ttl, renewed_at = t WHERE c.key = p_key RETURNING * INTO g;
    INSERT INTO S.events (at, kind, key, agent, token, detail)
      VALUES (t, 'renewed', p_key, p_agent, g.token, json_build_object('ttlMs', ttl));
  ELSIF p_kind = 'completed' THEN
    UPDATE S.claims c SET state = 'completed', ended_at = t, result = p_result, commit_sha = p_commit
      WHERE c.key = p_key RETURNING * INTO g;
    INSERT INTO S.events (at, kind, key, agent, token, commit_sha, detail)
      VALUES (t, 'completed', p_key, p_agent, g.token, p_commit,
              CASE WHEN coalesce(p_result, '') <> '' THEN json_build_object('result', p_result) END);
    IF starts_with(p_key, 'task:') THEN
      UPDATE S.tasks tk SET state = 'done', done_at = t, updated_at = t
        WHERE tk.id = substr(p_key, 6) AND tk.state = 'open';
    END IF;
    PERFORM S.end_linked_paths(t, p_key, p_agent, 'released', p_commit);
  ELSE
    UPDATE S.claims c SET state = p_kind, ended_at = t, commit_sha = p_commit, reason = p_reason
      WHERE c.key = p_key RETURNING * INTO g;
    INSERT INTO S.events (at, kind, key, agent, token, commit_sha, detail)
      VALUES (t, p_kind, p_key, p_agent, g.token, p_commit,
              CASE WHEN coalesce(p_reason, '') <> '' THEN json_build_object('reason', p_reason) END);
    PERFORM S.end_linked_paths(t, p_key, p_agent, p_kind, p_commit);
  END IF;
  RETURN QUERY SELECT NULL::text, t, row_to_json(g);
END $$;

-- Turn claims expired for at least p_min_age into abandoned loose ends, logging each and
-- abandoning the path claims granted with them.
CREATE OR REPLACE FUNCTION S.reap(p_min_age bigint, p_by text)
RETURNS TABLE (now_ms bigint, claim json)
LANGUAGE plpgsql AS $$
DECLARE
  t bigint;
  k text;
  keys text[];
  x S.claims;
BEGIN
  PERFORM 1 FROM S.claims c WHERE c.state = 'active' AND c.expires_at <= S.now_ms() - p_min_age
    ORDER BY c.key FOR UPDATE;
  t := S.now_ms();
  WITH reaped AS (
    UPDATE S.claims c SET state = 'abandoned', ended_at = t, reason = 'reaped: expired without completion'
      WHERE c.state = 'active' AND c.expires_at <= t - p_min_age
      RETURNING c.key, c.expires_at
  )
  SELECT coalesce(array_agg(reaped.key ORDER BY reaped.expires_at, reaped.key), '{}') INTO keys FROM reaped;
  FOREACH k IN ARRAY keys LOOP
    SELECT * INTO x FROM S.claims c WHERE c.key = k;
    INSERT INTO S.events (at, kind, key, agent, token, detail)
      VALUES (t, 'reaped', x.key, x.agent, x.token, CASE
        WHEN p_by IS NULL THEN json_build_object('expiredAt', S.iso(x.expires_at))
        ELSE json_build_object('by', p_by, 'expiredAt', S.iso(x.expires_at)) END);
    PERFORM S.end_linked_paths(t, x.key, x.agent, 'abandoned', NULL);
    RETURN QUERY SELECT t, json_build_object('key', x.key, 'agent', x.agent, 'token', x.token, 'state', x.state,
      'claimed_at', x.claimed_at, 'renewed_at', x.renewed_at, 'expires_at', x.expires_at,
      'ended_at', x.ended_at, 'meta', x.meta, 'result', x.result, 'commit_sha', x.commit_sha, 'reason', x.reason);
  END LOOP;
END $$;

-- Close a loose end (abandoned, or expired and not taken over): released, with a resolved event.
CREATE FUNCTION S.resolve(p_key text, p_agent text, p_note text)
RETURNS TABLE (code text, now_ms bigint, claim json, previous_state text)
LANGUAGE plpgsql AS $$
DECLARE
  r S.claims;
  g S.claims;
  t bigint;
  prev text;
BEGIN
  SELECT * INTO r FROM S.claims c WHERE c.key = p_key FOR UPDATE;
  t := S.now_ms();
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'NOT_FOUND'::text, t, NULL::json, NULL::text;
    RETURN;
  END IF;
  prev := CASE WHEN r.state = 'active' AND r.expires_at <= t THEN 'expired' ELSE r.state END;
  IF prev NOT IN ('abandoned', 'expired') THEN
    RETURN QUERY SELECT 'NOT_LOOSE_END'::text, t, row_to_json(r), NULL::text;
    RETURN;
  END IF;
  UPDATE S.claims c SET state = 'released', ended_at = coalesce(c.ended_at, t),
      reason = CASE WHEN p_note IS NULL THEN 'resolved' ELSE 'resolved: ' || p_note END
    WHERE c.key = p_key RETURNING * INTO g;
  INSERT INTO S.events (at, kind, key, agent, token, detail)
    VALUES (t, 'resolved', p_key, p_agent, r.token, CASE
      WHEN p_note IS NULL THEN json_build_object('previousState', prev, 'holder', r.agent)
      ELSE json_build_object('previousState', prev, 'holder', r.agent, 'note', p_note) END);
  PERFORM S.end_linked_paths(t, p_key, r.agent, 'released', NULL);
  RETURN QUERY SELECT NULL::text, t, row_to_json(g), prev;
END $$;
`,
  },
  {
    version: 7,
    description: "fewer index writes: one partial index of live claims; an index only selected events enter",
    // The two claim indexes, (state, expires_at) and (agent, state), took a new entry on every
    // grant, completion, release and reap (a changed state is never a HOT update). One partial
    // index of live claims takes an entry on a grant and none when a claim ends, so ending a
    // claim writes the new row version and its primary-key entry only. Live listings, agent
    // ones included, read the live claims; listings of ended claims read the table, which is
    // mostly ended claims. Reaping 100,000 claims: bench/reap.mjs.
    // events_selected answers next's "recent selections" (kind = 'selected' newest first),
    // which otherwise walked the log backwards by id; no other event enters it.
    sql: `
DROP INDEX S.claims_state_expiry;
DROP INDEX S.claims_agent;
CREATE INDEX claims_live ON S.claims (expires_at) WHERE state = 'active';
CREATE INDEX events_selected ON S.events (id) WHERE kind = 'selected';
`,
  },
  {
    version: 8,
    description: "server tokens (digests only)",
    sql: `
CREATE TABLE S.tokens (
  id          bigserial PRIMARY KEY,
  agent       text COLLATE "C" NOT NULL,
  role        text NOT NULL CHECK (role IN ('agent', 'admin', 'read-only')),
  hash        text COLLATE "C" NOT NULL UNIQUE,
  created_at  bigint NOT NULL,
  revoked_at  bigint
);
`,
  },
  {
    version: 9,
    description: "handoff: pass a live claim to another agent with a new token",
    sql: `
CREATE FUNCTION S.handoff(p_key text, p_agent text, p_to text, p_note text)
RETURNS TABLE (code text, now_ms bigint, claim json)
LANGUAGE plpgsql AS $$
DECLARE
  r S.claims;
  g S.claims;
  t bigint;
  tok bigint;
  moved integer;
BEGIN
  SELECT * INTO r FROM S.claims c WHERE c.key = p_key FOR UPDATE;
  t := S.now_ms();
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'NOT_FOUND'::text, t, NULL::json;
    RETURN;
  END IF;
  IF r.agent <> p_agent OR r.state <> 'active' THEN
    RETURN QUERY SELECT 'NOT_HOLDER'::text, t, row_to_json(r);
    RETURN;
  END IF;
  IF r.expires_at <= t THEN
    RETURN QUERY SELECT 'CLAIM_EXPIRED'::text, t, row_to_json(r);
    RETURN;
  END IF;
  tok := nextval('S.fencing_token');
  UPDATE S.claims c SET agent = p_to, token = tok, claimed_at = t, renewed_at = NULL,
      expires_at = t + (r.expires_at - coalesce(r.renewed_at, r.claimed_at))
    WHERE c.key = p_key RETURNING * INTO g;
  UPDATE S.path_claims pc SET agent = p_to, token = tok, expires_at = g.expires_at
    WHERE pc.agent = p_agent AND pc.work_key = p_key AND pc.state = 'active';
  GET DIAGNOSTICS moved = ROW_COUNT;
  INSERT INTO S.events (at, kind, key, agent, token, detail)
    VALUES (t, 'handed_off', p_key, p_agent, tok, (
      SELECT json_object_agg(k, v) FROM (
        SELECT 'to' AS k, to_json(p_to) AS v
        UNION ALL SELECT 'previousToken', to_json(r.token)
        UNION ALL SELECT 'paths', to_json(moved) WHERE moved > 0
        UNION ALL SELECT 'note', to_json(p_note) WHERE p_note IS NOT NULL) d));
  RETURN QUERY SELECT NULL::text, t, row_to_json(g);
END $$;
`,
  },
  {
    version: 10,
    description:
      "renew and end a claim with the guarded update first; reap in one statement set; an index of live path claims granted with a work claim",
    // reap was a loop per claim (read the row, insert its event, end its path claims, build
    // its JSON): 12 s for 100,000 claims. Now one UPDATE ... RETURNING feeds the events'
    // INSERT ... SELECT and one JSON array (one row back, one JSON.parse), then one statement
    // ends the linked path claims. No row is locked beforehand: under READ COMMITTED the
    // UPDATE locks each row it changes and re-checks the WHERE clause on a row changed by a
    // transaction it waited for, so a claim renewed or granted again meanwhile is skipped,
    // and only what the UPDATE changed is logged and returned; the rows are sorted once, and
    // the CTE scans of that sorted set read it in that order (events, JSON array, keys alike).
    // bench/reap.mjs.
    sql: `
CREATE INDEX path_claims_work ON S.path_claims (work_key, agent) WHERE state = 'active' AND work_key IS NOT NULL;

-- Renew, complete, release or abandon: the guarded UPDATE first (one statement when the caller
-- holds the claim, no row lock taken beforehand). The UPDATE locks the row; had it waited for
-- another writer of the row, it re-checks its guard on the row as that writer left it. Its
-- time is never earlier than the row's last grant or renewal (a renewal it waited for may
-- have read a later clock), so each key's log stays in time order. Only when the guard fails
-- is the row read, to say why. The linked path claims are ended only when there are some
-- (a look in the small index of live linked path claims, not a statement per ending).
CREATE OR REPLACE FUNCTION S.act(p_kind text, p_key text, p_agent text, p_ttl bigint,
                      p_result text, p_commit text, p_reason text)
RETURNS TABLE (code text, now_ms bigint, claim json)
LANGUAGE plpgsql AS $$
DECLARE
  r S.claims;
  g S.claims;
  t bigint;
  te bigint;
BEGIN
  -- A task before its claim, the order next and task done lock them in: no deadlock between them.
  IF p_kind = 'completed' AND starts_with(p_key, 'task:') THEN
    PERFORM 1 FROM S.tasks tk WHERE tk.id = substr(p_key, 6) FOR UPDATE;
  END IF;
  LOOP
    t := S.now_ms();
    IF p_kind = 'renewed' THEN
      UPDATE S.claims c SET renewed_at = greatest(t, coalesce(c.renewed_at, c.claimed_at)),
          expires_at = greatest(t, coalesce(c.renewed_at, c.claimed_at))
                       + coalesce(p_ttl, c.expires_at - coalesce(c.renewed_at, c.claimed_at))
        WHERE c.key = p_key AND c.agent = p_agent AND c.state = 'active' AND c.expires_at > t
        RETURNING * INTO g;
    ELSIF p_kind = 'completed' THEN
      UPDATE S.claims c SET state = 'completed', ended_at = greatest(t, coalesce(c.renewed_at, c.claimed_at)),
          result = p_result, commit_sha = p_commit
        WHERE c.key = p_key AND c.agent = p_agent AND c.state = 'active' AND c.expires_at > t
        RETURNING * INTO g;
    ELSE
      -- Release and abandon accept an expired claim nobody took over.
      UPDATE S.claims c SET state = p_kind, ended_at = greatest(t, coalesce(c.renewed_at, c.claimed_at)),
          commit_sha = p_commit, reason = p_reason
        WHERE c.key = p_key AND c.agent = p_agent AND c.state = 'active'
        RETURNING * INTO g;
    END IF;
    EXIT WHEN FOUND;
    SELECT * INTO r FROM S.claims c WHERE c.key = p_key FOR UPDATE;
    IF NOT FOUND THEN
      RETURN QUERY SELECT 'NOT_FOUND'::text, t, NULL::json;
      RETURN;
    END IF;
    IF r.agent <> p_agent OR r.state <> 'active' THEN
      RETURN QUERY SELECT 'NOT_HOLDER'::text, t, row_to_json(r);
      RETURN;
    END IF;
    IF r.expires_at <= t AND p_kind IN ('renewed', 'completed') THEN
      RETURN QUERY SELECT 'CLAIM_EXPIRED'::text, t, row_to_json(r);
      RETURN;
    END IF;
    -- The caller holds it after all (changed between the two statements): try again.
  END LOOP;
  IF p_kind = 'renewed' THEN
    te := g.renewed_at;
    INSERT INTO S.events (at, kind, key, agent, token, detail)
      VALUES (te, 'renewed', p_key, p_agent, g.token, json_build_object('ttlMs', g.expires_at - te));
  ELSIF p_kind = 'completed' THEN
    te := g.ended_at;
    INSERT INTO S.events (at, kind, key, agent, token, commit_sha, detail)
      VALUES (te, 'completed', p_key, p_agent, g.token, p_commit,
              CASE WHEN coalesce(p_result, '') <> '' THEN json_build_object('result', p_result) END);
    IF starts_with(p_key, 'task:') THEN
      UPDATE S.tasks tk SET state = 'done', done_at = te, updated_at = te
        WHERE tk.id = substr(p_key, 6) AND tk.state = 'open';
    END IF;
    IF EXISTS (SELECT 1 FROM S.path_claims pc WHERE pc.work_key = p_key AND pc.agent = p_agent AND pc.state = 'active') THEN
      PERFORM S.end_linked_paths(te, p_key, p_agent, 'released', p_commit);
    END IF;
  ELSE
    te := g.ended_at;
    INSERT INTO S.events (at, kind, key, agent, token, commit_sha, detail)
      VALUES (te, p_kind, p_key, p_agent, g.token, p_commit,
              CASE WHEN coalesce(p_reason, '') <> '' THEN json_build_object('reason', p_reason) END);
    IF EXISTS (SELECT 1 FROM S.path_claims pc WHERE pc.work_key = p_key AND pc.agent = p_agent AND pc.state = 'active') THEN
      PERFORM S.end_linked_paths(te, p_key, p_agent, p_kind, p_commit);
    END IF;
  END IF;
  RETURN QUERY SELECT NULL::text, te, row_to_json(g);
END $$;

DROP FUNCTION S.reap(bigint, text);
CREATE FUNCTION S.reap(p_min_age bigint, p_by text)
RETURNS TABLE (now_ms bigint, claims json)
LANGUAGE plpgsql
-- The rows are sorted once, in memory (4 MB spilled 100,000 of them to disk).
SET work_mem = '128MB'
AS $$
DECLARE
  t bigint := S.now_ms();
  out json;
  keys text[];
  agents text[];
BEGIN
  WITH reaped AS (
    UPDATE S.claims c SET state = 'abandoned', ended_at = t, reason = 'reaped: expired without completion'
      WHERE c.state = 'active' AND c.expires_at <= t - p_min_age
      RETURNING c.*
  ), sorted AS MATERIALIZED (
    SELECT * FROM reaped x ORDER BY x.expires_at, x.key
  ), logged AS (
    INSERT INTO S.events (at, kind, key, agent, token, detail)
      SELECT t, 'reaped', x.key, x.agent, x.token, CASE
        WHEN p_by IS NULL THEN json_build_object('expiredAt', S.iso(x.expires_at))
        ELSE json_build_object('by', p_by, 'expiredAt', S.iso(x.expires_at)) END
      FROM sorted x
  )
  SELECT json_agg(x), array_agg(x.key), array_agg(x.agent) INTO out, keys, agents FROM sorted x;
  IF keys IS NOT NULL THEN
    -- After the claims' events, in reap order then by id, as the ending of each claim logged them.
    WITH w AS (SELECT * FROM unnest(keys, agents) WITH ORDINALITY AS w(key, agent, n)),
    ended AS (
      UPDATE S.path_claims pc SET state = 'abandoned', ended_at = t
        FROM w WHERE pc.work_key = w.key AND pc.agent = w.agent AND pc.state = 'active' AND pc.work_key IS NOT NULL
        RETURNING pc.id, pc.repo, pc.pattern, pc.agent, pc.token, pc.work_key, w.n
    )
    INSERT INTO S.events (at, kind, key, agent, token, commit_sha, detail)
      SELECT t, 'abandoned', 'path:' || e.pattern, e.agent, e.token, NULL, json_build_object('repo', e.repo, 'workKey', e.work_key)
      FROM ended e ORDER BY e.n, e.id;
  END IF;
  RETURN QUERY SELECT t, coalesce(out, '[]'::json);
END $$;
`,
  },
  {
    version: 11,
    description:
      "live events: inserts into events NOTIFY baton_events; a follower's cursor never passes an uncommitted event",
    // NOTIFY: one per inserting statement, not per row, with the same payload for every
    // statement of a transaction: PostgreSQL folds identical notifications of one
    // transaction into one, delivered at its commit to every session that LISTENs,
    // whichever process or server wrote. The payload names the schema, so watchers of
    // other schemas on the same database ignore it; the events are read with the cursor.
    //
    // The cursor: ids are drawn when a row is inserted, but become visible when their
    // transaction commits, and transactions commit in any order: a follower that read id
    // 11 while id 10 was still in flight would page past 10 for ever. So each transaction
    // that inserts events holds a shared advisory lock on the table (taken before its first
    // id is drawn) until it ends, and events_horizon(after) answers how far a follower
    // may read: when it can take that lock exclusively, the sequence's last value (nobody
    // holds an id uncommitted: every id drawn is committed or gone; the lock is held for
    // that one statement only, and the caller reads in its next statement, with a snapshot
    // that sees them all), else the last id of the unbroken run after the cursor.
    // A gap before an event older than a minute is a rolled-back id (or a sequence jump
    // after a crash), not a writer in flight (statements time out after 30 s): skipped.
    sql: `
CREATE FUNCTION S.events_lock() RETURNS bigint LANGUAGE sql STABLE
  AS $$ SELECT (hashtext('baton:events')::bigint << 32) | 'S.events'::regclass::oid::bigint $$;

CREATE FUNCTION S.events_in_flight() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(S.events_lock());
  RETURN NULL;
END $$;
CREATE TRIGGER events_in_flight BEFORE INSERT ON S.events FOR EACH STATEMENT EXECUTE FUNCTION S.events_in_flight();

CREATE FUNCTION S.notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('baton_events', TG_TABLE_SCHEMA);
  RETURN NULL;
END $$;
CREATE TRIGGER events_notify AFTER INSERT ON S.events FOR EACH STATEMENT EXECUTE FUNCTION S.notify_events();

CREATE FUNCTION S.events_horizon(p_after bigint) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  r record;
  cur bigint := p_after;
  settled bigint;
BEGIN
  IF pg_try_advisory_xact_lock(S.events_lock()) THEN
    -- Nobody holds an id uncommitted, and nobody draws one until this statement ends.
    RETURN coalesce(pg_sequence_last_value('S.events_id_seq'::regclass), 0);
  END IF;
  settled := S.now_ms() - 60000;
  FOR r IN SELECT e.id, e.at FROM S.events e WHERE e.id > p_after ORDER BY e.id LIMIT 1000 LOOP
    EXIT WHEN r.id <> cur + 1 AND r.at > settled;
    cur := r.id;
  END LOOP;
  RETURN cur;
END $$;
`,
  },
  {
    version: 12,
    description:
      "claim and act in fewer statements (each write and its event one statement, no result set); the events table's own lock marks a writer in flight",
    // Where a claim+complete pair spent its server time beyond the lean client's two
    // statements: four or five SPI statements per function (the row write, the event insert,
    // RETURN QUERY's result set, the linked-path look), two trigger calls per event insert
    // (the in-flight advisory lock and the NOTIFY), and the guarded UPDATE of act planned
    // on the partial index of live claims (expires_at > t), which reads every live claim
    // that expires later instead of the one row (bench/throughput.mjs).
    //
    // Now each write and its event are one statement (a data-modifying CTE), the functions
    // return OUT parameters (no tuplestore), and the guard's time test cannot use an index.
    //
    // In flight: every statement that inserts into events holds the table's ROW EXCLUSIVE
    // lock from before it draws its first id until its transaction ends (PostgreSQL takes it
    // when the statement starts). So events_horizon(after) tries LOCK TABLE events IN SHARE
    // MODE NOWAIT (it conflicts with ROW EXCLUSIVE): granted means no writer holds an id
    // uncommitted, and none can draw one until this statement ends, exactly what the shared
    // advisory lock of migration 11 said, without a trigger call per insert.
    // test/contract/watch.contract.test.ts ("a cursor never passes an event whose
    // transaction is still open") holds an insert open from another connection.
    sql: `
DROP TRIGGER events_in_flight ON S.events;
DROP FUNCTION S.events_in_flight();
DROP FUNCTION S.events_lock();

CREATE OR REPLACE FUNCTION S.events_horizon(p_after bigint) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  r record;
  cur bigint := p_after;
  settled bigint;
BEGIN
  BEGIN
    LOCK TABLE S.events IN SHARE MODE NOWAIT;
    -- Nobody holds an id uncommitted, and nobody draws one until this statement ends.
    RETURN coalesce(pg_sequence_last_value('S.events_id_seq'::regclass), 0);
  EXCEPTION WHEN lock_not_available OR insufficient_privilege OR read_only_sql_transaction THEN
    -- A writer in flight; or a role without UPDATE on events, or a standby, that may not take
    -- this lock: the unbroken run below is the safe bound either way.
    NULL;
  END;
  settled := S.now_ms() - 60000;
  FOR r IN SELECT e.id, e.at FROM S.events e WHERE e.id > p_after ORDER BY e.id LIMIT 1000 LOOP
    EXIT WHEN r.id <> cur + 1 AND r.at > settled;
    cur := r.id;
  END LOOP;
  RETURN cur;
END $$;

DROP FUNCTION S.claim(text, text, bigint, json, boolean, bigint, boolean);
-- Grant, renew or deny a claim, recording the decision (see ClaimInput): the row locked
-- before the clock is read and before a token is drawn, as in migration 4.
CREATE FUNCTION S.claim(p_key text, p_agent text, p_ttl bigint, p_meta json, p_reopen boolean, p_done_window bigint,
                        p_keep_ttl boolean, OUT outcome text, OUT now_ms bigint, OUT claim json, OUT previous json)
LANGUAGE plpgsql AS $$
DECLARE
  r S.claims;
  t bigint;
  ttl bigint;
  prev_state text;
BEGIN
  LOOP
    SELECT * INTO r FROM S.claims c WHERE c.key = p_key FOR UPDATE;
    EXIT WHEN FOUND;
    -- A key never claimed: no earlier grant exists, so no token can be lower than one
    -- before it. Losing the insert race means another grant exists: lock it and decide.
    t := S.now_ms();
    WITH g AS (
      INSERT INTO S.claims AS c (key, agent, token, state, claimed_at, expires_at, meta)
        VALUES (p_key, p_agent, nextval('S.fencing_token'), 'active', t, t + p_ttl, p_meta)
        ON CONFLICT (key) DO NOTHING
        RETURNING *
    ), e AS (
      INSERT INTO S.events (at, kind, key, agent, token, detail)
        SELECT t, 'granted', p_key, p_agent, g.token, json_build_object('ttlMs', p_ttl) FROM g
    )
    SELECT row_to_json(g) INTO claim FROM g;
    IF FOUND THEN
      outcome := 'granted';
      now_ms := t;
      RETURN;
    END IF;
  END LOOP;

  t := S.now_ms();
  now_ms := t;
  IF r.state = 'active' AND r.expires_at > t THEN
    IF r.agent = p_agent THEN
      ttl := CASE WHEN p_keep_ttl THEN r.expires_at - coalesce(r.renewed_at, r.claimed_at) ELSE p_ttl END;
      WITH g AS (
        UPDATE S.claims c SET expires_at = t + ttl, renewed_at = t, meta = coalesce(p_meta, c.meta)
          WHERE c.key = p_key RETURNING *
      ), e AS (
        INSERT INTO S.events (at, kind, key, agent, token, detail)
          SELECT t, 'renewed', p_key, p_agent, g.token, json_build_object('ttlMs', ttl) FROM g
      )
      SELECT row_to_json(g) INTO claim FROM g;
      outcome := 'renewed';
      RETURN;
    END IF;
    INSERT INTO S.events (at, kind, key, agent, token, detail)
      VALUES (t, 'denied', p_key, p_agent, NULL, json_build_object(
        'code', 'CLAIM_HELD', 'holder', r.agent, 'holderToken', r.token, 'expiresAt', S.iso(r.expires_at)));
    outcome := 'denied';
    claim := row_to_json(r);
    RETURN;
  END IF;

  IF r.state = 'completed' AND NOT p_reopen AND r.ended_at IS NOT NULL AND r.ended_at > t - p_done_window THEN
    INSERT INTO S.events (at, kind, key, agent, token, detail)
      VALUES (t, 'denied', p_key, p_agent, NULL, json_build_object(
        'code', 'CLAIM_DONE', 'holder', r.agent, 'holderToken', r.token, 'completedAt', S.iso(r.ended_at)));
    outcome := 'done';
    claim := row_to_json(r);
    RETURN;
  END IF;

  -- The row is locked: the token drawn here is greater than every earlier grant's.
  prev_state := CASE WHEN r.state = 'active' AND r.expires_at <= t THEN 'expired' ELSE r.state END;
  WITH g AS (
    UPDATE S.claims c SET agent = p_agent, token = nextval('S.fencing_token'), state = 'active',
        claimed_at = t, renewed_at = NULL, expires_at = t + p_ttl, ended_at = NULL, meta = p_meta,
        result = NULL, commit_sha = NULL, reason = NULL
      WHERE c.key = p_key RETURNING *
  ), e AS (
    INSERT INTO S.events (at, kind, key, agent, token, detail)
      SELECT t, 'granted', p_key, p_agent, g.token, CASE
        WHEN p_reopen AND prev_state = 'completed' THEN json_build_object('ttlMs', p_ttl,
          'previousAgent', r.agent, 'previousState', prev_state, 'previousToken', r.token, 'reopened', true)
        ELSE json_build_object('ttlMs', p_ttl,
          'previousAgent', r.agent, 'previousState', prev_state, 'previousToken', r.token)
        END
      FROM g
  )
  SELECT row_to_json(g) INTO claim FROM g;
  outcome := 'granted';
  previous := row_to_json(r);
END $$;

DROP FUNCTION S.act(text, text, text, bigint, text, text, text);
-- Renew, complete, release or abandon the caller's claim (p_kind is the event kind): the
-- guarded UPDATE and its event first, in one statement (migration 10 explains the guard and
-- the time); only when the guard fails is the row read, to say why. A NULL p_ttl on renew
-- keeps the lease length. Ending a work claim ends the path claims granted with it (looked
-- up in a statement of its own: its snapshot sees path claims a writer of the row we
-- waited for committed); completing task:ID marks the task done.
CREATE FUNCTION S.act(p_kind text, p_key text, p_agent text, p_ttl bigint, p_result text, p_commit text, p_reason text,
                      OUT code text, OUT now_ms bigint, OUT claim json)
LANGUAGE plpgsql AS $$
DECLARE
  r S.claims;
  t bigint;
  te bigint;
BEGIN
  -- A task before its claim, the order next and task done lock them in: no deadlock between them.
  IF p_kind = 'completed' AND starts_with(p_key, 'task:') THEN
    PERFORM 1 FROM S.tasks tk WHERE tk.id = substr(p_key, 6) FOR UPDATE;
  END IF;
  LOOP
    t := S.now_ms();
    -- The row by its key, never through claims_live: "c.state || '' = 'active'" and
    -- "c.expires_at - t > 0" match no index, so the planner cannot pick a scan of the live
    -- claims (and the entries dead claims left there) to find one key; with statistics that
    -- think the partial index small, it did (0.1 ms at 1 live claim, 2 ms at 3,000).
    IF p_kind = 'renewed' THEN
      WITH g AS (
        UPDATE S.claims c SET renewed_at = greatest(t, coalesce(c.renewed_at, c.claimed_at)),
            expires_at = greatest(t, coalesce(c.renewed_at, c.claimed_at))
                         + coalesce(p_ttl, c.expires_at - coalesce(c.renewed_at, c.claimed_at))
          WHERE c.key = p_key AND c.agent = p_agent AND c.state || '' = 'active' AND c.expires_at - t > 0
          RETURNING *
      ), e AS (
        INSERT INTO S.events (at, kind, key, agent, token, detail)
          SELECT g.renewed_at, 'renewed', p_key, p_agent, g.token, json_build_object('ttlMs', g.expires_at - g.renewed_at)
          FROM g
      )
      SELECT row_to_json(g), g.renewed_at INTO claim, te FROM g;
    ELSIF p_kind = 'completed' THEN
      WITH g AS (
        UPDATE S.claims c SET state = 'completed', ended_at = greatest(t, coalesce(c.renewed_at, c.claimed_at)),
            result = p_result, commit_sha = p_commit
          WHERE c.key = p_key AND c.agent = p_agent AND c.state || '' = 'active' AND c.expires_at - t > 0
          RETURNING *
      ), e AS (
        INSERT INTO S.events (at, kind, key, agent, token, commit_sha, detail)
          SELECT g.ended_at, 'completed', p_key, p_agent, g.token, p_commit,
                 CASE WHEN coalesce(p_result, '') <> '' THEN json_build_object('result', p_result) END
          FROM g
      )
      SELECT row_to_json(g), g.ended_at INTO claim, te FROM g;
    ELSE
      -- Release and abandon accept an expired claim nobody took over.
      WITH g AS (
        UPDATE S.claims c SET state = p_kind, ended_at = greatest(t, coalesce(c.renewed_at, c.claimed_at)),
            commit_sha = p_commit, reason = p_reason
          WHERE c.key = p_key AND c.agent = p_agent AND c.state || '' = 'active'
          RETURNING *
      ), e AS (
        INSERT INTO S.events (at, kind, key, agent, token, commit_sha, detail)
          SELECT g.ended_at, p_kind, p_key, p_agent, g.token, p_commit,
                 CASE WHEN coalesce(p_reason, '') <> '' THEN json_build_object('reason', p_reason) END
          FROM g
      )
      SELECT row_to_json(g), g.ended_at INTO claim, te FROM g;
    END IF;
    EXIT WHEN FOUND;
    SELECT * INTO r FROM S.claims c WHERE c.key = p_key FOR UPDATE;
    now_ms := t;
    IF NOT FOUND THEN
      code := 'NOT_FOUND';
      RETURN;
    END IF;
    claim := row_to_json(r);
    IF r.agent <> p_agent OR r.state <> 'active' THEN
      code := 'NOT_HOLDER';
      RETURN;
    END IF;
    IF r.expires_at <= t AND p_kind IN ('renewed', 'completed') THEN
      code := 'CLAIM_EXPIRED';
      RETURN;
    END IF;
    -- The caller holds it after all (changed between the two statements): try again.
    claim := NULL;
  END LOOP;
  now_ms := te;
  IF p_kind = 'renewed' THEN
    RETURN;
  END IF;
  IF p_kind = 'completed' AND starts_with(p_key, 'task:') THEN
    UPDATE S.tasks tk SET state = 'done', done_at = te, updated_at = te
      WHERE tk.id = substr(p_key, 6) AND tk.state = 'open';
  END IF;
  IF EXISTS (SELECT 1 FROM S.path_claims pc WHERE pc.work_key = p_key AND pc.agent = p_agent AND pc.state = 'active') THEN
    PERFORM S.end_linked_paths(te, p_key, p_agent, CASE WHEN p_kind = 'completed' THEN 'released' ELSE p_kind END,
                               p_commit);
  END IF;
END $$;
`,
  },
  {
    version: 13,
    description:
      "reap with its ISO times computed in the statement and a compact answer; an index for listing completed claims",
    // reap (bench/reap.mjs, 100,000 claims; perf of the backend): a fifth of its time went
    // into calling S.iso once per event (a SQL function the planner cannot inline, so an
    // executor start per row), a tenth into the answer (json_agg of whole rows: 26 MB). The
    // time is now written in the statement, and each reaped claim comes back as an array of
    // the columns that differ between them (key, agent, token, claimed_at, expires_at, meta,
    // result, commit_sha); state, ended_at and reason are the same for all and come once.
    //
    // claims_completed: list --state completed (context, the dashboard) sorted every
    // completed claim by (claimed_at DESC, key) to keep the newest N; with the index it reads
    // N entries. Each completion adds an entry (a completed row is never HOT-updated anyway).
    sql: `
CREATE INDEX claims_completed ON S.claims (claimed_at DESC, key) WHERE state = 'completed';

DROP FUNCTION S.reap(bigint, text);
CREATE FUNCTION S.reap(p_min_age bigint, p_by text, OUT now_ms bigint, OUT state text, OUT reason text, OUT claims json)
LANGUAGE plpgsql
-- The rows are sorted once, in memory (4 MB spilled 100,000 of them to disk).
SET work_mem = '128MB'
AS $$
DECLARE
  t bigint := S.now_ms();
  keys text[];
  agents text[];
BEGIN
  now_ms := t;
  state := 'abandoned';
  reason := 'reaped: expired without completion';
  WITH reaped AS (
    UPDATE S.claims c SET state = 'abandoned', ended_at = t, reason = 'reaped: expired without completion'
      WHERE c.state = 'active' AND c.expires_at <= t - p_min_age
      RETURNING c.key, c.agent, c.token, c.claimed_at, c.expires_at, c.meta, c.result, c.commit_sha
  ), sorted AS MATERIALIZED (
    SELECT x.*, to_char(to_timestamp(x.expires_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                || '.' || lpad((x.expires_at % 1000)::text, 3, '0') || 'Z' AS expired_iso
    FROM reaped x ORDER BY x.expires_at, x.key
  ), logged AS (
    INSERT INTO S.events (at, kind, key, agent, token, detail)
      SELECT t, 'reaped', x.key, x.agent, x.token, CASE
        WHEN p_by IS NULL THEN json_build_object('expiredAt', x.expired_iso)
        ELSE json_build_object('by', p_by, 'expiredAt', x.expired_iso) END
      FROM sorted x
  )
  SELECT json_agg(json_build_array(x.key, x.agent, x.token, x.claimed_at, x.expires_at, x.meta, x.result, x.commit_sha)),
         array_agg(x.key), array_agg(x.agent)
    INTO claims, keys, agents FROM sorted x;
  claims := coalesce(claims, '[]'::json);
  IF keys IS NOT NULL THEN
    -- After the claims' events, in reap order then by id, as the ending of each claim logged them.
    WITH w AS (SELECT * FROM unnest(keys, agents) WITH ORDINALITY AS w(key, agent, n)),
    ended AS (
      UPDATE S.path_claims pc SET state = 'abandoned', ended_at = t
        FROM w WHERE pc.work_key = w.key AND pc.agent = w.agent AND pc.state = 'active' AND pc.work_key IS NOT NULL
        RETURNING pc.id, pc.repo, pc.pattern, pc.agent, pc.token, pc.work_key, w.n
    )
    INSERT INTO S.events (at, kind, key, agent, token, commit_sha, detail)
      SELECT t, 'abandoned', 'path:' || e.pattern, e.agent, e.token, NULL, json_build_object('repo', e.repo, 'workKey', e.work_key)
      FROM ended e ORDER BY e.n, e.id;
  END IF;
END $$;
`,
  },
  {
    version: 14,
    description: "next takes a ranked run of tasks in one call: lock, claim and log the first it can",
    // next read the clock, the category statistics, the recent selections and the
    // candidates in four statements, then per ranked task locked it, claimed it and logged
    // the selection: about seven round trips (nine with BEGIN and COMMIT). The ranking is
    // core's (Thompson sampling in JavaScript), so it cannot run here without a second copy
    // of it; the store now reads everything the ranking needs in one statement, and hands
    // the ranked tasks without paths to next_take, which tries them in order in one
    // transaction, as the loop did: a task row another caller holds is passed over (SKIP
    // LOCKED, the task before its claim, as act and task done lock them), a claim that is
    // not granted or renewed is passed over (its denial stays logged), and the first one
    // taken gets its selected event at the time the ranking read (p_now). pos is its place
    // in p_ids (NULL: none taken; every one before pos was passed over).
    sql: `
CREATE FUNCTION S.next_take(p_ids text[], p_categories text[], p_priorities integer[], p_agent text, p_ttl bigint,
                            p_done_window bigint, p_now bigint, OUT pos integer, OUT now_ms bigint, OUT claim json)
LANGUAGE plpgsql AS $$
DECLARE
  got record;
BEGIN
  FOR i IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
    PERFORM 1 FROM S.tasks tk WHERE tk.id = p_ids[i] AND tk.state = 'open' FOR UPDATE SKIP LOCKED;
    CONTINUE WHEN NOT FOUND;
    SELECT * INTO got FROM S.claim('task:' || p_ids[i], p_agent, p_ttl, NULL, false, p_done_window, false);
    CONTINUE WHEN got.outcome NOT IN ('granted', 'renewed');
    INSERT INTO S.events (at, kind, key, agent, token, detail)
      VALUES (p_now, 'selected', 'task:' || p_ids[i], p_agent, (got.claim->>'token')::bigint,
              json_build_object('category', p_categories[i], 'priority', p_priorities[i]));
    pos := i;
    now_ms := got.now_ms;
    claim := got.claim;
    RETURN;
  END LOOP;
END $$;
`,
  },
  {
    version: 15,
    description: "a claim row says whether path claims were granted with it; ending one without them looks for none",
    // Ending a claim (act) looked in path_claims for linked path claims on every call: a
    // statement of its own, since it must see what a writer of the row it waited for
    // committed. Every writer of linked path claims (claimPaths with a work claim, next with
    // task paths) holds and writes the work claim's row in the same transaction, so it now
    // sets linked_paths there too, and act reads the flag from the row its UPDATE returns
    // (the row as that writer left it) and looks only when it is set. The flag stays set
    // once set (a later grant of the key to the same agent may still have such claims live).
    sql: `
ALTER TABLE S.claims ADD COLUMN linked_paths boolean NOT NULL DEFAULT false;
UPDATE S.claims c SET linked_paths = true
  WHERE EXISTS (SELECT 1 FROM S.path_claims pc WHERE pc.work_key = c.key AND pc.state = 'active');

CREATE OR REPLACE FUNCTION S.act(p_kind text, p_key text, p_agent text, p_ttl bigint, p_result text, p_commit text, p_reason text,
                      OUT code text, OUT now_ms bigint, OUT claim json)
LANGUAGE plpgsql AS $$
DECLARE
  r S.claims;
  t bigint;
  te bigint;
  linked boolean;
BEGIN
  -- A task before its claim, the order next and task done lock them in: no deadlock between them.
  IF p_kind = 'completed' AND starts_with(p_key, 'task:') THEN
    PERFORM 1 FROM S.tasks tk WHERE tk.id = substr(p_key, 6) FOR UPDATE;
  END IF;
  LOOP
    t := S.now_ms();
    -- The row by its key, never through claims_live: "c.state || '' = 'active'" and
    -- "c.expires_at - t > 0" match no index, so the planner cannot pick a scan of the live
    -- claims (and the entries dead claims left there) to find one key; with statistics that
    -- think the partial index small, it did (0.1 ms at 1 live claim, 2 ms at 3,000).
    IF p_kind = 'renewed' THEN
      WITH g AS (
        UPDATE S.claims c SET renewed_at = greatest(t, coalesce(c.renewed_at, c.claimed_at)),
            expires_at = greatest(t, coalesce(c.renewed_at, c.claimed_at))
                         + coalesce(p_ttl, c.expires_at - coalesce(c.renewed_at, c.claimed_at))
          WHERE c.key = p_key AND c.agent = p_agent AND c.state || '' = 'active' AND c.expires_at - t > 0
          RETURNING *
      ), e AS (
        INSERT INTO S.events (at, kind, key, agent, token, detail)
          SELECT g.renewed_at, 'renewed', p_key, p_agent, g.token, json_build_object('ttlMs', g.expires_at - g.renewed_at)
          FROM g
      )
      SELECT row_to_json(g), g.renewed_at, g.linked_paths INTO claim, te, linked FROM g;
    ELSIF p_kind = 'completed' THEN
      WITH g AS (
        UPDATE S.claims c SET state = 'completed', ended_at = greatest(t, coalesce(c.renewed_at, c.claimed_at)),
            result = p_result, commit_sha = p_commit
          WHERE c.key = p_key AND c.agent = p_agent AND c.state || '' = 'active' AND c.expires_at - t > 0
          RETURNING *
      ), e AS (
        INSERT INTO S.events (at, kind, key, agent, token, commit_sha, detail)
          SELECT g.ended_at, 'completed', p_key, p_agent, g.token, p_commit,
                 CASE WHEN coalesce(p_result, '') <> '' THEN json_build_object('result', p_result) END
          FROM g
      )
      SELECT row_to_json(g), g.ended_at, g.linked_paths INTO claim, te, linked FROM g;
    ELSE
      -- Release and abandon accept an expired claim nobody took over.
      WITH g AS (
        UPDATE S.claims c SET state = p_kind, ended_at = greatest(t, coalesce(c.renewed_at, c.claimed_at)),
            commit_sha = p_commit, reason = p_reason
          WHERE c.key = p_key AND c.agent = p_agent AND c.state || '' = 'active'
          RETURNING *
      ), e AS (
        INSERT INTO S.events (at, kind, key, agent, token, commit_sha, detail)
          SELECT g.ended_at, p_kind, p_key, p_agent, g.token, p_commit,
                 CASE WHEN coalesce(p_reason, '') <> '' THEN json_build_object('reason', p_reason) END
          FROM g
      )
      SELECT row_to_json(g), g.ended_at, g.linked_paths INTO claim, te, linked FROM g;
    END IF;
    EXIT WHEN FOUND;
    SELECT * INTO r FROM S.claims c WHERE c.key = p_key FOR UPDATE;
    now_ms := t;
    IF NOT FOUND THEN
      code := 'NOT_FOUND';
      RETURN;
    END IF;
    claim := row_to_json(r);
    IF r.agent <> p_agent OR r.state <> 'active' THEN
      code := 'NOT_HOLDER';
      RETURN;
    END IF;
    IF r.expires_at <= t AND p_kind IN ('renewed', 'completed') THEN
      code := 'CLAIM_EXPIRED';
      RETURN;
    END IF;
    -- The caller holds it after all (changed between the two statements): try again.
    claim := NULL;
  END LOOP;
  now_ms := te;
  IF p_kind = 'renewed' THEN
    RETURN;
  END IF;
  IF p_kind = 'completed' AND starts_with(p_key, 'task:') THEN
    UPDATE S.tasks tk SET state = 'done', done_at = te, updated_at = te
      WHERE tk.id = substr(p_key, 6) AND tk.state = 'open';
  END IF;
  IF linked AND EXISTS (SELECT 1 FROM S.path_claims pc WHERE pc.work_key = p_key AND pc.agent = p_agent AND pc.state = 'active') THEN
    PERFORM S.end_linked_paths(te, p_key, p_agent, CASE WHEN p_kind = 'completed' THEN 'released' ELSE p_kind END,
                               p_commit);
  END IF;
END $$;
`,
  },
  {
    version: 16,
    description:
      "reap: the claims answered as columns (or only counted), only claims with linked path claims looked up, expiry times written without to_char",
    // bench/reap.mjs (100,000 stale claims), measured in the backend: what the reap does per row
    // beyond the row work itself (a claim row version with its primary-key entry, an event with
    // four index entries) was
    // - the expiry's ISO time: to_char(to_timestamp(ms / 1000) AT TIME ZONE 'UTC') and lpad cost
    //   ~1.5 µs a row; a timestamp's text output under DateStyle ISO (set on the function, with
    //   one microsecond added so the fraction always has six digits) half of that. Exact from 1970
    //   until 2255 (microseconds below 2^53); other times take the old expression;
    // - the keys and agents of every reaped claim gathered in two arrays and joined with the path
    //   claims to find the linked ones: since schema 15 a claim row says whether path claims were
    //   granted with it (linked_paths), so only those are gathered;
    // - the answer: 100,000 small JSON arrays (one per claim, parsed into as many arrays by the
    //   client); now one array per column (array_agg: json_agg writes ", " between items, a
    //   tenth more text for the same JSON), and the shared state and reason are not sent at all;
    //   with p_answer false only their number (Store.reapCount).
    sql: `
DROP FUNCTION S.reap(bigint, text);
CREATE FUNCTION S.reap(p_min_age bigint, p_by text, p_answer boolean, OUT now_ms bigint, OUT reaped_count bigint, OUT claims json)
LANGUAGE plpgsql
-- The rows are sorted once, in memory (4 MB spilled 100,000 of them to disk).
SET work_mem = '128MB'
-- timestamp::text below is 'YYYY-MM-DD HH24:MI:SS.US' whatever the session's DateStyle.
SET datestyle = 'ISO, YMD'
AS $$
DECLARE
  t bigint := S.now_ms();
  keys text[];
  agents text[];
BEGIN
  now_ms := t;
  WITH reaped AS (
    UPDATE S.claims c SET state = 'abandoned', ended_at = t, reason = 'reaped: expired without completion'
      WHERE c.state = 'active' AND c.expires_at <= t - p_min_age
      RETURNING c.key, c.agent, c.token, c.claimed_at, c.expires_at, c.meta, c.result, c.commit_sha, c.linked_paths
  ), sorted AS MATERIALIZED (
    SELECT x.*, CASE WHEN x.expires_at BETWEEN 0 AND 9000000000000
        THEN replace(left((timestamp '1970-01-01' + (x.expires_at * 1000 + 1) * interval '1 microsecond')::text, 23), ' ', 'T') || 'Z'
        ELSE to_char(to_timestamp(x.expires_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
             || '.' || lpad((x.expires_at % 1000)::text, 3, '0') || 'Z' END AS expired_iso
    FROM reaped x ORDER BY x.expires_at, x.key
  ), logged AS (
    INSERT INTO S.events (at, kind, key, agent, token, detail)
      SELECT t, 'reaped', x.key, x.agent, x.token, CASE
        WHEN p_by IS NULL THEN json_build_object('expiredAt', x.expired_iso)
        ELSE json_build_object('by', p_by, 'expiredAt', x.expired_iso) END
      FROM sorted x
  )
  -- p_answer false: the claims are counted, not gathered (a scheduled reaper needs no more).
  SELECT count(*), CASE WHEN p_answer THEN json_build_array(
           coalesce(array_agg(x.key) FILTER (WHERE p_answer), '{}'), coalesce(array_agg(x.agent) FILTER (WHERE p_answer), '{}'),
           coalesce(array_agg(x.token) FILTER (WHERE p_answer), '{}'), coalesce(array_agg(x.claimed_at) FILTER (WHERE p_answer), '{}'),
           coalesce(array_agg(x.expires_at) FILTER (WHERE p_answer), '{}'), coalesce(array_agg(x.meta) FILTER (WHERE p_answer), '{}'),
           coalesce(array_agg(x.result) FILTER (WHERE p_answer), '{}'), coalesce(array_agg(x.commit_sha) FILTER (WHERE p_answer), '{}')) END,
         array_agg(x.key) FILTER (WHERE x.linked_paths), array_agg(x.agent) FILTER (WHERE x.linked_paths)
    INTO reaped_count, claims, keys, agents FROM sorted x;
  IF keys IS NOT NULL THEN
    -- After the claims' events, in reap order then by id, as the ending of each claim logged them.
    WITH w AS (SELECT * FROM unnest(keys, agents) WITH ORDINALITY AS w(key, agent, n)),
    ended AS (
      UPDATE S.path_claims pc SET state = 'abandoned', ended_at = t
        FROM w WHERE pc.work_key = w.key AND pc.agent = w.agent AND pc.state = 'active' AND pc.work_key IS NOT NULL
        RETURNING pc.id, pc.repo, pc.pattern, pc.agent, pc.token, pc.work_key, w.n
    )
    INSERT INTO S.events (at, kind, key, agent, token, commit_sha, detail)
      SELECT t, 'abandoned', 'path:' || e.pattern, e.agent, e.token, NULL, json_build_object('repo', e.repo, 'workKey', e.work_key)
      FROM ended e ORDER BY e.n, e.id;
  END IF;
END $$;
`,
  },
];

/** The NOTIFY channel of migration 11: its payload is the schema whose events table grew. */
export const PG_EVENTS_CHANNEL = "baton_events";

/** The schema version this build of Baton writes. */
export const PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]?.version ?? 0;

/** Quote an identifier for SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A migration's SQL for the schema `schema`. */
export function migrationSql(migration: PgMigration, schema: string): string {
  return migration.sql.replace(/\bS\./g, `${quoteIdent(schema)}.`);
}
