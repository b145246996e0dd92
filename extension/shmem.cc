// The extension's shared memory: one SharedState, requested in shmem_request_hook and
// initialized in shmem_startup_hook (PostgreSQL 15 and later).
#include "extension/ramsafe_ext.h"

extern "C" {
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
}

#include <cstring>

namespace ramsafe::ext {

SharedState* shared = nullptr;

namespace {

shmem_request_hook_type previous_request_hook = nullptr;
shmem_startup_hook_type previous_startup_hook = nullptr;

void on_shmem_request() {
  if (previous_request_hook) previous_request_hook();
  RequestAddinShmemSpace(MAXALIGN(sizeof(SharedState)));
}

void on_shmem_startup() {
  if (previous_startup_hook) previous_startup_hook();
  bool found = false;
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  shared = static_cast<SharedState*>(ShmemInitStruct("ramsafe", sizeof(SharedState), &found));
  if (!found) {
    std::memset(shared, 0, sizeof(SharedState));
    SpinLockInit(&shared->mutex);
    ConditionVariableInit(&shared->done_cv);
  }
  LWLockRelease(AddinShmemInitLock);
}

}  // namespace

void request_shared_memory() {
  previous_request_hook = shmem_request_hook;
  shmem_request_hook = on_shmem_request;
  previous_startup_hook = shmem_startup_hook;
  shmem_startup_hook = on_shmem_startup;
}

void attach_shared_memory() {
  if (shared == nullptr) on_shmem_startup();
}

}  // namespace ramsafe::ext
