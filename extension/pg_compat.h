// What differs between the PostgreSQL majors ramsafe supports (15, 16, 17, 18), in one place
// (as pg_cron's and PostgreSQL's contrib modules do it): every PG_VERSION_NUM guard of the
// extension is in this file, one small block per API; the rest of extension/ calls the
// shims below. docs/upgrade.md lists the majors and what changed between them.
#pragma once

#include "core/version.h"
#include "extension/ramsafe_ext.h"

extern "C" {
#include "access/xlog.h"
#include "fmgr.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/wait_event.h"

// The archive module API: PostgreSQL 15 declares the archive_library setting in pgarch.h
// and hands the module a struct of callbacks to fill in; 16 moved both to
// archive_module.h, asks the module for its callbacks, and passes them a state pointer.
#if PG_VERSION_NUM >= 160000
#include "archive/archive_module.h"
#else
#include "postmaster/pgarch.h"
#endif
}

namespace ramsafe::ext::compat {

// archive_library as the server has it ("" when unset).
inline const char* archive_library() {
  return XLogArchiveLibrary ? XLogArchiveLibrary : "";
}

// A detail for the server's "archive_mode enabled, yet archiving is not configured"
// WARNING when the module's check_configured callback says no (PostgreSQL 17 and later;
// earlier majors only get ramsafe's own LOG line).
inline void archive_check_detail(const char* problem) {
#if PG_VERSION_NUM >= 170000
  arch_module_check_errdetail("%s", problem);
#else
  (void)problem;
#endif
}

// Wait events: PostgreSQL 17 lets an extension name its own (shown in pg_stat_activity's
// wait_event); before that every extension wait is the one "Extension" event. Registered
// on first use in each process (it needs shared memory, so not in _PG_init).
inline uint32 wait_event(const char* name, uint32* cache) {
#if PG_VERSION_NUM >= 170000
  if (*cache == 0) *cache = WaitEventExtensionNew(name);
  return *cache;
#else
  (void)name;
  (void)cache;
  return PG_WAIT_EXTENSION;
#endif
}

// Sets the checkpointer's latch, if it runs. PostgreSQL 18 replaced
// ProcGlobal->checkpointerLatch by the checkpointer's process number.
inline void wake_checkpointer() {
#if PG_VERSION_NUM >= 180000
  ProcNumber checkpointer = ProcGlobal->checkpointerProc;
  if (checkpointer != INVALID_PROC_NUMBER) SetLatch(&GetPGProcByNumber(checkpointer)->procLatch);
#else
  if (ProcGlobal->checkpointerLatch != nullptr) SetLatch(ProcGlobal->checkpointerLatch);
#endif
}

}  // namespace ramsafe::ext::compat

// The module's magic block: PostgreSQL 18 can carry the module's name and version, which
// pg_get_loaded_modules() shows. Use once, in ramsafe.cc.
#if PG_VERSION_NUM >= 180000
#define RAMSAFE_MODULE_MAGIC PG_MODULE_MAGIC_EXT(.name = "ramsafe", .version = RAMSAFE_VERSION)
#else
#define RAMSAFE_MODULE_MAGIC PG_MODULE_MAGIC
#endif

// The archive module's entry point, _PG_archive_module_init, calling check (bool()) and
// archive (bool(const char* file, const char* path)); the state pointer of 16 and later is
// not used (ramsafe keeps its state in shared memory). Use once, at file scope.
#if PG_VERSION_NUM >= 160000
#define RAMSAFE_ARCHIVE_MODULE(check, archive)                                                   \
  static bool ramsafe_check_configured_cb(ArchiveModuleState*) {                                 \
    return check();                                                                              \
  }                                                                                              \
  static bool ramsafe_archive_file_cb(ArchiveModuleState*, const char* file, const char* path) { \
    return archive(file, path);                                                                  \
  }                                                                                              \
  static const ArchiveModuleCallbacks ramsafe_archive_callbacks = {                              \
      nullptr, ramsafe_check_configured_cb, ramsafe_archive_file_cb, nullptr};                   \
  extern "C" const ArchiveModuleCallbacks* _PG_archive_module_init(void) {                       \
    return &ramsafe_archive_callbacks;                                                           \
  }
#else
#define RAMSAFE_ARCHIVE_MODULE(check, archive)                                     \
  extern "C" PGDLLEXPORT void _PG_archive_module_init(ArchiveModuleCallbacks* cb); \
  extern "C" void _PG_archive_module_init(ArchiveModuleCallbacks* cb) {            \
    cb->check_configured_cb = check;                                               \
    cb->archive_file_cb = archive;                                                 \
    cb->shutdown_cb = nullptr;                                                     \
  }
#endif
