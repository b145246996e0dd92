#include "companion/commands.h"

namespace ramsafe::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {backup_spec(), run_backup},
      {restore_spec(), run_restore},
      {list_spec(), run_list},
      {verify_spec(), run_verify},
      {keygen_spec(), run_keygen},
      {decrypt_spec(), run_decrypt},
      {upload_spec(), run_upload},
      {prune_spec(), run_prune},
      {drive_login_spec(), run_drive_login},
      {wal_fetch_spec(), run_wal_fetch},
      {base_backup_spec(), run_base_backup},
      {snapshot_spec(), run_snapshot},
      {check_spec(), run_check},
      {metrics_spec(), run_metrics},
  };
  return list;
}

}  // namespace ramsafe::cli
