-- ramsafe 0.1.0 -> 0.2.0: ramsafe_status() gains the Drive store's columns (appended, so
-- the 0.2.0 library also answers the 0.1.0 definition until this update runs), and
-- ramsafe_prune() is new.
\echo Use "ALTER EXTENSION ramsafe UPDATE TO '0.2.0'" to load this file. \quit

DROP FUNCTION ramsafe_status();
CREATE FUNCTION ramsafe_status(
  OUT schedule text, OUT timezone text, OUT next_run timestamptz,
  OUT last_backup_id text, OUT last_finished_at timestamptz, OUT last_backup_age interval,
  OUT last_duration interval, OUT last_stored_bytes bigint, OUT last_databases integer,
  OUT last_error text, OUT last_error_at timestamptz,
  OUT running boolean, OUT running_backup_id text, OUT phase text, OUT database text,
  OUT database_index integer, OUT database_count integer, OUT bytes_read bigint,
  OUT bytes_stored bigint, OUT pending_uploads integer,
  OUT backups_requested bigint, OUT backups_scheduled bigint, OUT backups_failed bigint,
  OUT worker_pid integer, OUT data_directory_bytes bigint, OUT filesystem_bytes bigint,
  OUT filesystem_free_bytes bigint,
  OUT remote_store text, OUT uploading_backup_id text, OUT upload_bytes_done bigint,
  OUT upload_bytes_total bigint, OUT last_upload_id text, OUT last_upload_at timestamptz,
  OUT last_remote_error text, OUT last_remote_error_at timestamptz, OUT uploads_failed bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'ramsafe_status'
LANGUAGE C VOLATILE PARALLEL SAFE;

REVOKE ALL ON FUNCTION ramsafe_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ramsafe_status() TO pg_monitor;

CREATE FUNCTION ramsafe_prune(dry_run boolean DEFAULT true,
  OUT store text, OUT backup_id text, OUT finished_at timestamptz, OUT action text,
  OUT reason text, OUT error text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ramsafe_prune'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION ramsafe_prune(boolean) IS
  'Applies ramsafe.local_retention and ramsafe.drive_retention (with dry_run, only shows the decisions): one row per backup set with keep or delete and the rule that decided';
REVOKE ALL ON FUNCTION ramsafe_prune(boolean) FROM PUBLIC;
