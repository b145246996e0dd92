-- ramsafe 0.3.0 -> 0.4.0: ramsafe_status() gains schedule_rejected and rejected_settings, then
-- signed backups' columns (docs/security.md): the worker's signing key, why it cannot sign,
-- and the local store's untrusted sets; ramsafe_backups() gains each set's trust, signer and
-- sequence number (appended, so the 0.4.0 library also answers the 0.3.0 definitions until
-- this update runs).
\echo Use "ALTER EXTENSION ramsafe UPDATE TO '0.4.0'" to load this file. \quit

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
  OUT last_remote_error text, OUT last_remote_error_at timestamptz, OUT uploads_failed bigint,
  OUT archiving boolean, OUT last_archived_wal text, OUT last_archived_at timestamptz,
  OUT archive_failures bigint, OUT last_archive_error text, OUT wal_backlog_bytes bigint,
  OUT wal_backlog_oldest_at timestamptz, OUT wal_chain_broken_at text,
  OUT last_base_backup_at timestamptz, OUT recoverable_to timestamptz,
  OUT last_base_backup_id text, OUT next_base_backup timestamptz, OUT last_base_backup_error text,
  OUT wal_drive_pending_files bigint, OUT wal_drive_pending_bytes bigint,
  OUT schedule_rejected text, OUT rejected_settings text,
  OUT signing_key text, OUT signing_problem text, OUT untrusted_sets integer)
RETURNS record
AS 'MODULE_PATHNAME', 'ramsafe_status'
LANGUAGE C VOLATILE PARALLEL SAFE;

REVOKE ALL ON FUNCTION ramsafe_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ramsafe_status() TO pg_monitor;

COMMENT ON FUNCTION ramsafe_prune(boolean) IS
  'Applies ramsafe.local_retention, ramsafe.drive_retention and, to physical base backups, ramsafe.local_base_retention and ramsafe.drive_base_retention (with dry_run, only shows the decisions): one row per backup set with keep or delete and the rule that decided';

DROP FUNCTION ramsafe_backups();
CREATE FUNCTION ramsafe_backups(
  OUT backup_id text, OUT kind text, OUT finished_at timestamptz, OUT databases integer,
  OUT stored_bytes bigint, OUT plaintext_bytes bigint, OUT store text, OUT location text,
  OUT usable boolean, OUT problem text,
  OUT wal_start text, OUT wal_reaches text, OUT wal_reaches_at timestamptz,
  OUT wal_complete boolean, OUT wal_missing text, OUT wal_chain_broken_at text,
  OUT trust text, OUT signed_by text, OUT sequence bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ramsafe_backups'
LANGUAGE C VOLATILE PARALLEL SAFE;

REVOKE ALL ON FUNCTION ramsafe_backups() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ramsafe_backups() TO pg_monitor;
