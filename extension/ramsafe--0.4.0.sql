-- ramsafe extension, version 0.4.0 (0.3.0 plus ramsafe_status's schedule_rejected and
-- rejected_settings, and signing's columns: ramsafe_status's signing key, signing problem and
-- untrusted sets; ramsafe_backups' trust, signer and sequence number)
\echo Use "CREATE EXTENSION ramsafe" to load this file. \quit

CREATE FUNCTION ramsafe_backup_now(wait boolean DEFAULT true,
                                   OUT backup_id text, OUT outcome text)
RETURNS record
AS 'MODULE_PATHNAME', 'ramsafe_backup_now'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION ramsafe_backup_now(boolean) IS
  'Asks the ramsafe worker for a backup (joining one already running); with wait, returns when it is published or failed';

CREATE FUNCTION ramsafe_base_backup_now(wait boolean DEFAULT true,
                                        OUT backup_id text, OUT outcome text)
RETURNS record
AS 'MODULE_PATHNAME', 'ramsafe_base_backup_now'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION ramsafe_base_backup_now(boolean) IS
  'Asks the ramsafe worker for a physical base backup (joining one already running); with wait, returns when it is published or failed';

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

CREATE FUNCTION ramsafe_verify(backup_id text DEFAULT NULL,
  OUT backup text, OUT path text, OUT role text, OUT database text,
  OUT stored_bytes bigint, OUT ok boolean, OUT problem text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ramsafe_verify'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION ramsafe_ram_usage(
  OUT data_directory text, OUT data_directory_bytes bigint, OUT filesystem_bytes bigint,
  OUT used_bytes bigint, OUT free_bytes bigint, OUT used_percent numeric)
RETURNS record
AS 'MODULE_PATHNAME', 'ramsafe_ram_usage'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE FUNCTION ramsafe_prune(dry_run boolean DEFAULT true,
  OUT store text, OUT backup_id text, OUT finished_at timestamptz, OUT action text,
  OUT reason text, OUT error text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ramsafe_prune'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION ramsafe_prune(boolean) IS
  'Applies ramsafe.local_retention, ramsafe.drive_retention and, to physical base backups, ramsafe.local_base_retention and ramsafe.drive_base_retention (with dry_run, only shows the decisions): one row per backup set with keep or delete and the rule that decided';

-- Nothing for PUBLIC. Monitoring for pg_monitor; backups and verification for
-- superusers and roles granted EXECUTE explicitly.
REVOKE ALL ON FUNCTION ramsafe_backup_now(boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION ramsafe_base_backup_now(boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION ramsafe_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION ramsafe_backups() FROM PUBLIC;
REVOKE ALL ON FUNCTION ramsafe_verify(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ramsafe_ram_usage() FROM PUBLIC;
REVOKE ALL ON FUNCTION ramsafe_prune(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ramsafe_status() TO pg_monitor;
GRANT EXECUTE ON FUNCTION ramsafe_backups() TO pg_monitor;
GRANT EXECUTE ON FUNCTION ramsafe_ram_usage() TO pg_monitor;
