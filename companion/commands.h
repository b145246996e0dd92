// The companion's subcommands, one file each.
#pragma once

#include <string>
#include <vector>

#include "companion/cli.h"

namespace ramsafe::cli {

struct Command {
  CommandSpec spec;
  int (*run)(const ParsedArgs& args);
};

const std::vector<Command>& commands();

int run_backup(const ParsedArgs& args);
int run_restore(const ParsedArgs& args);
int run_list(const ParsedArgs& args);
int run_verify(const ParsedArgs& args);
int run_keygen(const ParsedArgs& args);
int run_decrypt(const ParsedArgs& args);
int run_upload(const ParsedArgs& args);
int run_prune(const ParsedArgs& args);
int run_drive_login(const ParsedArgs& args);
int run_wal_fetch(const ParsedArgs& args);
int run_base_backup(const ParsedArgs& args);
int run_check(const ParsedArgs& args);
int run_metrics(const ParsedArgs& args);
int run_snapshot(const ParsedArgs& args);

CommandSpec backup_spec();
CommandSpec restore_spec();
CommandSpec list_spec();
CommandSpec verify_spec();
CommandSpec keygen_spec();
CommandSpec decrypt_spec();
CommandSpec upload_spec();
CommandSpec prune_spec();
CommandSpec drive_login_spec();
CommandSpec wal_fetch_spec();
CommandSpec base_backup_spec();
CommandSpec check_spec();
CommandSpec metrics_spec();
CommandSpec snapshot_spec();

}  // namespace ramsafe::cli
