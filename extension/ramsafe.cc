// Module entry point: refuses to load outside shared_preload_libraries, then defines the
// settings, requests shared memory and registers the worker.
#include "extension/pg_compat.h"
#include "extension/ramsafe_ext.h"

extern "C" {
#include "fmgr.h"
#include "miscadmin.h"

RAMSAFE_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);
}

void _PG_init(void) {
  if (!process_shared_preload_libraries_in_progress)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("ramsafe must be loaded via shared_preload_libraries"),
                    errhint("Add ramsafe to shared_preload_libraries in postgresql.conf and "
                            "restart the server, then run CREATE EXTENSION ramsafe.")));
  ramsafe::ext::define_settings();
  ramsafe::ext::request_shared_memory();
  ramsafe::ext::register_worker();
}
