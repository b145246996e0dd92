-- The SQL surface of the ramsafe extension, on pg_regress's temporary instance with
-- ramsafe preloaded and no backup store configured.
CREATE EXTENSION ramsafe;

-- Functions, their result columns and privileges: nothing for PUBLIC.
SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args,
       coalesce(array_to_string(p.proacl, ','), '(default)') AS acl
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ramsafe'
ORDER BY 1;

-- The worker is running and reports its (empty) schedule.
SELECT schedule, next_run IS NULL AS no_next_run, worker_pid > 0 AS worker_running,
       running, pending_uploads, last_backup_id IS NULL AS no_backup_yet
FROM ramsafe_status();
SELECT used_percent BETWEEN 0 AND 100 AS sane, data_directory_bytes > 0 AS has_bytes
FROM ramsafe_ram_usage();
SELECT count(*) FROM ramsafe_backups();
SELECT count(*) FROM ramsafe_prune();
-- The configured schedule is in force: nothing rejected.
SELECT schedule_rejected, rejected_settings FROM ramsafe_status();
-- WAL archiving's columns: not archiving here, nothing archived, no store, no base backup.
SELECT archiving, last_archived_wal, last_archived_at, archive_failures, last_archive_error,
       wal_backlog_bytes, wal_backlog_oldest_at, wal_chain_broken_at, last_base_backup_at,
       recoverable_to, last_base_backup_id, next_base_backup, last_base_backup_error
FROM ramsafe_status();

-- Signing's columns: no signing key here, so the worker refuses to back up and says why.
SELECT signing_key, signing_problem LIKE 'no signing key configured%' AS refuses, untrusted_sets
FROM ramsafe_status();

-- Core errors cross the boundary as proper ERRORs: no store configured.
SELECT * FROM ramsafe_verify();
SELECT * FROM ramsafe_backup_now();
SELECT * FROM ramsafe_base_backup_now();

-- Settings: every ramsafe.* GUC exists; bad values are rejected naming the value.
SELECT count(*) FROM pg_settings WHERE name LIKE 'ramsafe.%';
SELECT name, context FROM pg_settings WHERE name IN ('ramsafe.schedule', 'ramsafe.data_directory')
ORDER BY 1;
ALTER SYSTEM SET ramsafe.schedule = '61 * * * *';
ALTER SYSTEM SET ramsafe.schedule = '@fortnightly';
ALTER SYSTEM SET ramsafe.timezone = 'Mars/Olympus';
ALTER SYSTEM SET ramsafe.local_dir = 'relative/path';
ALTER SYSTEM SET ramsafe.compression_level = 42;
ALTER SYSTEM SET ramsafe.on_missing = 'maybe';
ALTER SYSTEM SET ramsafe.shedule = '@daily';
ALTER SYSTEM SET ramsafe.drive_chunk_kb = 300;
ALTER SYSTEM SET ramsafe.local_retention = 'hourly=24 dayly=7';
ALTER SYSTEM SET ramsafe.drive_api_url = 'http://www.googleapis.com';
ALTER SYSTEM SET ramsafe.wal_backlog_limit = 'lots';
ALTER SYSTEM SET ramsafe.wal_backlog_policy = 'discard';
ALTER SYSTEM SET ramsafe.base_backup_schedule = '* * *';
ALTER SYSTEM SET ramsafe.verify_keys_file = 'verify_keys.txt';
ALTER SYSTEM SET ramsafe.state_file = 'state.json';
SELECT name, setting, context FROM pg_settings
WHERE name IN ('ramsafe.wal_backlog_limit', 'ramsafe.wal_backlog_policy',
               'ramsafe.base_backup_schedule')
ORDER BY 1;
SET ramsafe.schedule = '@daily';

-- A role without grants gets permission errors; pg_monitor may watch but not back up.
CREATE ROLE ramsafe_regress_user;
SET ROLE ramsafe_regress_user;
SELECT count(*) FROM ramsafe_status();
SELECT * FROM ramsafe_backup_now();
SELECT * FROM ramsafe_base_backup_now();
SELECT * FROM ramsafe_verify();
SELECT * FROM ramsafe_prune();
SHOW ramsafe.identity_file;
SHOW ramsafe.drive_credentials_file;
SHOW ramsafe.signing_key_file;
RESET ROLE;
GRANT pg_monitor TO ramsafe_regress_user;
SET ROLE ramsafe_regress_user;
SELECT count(*) FROM ramsafe_status();
SELECT count(*) FROM ramsafe_backups();
SELECT count(*) FROM ramsafe_ram_usage();
SELECT * FROM ramsafe_backup_now(false);
RESET ROLE;
DROP ROLE ramsafe_regress_user;

DROP EXTENSION ramsafe;

-- The upgrade from 0.1.0: ramsafe_status() gains the Drive store's columns.
CREATE EXTENSION ramsafe VERSION '0.1.0';
-- The 0.2.0 library still answers the 0.1.0 definition until the update runs.
SELECT pending_uploads, filesystem_free_bytes > 0 AS has_free FROM ramsafe_status();
ALTER EXTENSION ramsafe UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'ramsafe';
SELECT remote_store IS NULL AS no_remote, pending_uploads, uploads_failed FROM ramsafe_status();
SELECT coalesce(array_to_string(proacl, ','), '(default)') AS acl FROM pg_proc
WHERE proname = 'ramsafe_status';
DROP EXTENSION ramsafe;

-- The upgrade from 0.2.0: ramsafe_status() and ramsafe_backups() gain WAL archiving's
-- columns, ramsafe_base_backup_now() is new.
CREATE EXTENSION ramsafe VERSION '0.2.0';
-- The 0.3.0 library still answers the 0.2.0 definitions until the update runs.
SELECT pending_uploads, uploads_failed FROM ramsafe_status();
SELECT count(*) FROM ramsafe_backups();
ALTER EXTENSION ramsafe UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'ramsafe';
SELECT archiving, archive_failures, wal_chain_broken_at, recoverable_to FROM ramsafe_status();
SELECT count(*) FROM ramsafe_backups();
SELECT p.proname, coalesce(array_to_string(p.proacl, ','), '(default)') AS acl
FROM pg_proc p WHERE p.proname IN ('ramsafe_status', 'ramsafe_backups', 'ramsafe_base_backup_now')
ORDER BY 1;
SELECT * FROM ramsafe_base_backup_now(false) WHERE false;
DROP EXTENSION ramsafe;

-- The upgrade from 0.3.0: ramsafe_status() gains schedule_rejected and rejected_settings,
-- ramsafe_status() and ramsafe_backups() gain signing's columns.
CREATE EXTENSION ramsafe VERSION '0.3.0';
-- The 0.4.0 library still answers the 0.3.0 definitions until the update runs.
SELECT archiving, wal_drive_pending_files FROM ramsafe_status();
SELECT count(*) FROM ramsafe_backups();
ALTER EXTENSION ramsafe UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'ramsafe';
SELECT schedule_rejected, rejected_settings FROM ramsafe_status();
SELECT signing_key, signing_problem IS NOT NULL AS refuses, untrusted_sets FROM ramsafe_status();
SELECT trust, signed_by, sequence FROM ramsafe_backups();
SELECT p.proname, coalesce(array_to_string(p.proacl, ','), '(default)') AS acl
FROM pg_proc p WHERE p.proname IN ('ramsafe_status', 'ramsafe_backups')
ORDER BY 1;
DROP EXTENSION ramsafe;
