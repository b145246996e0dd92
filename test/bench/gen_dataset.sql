-- ramsafe benchmark dataset: a Loomio-like forum (users, groups, memberships, discussions,
-- comments, polls, stances, reactions, events with jsonb payloads, attachments with bytea),
-- in schema "forum" of the current database (dropped and recreated).
--
-- Usage:   psql -X -v scale=N -f test/bench/gen_dataset.sql DBNAME      (scale defaults to 1)
--
-- Size:    scale 1 = 97 MB of table data (heap + TOAST, without indexes), 127 MB
--          with indexes; rows and sizes grow linearly with scale. Generation takes about 15 s
--          at scale 1 on 2 cores.
-- Compression, measured on the stream ramsafe compresses (PostgreSQL 15.20, zstd 1.5.4):
--          pg_dump -Fc -Z0 DB | wc -c                  -> 85,565,091 bytes
--          pg_dump -Fc -Z0 DB | zstd -3 -c | wc -c     -> 24,435,089 bytes   ratio 3.50
--          (text columns alone, COPY of comments.body: ratio 3.46)
--
-- Deterministic: the same scale gives identical table contents on every run (two runs at
-- scale 1 fingerprint identically with test/fixtures/fingerprint.sh). All "randomness" is
-- hashint8extended(key, stream) of row keys (a hash PostgreSQL keeps stable across versions,
-- since hash partitioning depends on it) rather than setseed()/random(), whose sequence
-- would follow the executor's row order (hash joins, parallel plans) and so the plan.
--
-- Realism: words follow a Zipf-like law over ~150 common English words plus ~3000 made-up
-- ones; sentences come from a pool of 30,000, paragraphs draw several sentences, and
-- mentions, links, numbers and hashes add unique tokens. Attachments mix incompressible
-- "images" with compressible text/CSV files, as real uploads do.

\set ON_ERROR_STOP on
\if :{?scale}
\else
\set scale 1
\endif
SELECT :'scale' ~ '^[1-9][0-9]*$' AS scale_ok \gset
\if :scale_ok
\else
\warn gen_dataset.sql: scale must be a positive integer, got :scale
DO $$ BEGIN RAISE EXCEPTION 'gen_dataset.sql: scale must be a positive integer'; END $$;
\endif
SET client_min_messages = warning;
SET synchronous_commit = off;
SET TimeZone = 'UTC';

DROP SCHEMA IF EXISTS forum CASCADE;
CREATE SCHEMA forum;
SET search_path = forum, public;

-- ------------------------------------------------------------------ deterministic helpers
-- rnd(key, stream): uniform in [0, 1); pick(key, stream, n): uniform in 1..n;
-- zipf(key, stream, n): 1..n with P(k) ~ 1/k (log-uniform).
CREATE FUNCTION pg_temp.rnd(k bigint, stream bigint) RETURNS float8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT (hashint8extended(k, stream) & 4503599627370495)::float8 / 4503599627370496.0 $$;
CREATE FUNCTION pg_temp.pick(k bigint, stream bigint, n bigint) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT 1 + floor(pg_temp.rnd(k, stream) * n)::bigint $$;
CREATE FUNCTION pg_temp.zipf(k bigint, stream bigint, n bigint) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT least(n, floor(exp(pg_temp.rnd(k, stream) * ln(n + 1)))::bigint) $$;

CREATE TEMP TABLE words (i int PRIMARY KEY, w text NOT NULL);
INSERT INTO words
SELECT n, w FROM unnest(string_to_array(
 'the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were her she there been one all we their has would when if so no will what can more out up about said into them some could time these two may then do first any like my now over such our man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three',
 ' ')) WITH ORDINALITY AS t(w, n);
INSERT INTO words
SELECT 150 + g,
       (SELECT string_agg((ARRAY['ka','ren','to','mi','ber','lin','sa','dor','vel','qua','nis','tra','po','lum','fe',
                                 'gar','shi','on','el','mar','ti','zo','bra','den','ic','ul','ver','sto','an','ex',
                                 'ri','pla','mon','cor','te','ha','pen','dal','nu','sk','ea','ion','ly','ment','ing'])
                                [pg_temp.pick(g * 8 + s, 11, 45)], '' ORDER BY s)
          FROM generate_series(1, 2 + (g % 3)) s)
FROM generate_series(1, 3000) g;

CREATE TEMP TABLE sentences (s int PRIMARY KEY, txt text NOT NULL);
INSERT INTO sentences
SELECT s, upper(left(x, 1)) || substr(x, 2) || (ARRAY['.', '.', '.', '?', '!', '.', '...', ':'])[pg_temp.pick(s, 13, 8)]
FROM (
  SELECT s, string_agg(w.w, CASE WHEN pg_temp.pick(s * 64 + k, 14, 12) = 1 THEN ', ' ELSE ' ' END ORDER BY k) AS x
  FROM generate_series(1, 30000) s
  CROSS JOIN LATERAL generate_series(1, 4 + pg_temp.pick(s, 15, 16)::int) k
  JOIN words w ON w.i = pg_temp.zipf(s * 64 + k, 16, 3150)
  GROUP BY s
) q;
ANALYZE words;
ANALYZE sentences;

-- para(key, stream, nsentences): nsentences pooled sentences joined with spaces.
CREATE FUNCTION pg_temp.para(k bigint, stream bigint, n int) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT string_agg((SELECT txt FROM sentences WHERE s = pg_temp.pick(k * 32 + j, stream, 30000)), ' ' ORDER BY j)
          FROM generate_series(1, n) j $$;  -- a scalar subquery per sentence: an index lookup, never a hash join

CREATE TEMP TABLE first_names AS
SELECT n AS i, w FROM unnest(string_to_array('Ada Ben Chloe Dmitri Elif Farah Gustav Hana Ivan Jun Kemal Lena Mateo Nia Olu Priya Quinn Rosa Sven Tariq Uma Viktor Wen Xavier Yara Zoltan Amara Bruno Carmen Diego Emma Felix Greta Hugo Ines Jonas Kira Liam Mira Noah Oskar Paula Rafael Sofia Theo Ursula Vera Willem Yusuf Zara', ' ')) WITH ORDINALITY AS t(w, n);
CREATE TEMP TABLE last_names AS
SELECT n AS i, w FROM unnest(string_to_array('Andersen Bauer Costa Dubois Eriksen Fischer Garcia Horvath Ivanova Jensen Kowalski Lopez Moreau Nakamura Okafor Petrov Quispe Rossi Schmidt Tanaka Usman Varga Weber Xu Yilmaz Zhang Almeida Becker Chen Dias Evans Ferreira Gomez Hansen Ito Jovanovic Kim Larsen Muller Novak Olsen Park Ramos Santos Tran Vogel Wagner Young Zimmermann', ' ')) WITH ORDINALITY AS t(w, n);

-- ------------------------------------------------------------------ tables
CREATE TABLE users (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  username text NOT NULL,
  email text NOT NULL,
  name text NOT NULL,
  short_bio text,
  locale text NOT NULL,
  time_zone text NOT NULL,
  email_verified boolean NOT NULL,
  created_at timestamptz NOT NULL,
  last_seen_at timestamptz,
  deactivated_at timestamptz,
  settings jsonb NOT NULL,
  avatar bytea
);
CREATE TABLE groups (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  parent_id bigint REFERENCES groups,
  name text NOT NULL,
  handle text NOT NULL,
  description text,
  is_visible_to_public boolean NOT NULL,
  memberships_count int NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL,
  settings jsonb NOT NULL
);
CREATE TABLE memberships (
  group_id bigint NOT NULL REFERENCES groups,
  user_id bigint NOT NULL REFERENCES users,
  admin boolean NOT NULL DEFAULT false,
  volume smallint NOT NULL,
  accepted_at timestamptz,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (group_id, user_id)
);
CREATE TABLE discussions (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  group_id bigint NOT NULL REFERENCES groups,
  author_id bigint NOT NULL REFERENCES users,
  title text NOT NULL,
  description text NOT NULL,
  private boolean NOT NULL,
  tags text[] NOT NULL,
  items_count int NOT NULL,
  created_at timestamptz NOT NULL,
  last_activity_at timestamptz NOT NULL,
  closed_at timestamptz
);
CREATE TABLE comments (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  discussion_id bigint NOT NULL REFERENCES discussions,
  author_id bigint NOT NULL REFERENCES users,
  parent_id bigint,
  body text NOT NULL,
  body_format text NOT NULL,
  created_at timestamptz NOT NULL,
  edited_at timestamptz
);
CREATE TABLE polls (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  discussion_id bigint NOT NULL REFERENCES discussions,
  author_id bigint NOT NULL REFERENCES users,
  poll_type text NOT NULL,
  title text NOT NULL,
  details text,
  options text[] NOT NULL,
  closing_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE TABLE stances (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  poll_id bigint NOT NULL REFERENCES polls,
  participant_id bigint NOT NULL REFERENCES users,
  choice smallint NOT NULL,
  reason text,
  latest boolean NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE TABLE reactions (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  comment_id bigint NOT NULL REFERENCES comments,
  user_id bigint NOT NULL REFERENCES users,
  reaction text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE TABLE events (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  kind text NOT NULL,
  eventable_type text NOT NULL,
  eventable_id bigint NOT NULL,
  user_id bigint REFERENCES users,
  discussion_id bigint REFERENCES discussions,
  sequence_id int,
  created_at timestamptz NOT NULL,
  custom_fields jsonb NOT NULL
);
CREATE TABLE attachments (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  comment_id bigint NOT NULL REFERENCES comments,
  filename text NOT NULL,
  content_type text NOT NULL,
  byte_size int NOT NULL,
  checksum text NOT NULL,
  data bytea NOT NULL
);

-- ------------------------------------------------------------------ data
-- Row counts per scale: users 8k, groups 400, memberships ~23k, discussions 8k, comments 80k,
-- polls 1.6k, stances 24k, reactions 16k, attachments 1k, events ~114k (one per discussion,
-- comment, poll and stance).
\set n_users 8000 * :scale
\set n_groups 400 * :scale
\set n_disc 8000 * :scale
\set n_comments 80000 * :scale
\set n_polls 1600 * :scale
\set n_stances 24000 * :scale
\set n_reactions 16000 * :scale
\set n_attach 1000 * :scale

INSERT INTO users (id, username, email, name, short_bio, locale, time_zone, email_verified, created_at,
                   last_seen_at, deactivated_at, settings, avatar)
SELECT g,
       lower(f.w) || lower(l.w) || g,
       lower(f.w) || '.' || lower(l.w) || g || '@' || (ARRAY['example.org','mail.example.com','example.net','uni.example.edu'])[pg_temp.pick(g, 21, 4)],
       f.w || ' ' || l.w,
       CASE WHEN pg_temp.rnd(g, 22) < 0.4 THEN pg_temp.para(g, 23, 1 + pg_temp.pick(g, 24, 2)::int) END,
       (ARRAY['en','en','en','de','fr','es','pt-BR','nl','ja','uk'])[pg_temp.pick(g, 25, 10)],
       (ARRAY['UTC','Europe/Berlin','America/New_York','Asia/Tokyo','Pacific/Auckland','America/Sao_Paulo'])[pg_temp.pick(g, 26, 6)],
       pg_temp.rnd(g, 27) < 0.9,
       timestamptz '2024-01-01 00:00:00+00' - (pg_temp.rnd(g, 28) * 1500) * interval '1 day',
       CASE WHEN pg_temp.rnd(g, 29) < 0.8 THEN timestamptz '2024-01-01 00:00:00+00' - (pg_temp.rnd(g, 30) * 90) * interval '1 day' END,
       CASE WHEN pg_temp.rnd(g, 31) < 0.03 THEN timestamptz '2023-06-01 00:00:00+00' + g * interval '1 minute' END,
       jsonb_build_object('email_when_mentioned', pg_temp.rnd(g, 32) < 0.8, 'email_catch_up_day', pg_temp.pick(g, 33, 7),
                          'theme', (ARRAY['light','dark','auto'])[pg_temp.pick(g, 34, 3)],
                          'experiences', jsonb_build_object('welcomeModal', true, 'tour', pg_temp.rnd(g, 35) < 0.5)),
       CASE WHEN pg_temp.rnd(g, 36) < 0.1 THEN
         (SELECT string_agg(decode(md5(g || ':' || b), 'hex'), ''::bytea) FROM generate_series(1, 64 + pg_temp.pick(g, 37, 64)::int) b) END
FROM generate_series(1, :n_users) g
JOIN first_names f ON f.i = pg_temp.pick(g, 38, 50)
JOIN last_names l ON l.i = pg_temp.pick(g, 39, 49);

INSERT INTO groups (id, parent_id, name, handle, description, is_visible_to_public, created_at, settings)
SELECT g,
       CASE WHEN g > 40 AND pg_temp.rnd(g, 41) < 0.3 THEN pg_temp.pick(g, 42, 40) END,
       initcap(w1.w || ' ' || w2.w) || ' ' || (ARRAY['Collective','Cooperative','Working Group','Council','Network','Team'])[pg_temp.pick(g, 43, 6)],
       lower(w1.w || '-' || w2.w || '-' || g),
       pg_temp.para(g, 44, 2 + pg_temp.pick(g, 45, 6)::int),
       pg_temp.rnd(g, 46) < 0.3,
       timestamptz '2024-01-01 00:00:00+00' - (pg_temp.rnd(g, 47) * 1400) * interval '1 day',
       jsonb_build_object('members_can_start_discussions', pg_temp.rnd(g, 48) < 0.9, 'members_can_raise_motions', true,
                          'discussion_privacy_options', (ARRAY['private_only','public_or_private'])[pg_temp.pick(g, 49, 2)])
FROM generate_series(1, :n_groups) g
JOIN words w1 ON w1.i = 150 + pg_temp.pick(g, 40, 3000)
JOIN words w2 ON w2.i = 150 + pg_temp.pick(g, 50, 3000);

INSERT INTO memberships (group_id, user_id, admin, volume, accepted_at, created_at)
SELECT DISTINCT ON (grp, usr) grp, usr, pg_temp.rnd(g, 52) < 0.05, pg_temp.pick(g, 53, 3)::smallint,
       CASE WHEN pg_temp.rnd(g, 54) < 0.95 THEN timestamptz '2024-01-01 00:00:00+00' - (pg_temp.rnd(g, 55) * 700) * interval '1 day' END,
       timestamptz '2024-01-01 00:00:00+00' - (pg_temp.rnd(g, 56) * 700) * interval '1 day'
FROM (SELECT g, pg_temp.zipf(g, 51, :n_groups) AS grp, pg_temp.pick(g, 57, :n_users) AS usr
        FROM generate_series(1, 24000 * :scale) g) m
ORDER BY grp, usr, g;
UPDATE groups SET memberships_count = c.n FROM (SELECT group_id, count(*) AS n FROM memberships GROUP BY group_id) c
 WHERE c.group_id = groups.id;

INSERT INTO discussions (id, group_id, author_id, title, description, private, tags, items_count, created_at,
                         last_activity_at, closed_at)
SELECT g,
       pg_temp.zipf(g, 61, :n_groups),
       pg_temp.pick(g, 62, :n_users),
       rtrim(s.txt, '.?!:'),
       pg_temp.para(g, 63, 2 + pg_temp.pick(g, 64, 8)::int)
         || CASE WHEN pg_temp.rnd(g, 65) < 0.3 THEN E'\n\nSee https://docs.example.org/' || substr(md5('d' || g), 1, 10) ELSE '' END,
       pg_temp.rnd(g, 66) < 0.7,
       ARRAY(SELECT (ARRAY['budget','events','policy','membership','tech','outreach','finance','safety','design','ops'])[pg_temp.pick(g * 4 + t, 67, 10)]
               FROM generate_series(1, pg_temp.pick(g, 68, 3)::int - 1) t),
       0,
       timestamptz '2024-01-01 00:00:00+00' - (pg_temp.rnd(g, 69) * 1000) * interval '1 day',
       timestamptz '2024-01-01 00:00:00+00' - (pg_temp.rnd(g, 70) * 30) * interval '1 day',
       CASE WHEN pg_temp.rnd(g, 71) < 0.2 THEN timestamptz '2023-12-01 00:00:00+00' + g * interval '1 minute' END
FROM generate_series(1, :n_disc) g
JOIN sentences s ON s.s = pg_temp.pick(g, 60, 30000);

INSERT INTO comments (id, discussion_id, author_id, parent_id, body, body_format, created_at, edited_at)
SELECT g,
       pg_temp.zipf(g, 81, :n_disc),
       pg_temp.pick(g, 82, :n_users),
       CASE WHEN g > 10 AND pg_temp.rnd(g, 83) < 0.25 THEN g - pg_temp.pick(g, 84, least(g - 1, 50)) END,
       CASE WHEN pg_temp.rnd(g, 85) < 0.15 THEN '@' || u.username || ' ' ELSE '' END
         || pg_temp.para(g, 86, pg_temp.zipf(g, 87, 6)::int)
         || CASE WHEN pg_temp.rnd(g, 88) < 0.08 THEN ' https://example.org/d/' || substr(md5('c' || g), 1, 8) ELSE '' END
         || CASE WHEN pg_temp.rnd(g, 89) < 0.1 THEN ' (' || pg_temp.pick(g, 90, 5000) || ' ' || (ARRAY['EUR','votes','people','km','%'])[pg_temp.pick(g, 91, 5)] || ')' ELSE '' END,
       (ARRAY['md','md','html'])[pg_temp.pick(g, 92, 3)],
       timestamptz '2024-01-01 00:00:00+00' - (pg_temp.rnd(g, 93) * 900) * interval '1 day',
       CASE WHEN pg_temp.rnd(g, 94) < 0.05 THEN timestamptz '2024-01-01 00:00:00+00' - g * interval '1 second' END
FROM generate_series(1, :n_comments) g
JOIN users u ON u.id = pg_temp.pick(g, 95, :n_users);
UPDATE discussions SET items_count = c.n FROM (SELECT discussion_id, count(*) AS n FROM comments GROUP BY discussion_id) c
 WHERE c.discussion_id = discussions.id;

INSERT INTO polls (id, discussion_id, author_id, poll_type, title, details, options, closing_at, created_at)
SELECT g,
       pg_temp.pick(g, 101, :n_disc),
       pg_temp.pick(g, 102, :n_users),
       (ARRAY['proposal','poll','count','score','ranked_choice','meeting'])[pg_temp.pick(g, 103, 6)],
       rtrim(s.txt, '.?!:') || '?',
       CASE WHEN pg_temp.rnd(g, 104) < 0.7 THEN pg_temp.para(g, 105, 1 + pg_temp.pick(g, 106, 4)::int) END,
       ARRAY(SELECT w.w FROM generate_series(1, 2 + pg_temp.pick(g, 107, 4)::int) o
               JOIN words w ON w.i = pg_temp.zipf(g * 8 + o, 108, 3150) ORDER BY o),
       timestamptz '2024-01-01 00:00:00+00' + (pg_temp.rnd(g, 109) * 60 - 30) * interval '1 day',
       timestamptz '2024-01-01 00:00:00+00' - (pg_temp.rnd(g, 110) * 800) * interval '1 day'
FROM generate_series(1, :n_polls) g
JOIN sentences s ON s.s = pg_temp.pick(g, 100, 30000);

INSERT INTO stances (id, poll_id, participant_id, choice, reason, latest, created_at)
SELECT g,
       pg_temp.zipf(g, 111, :n_polls),
       pg_temp.pick(g, 112, :n_users),
       pg_temp.pick(g, 113, 5)::smallint,
       CASE WHEN pg_temp.rnd(g, 114) < 0.35 THEN pg_temp.para(g, 115, pg_temp.zipf(g, 116, 3)::int) END,
       pg_temp.rnd(g, 117) < 0.9,
       timestamptz '2024-01-01 00:00:00+00' - (pg_temp.rnd(g, 118) * 800) * interval '1 day'
FROM generate_series(1, :n_stances) g;

INSERT INTO reactions (id, comment_id, user_id, reaction, created_at)
SELECT g,
       pg_temp.zipf(g, 121, :n_comments),
       pg_temp.pick(g, 122, :n_users),
       (ARRAY['+1','heart','laughing','tada','thinking_face','eyes','-1'])[pg_temp.zipf(g, 123, 7)],
       timestamptz '2024-01-01 00:00:00+00' - g * interval '37 seconds'
FROM generate_series(1, :n_reactions) g;

-- Events: one per comment, discussion, poll and stance, with jsonb payloads.
INSERT INTO events (kind, eventable_type, eventable_id, user_id, discussion_id, sequence_id, created_at, custom_fields)
SELECT kind, etype, eid, uid, did, seq, at,
       jsonb_build_object(
         'actor', jsonb_build_object('id', uid, 'ip', '10.' || (uid % 250) || '.' || (eid % 250) || '.' || (1 + (eid * 7) % 250),
                                     'user_agent', (ARRAY['Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0',
                                                          'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) Safari/604.1',
                                                          'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0.0.0',
                                                          'loomio-android/2.14.0'])[pg_temp.pick(eid, 131, 4)]),
         'recipient_user_ids', ARRAY(SELECT pg_temp.pick(eid * 16 + r, 132, :n_users) FROM generate_series(1, pg_temp.zipf(eid, 133, 12)::int) r),
         'notify', jsonb_build_object('email', pg_temp.rnd(eid, 134) < 0.6, 'push', pg_temp.rnd(eid, 135) < 0.3),
         'changes', CASE WHEN pg_temp.rnd(eid, 136) < 0.1 THEN jsonb_build_object('title', jsonb_build_array('draft', 'final')) END,
         'request_id', substr(md5(etype || eid), 1, 16))
FROM (
  SELECT 'new_comment' AS kind, 'Comment' AS etype, c.id AS eid, c.author_id AS uid, c.discussion_id AS did,
         row_number() OVER (PARTITION BY c.discussion_id ORDER BY c.id)::int AS seq, c.created_at AS at
    FROM comments c
  UNION ALL
  SELECT 'new_discussion', 'Discussion', d.id, d.author_id, d.id, 0, d.created_at FROM discussions d
  UNION ALL
  SELECT 'poll_created', 'Poll', p.id, p.author_id, p.discussion_id, NULL, p.created_at FROM polls p
  UNION ALL
  SELECT 'stance_created', 'Stance', s.id, s.participant_id, p.discussion_id, NULL, s.created_at
    FROM stances s JOIN polls p ON p.id = s.poll_id
) e
ORDER BY at, etype, eid;

-- Attachments: 60% incompressible "images", 40% compressible text/CSV, 0.5-16 KB each.
INSERT INTO attachments (id, comment_id, filename, content_type, byte_size, checksum, data)
SELECT g, comment_id, filename, content_type, length(data), md5(data), data
FROM (
  SELECT g,
         pg_temp.pick(g, 141, :n_comments) AS comment_id,
         CASE WHEN pg_temp.rnd(g, 142) < 0.6 THEN 'IMG_' || (1000 + g) || '.jpg' ELSE 'minutes-' || g || '.csv' END AS filename,
         CASE WHEN pg_temp.rnd(g, 142) < 0.6 THEN 'image/jpeg' ELSE 'text/csv' END AS content_type,
         CASE WHEN pg_temp.rnd(g, 142) < 0.6 THEN
           '\xffd8ffe000104a464946'::bytea
             || (SELECT string_agg(decode(md5(g || '/' || b), 'hex'), ''::bytea) FROM generate_series(1, 16 + pg_temp.pick(g, 143, 480)::int) b)
         ELSE
           convert_to('date,item,amount,owner' || E'\n'
             || (SELECT string_agg(to_char(date '2023-01-01' + (b % 365), 'YYYY-MM-DD') || ',' || w.w || ',' || (b * 37 % 1000) || '.' || lpad((b % 100)::text, 2, '0') || ',' || f.w,
                                   E'\n' ORDER BY b)
                   FROM generate_series(1, 20 + pg_temp.pick(g, 144, 400)::int) b
                   JOIN words w ON w.i = pg_temp.zipf(g * 512 + b, 145, 3150)
                   JOIN first_names f ON f.i = pg_temp.pick(g * 512 + b, 146, 50)), 'UTF8')
         END AS data
  FROM generate_series(1, :n_attach) g
) a;

-- ------------------------------------------------------------------ identity sequences, indexes
SELECT setval('forum.users_id_seq', (SELECT max(id) FROM forum.users)) \g /dev/null
SELECT setval('forum.groups_id_seq', (SELECT max(id) FROM forum.groups)) \g /dev/null
SELECT setval('forum.discussions_id_seq', (SELECT max(id) FROM forum.discussions)) \g /dev/null
SELECT setval('forum.comments_id_seq', (SELECT max(id) FROM forum.comments)) \g /dev/null
SELECT setval('forum.polls_id_seq', (SELECT max(id) FROM forum.polls)) \g /dev/null
SELECT setval('forum.stances_id_seq', (SELECT max(id) FROM forum.stances)) \g /dev/null
SELECT setval('forum.reactions_id_seq', (SELECT max(id) FROM forum.reactions)) \g /dev/null
SELECT setval('forum.attachments_id_seq', (SELECT max(id) FROM forum.attachments)) \g /dev/null

CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE UNIQUE INDEX groups_handle_key ON groups (handle);
CREATE INDEX memberships_user_idx ON memberships (user_id);
CREATE INDEX discussions_group_activity_idx ON discussions (group_id, last_activity_at DESC);
CREATE INDEX discussions_open_idx ON discussions (group_id) WHERE closed_at IS NULL;
CREATE INDEX discussions_tags_gin ON discussions USING gin (tags);
CREATE INDEX comments_discussion_idx ON comments (discussion_id, created_at);
CREATE INDEX comments_author_idx ON comments (author_id);
CREATE INDEX stances_poll_latest_idx ON stances (poll_id) WHERE latest;
CREATE INDEX reactions_comment_idx ON reactions (comment_id);
CREATE INDEX events_discussion_seq_idx ON events (discussion_id, sequence_id);
CREATE INDEX events_custom_fields_gin ON events USING gin (custom_fields jsonb_path_ops);
CREATE INDEX events_created_brin ON events USING brin (created_at);
CREATE INDEX attachments_comment_idx ON attachments (comment_id);
ALTER TABLE comments ADD FOREIGN KEY (parent_id) REFERENCES comments;
ANALYZE;
