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

-- Core errors cross the boundary as proper ERRORs: no store configured.
SELECT * FROM ramsafe_verify();
SELECT * FROM ramsafe_backup_now();

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
SET ramsafe.schedule = '@daily';

-- A role without grants gets permission errors; pg_monitor may watch but not back up.
CREATE ROLE ramsafe_regress_user;
SET ROLE ramsafe_regress_user;
SELECT count(*) FROM ramsafe_status();
SELECT * FROM ramsafe_backup_now();
SELECT * FROM ramsafe_verify();
SELECT * FROM ramsafe_prune();
SHOW ramsafe.identity_file;
SHOW ramsafe.drive_credentials_file;
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
