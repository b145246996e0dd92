#include <unistd.h>

#include <iostream>

#include "companion/commands.h"
#include "core/crypto/secure_string.h"
#include "core/drive/drive_auth.h"
#include "core/error.h"
#include "core/io/unique_fd.h"

namespace ramsafe::cli {

CommandSpec drive_login_spec() {
  return {"drive-login",
          "drive-login --client-id ID --client-secret-file FILE [options]",
          "Get a Google Drive user token (OAuth device flow).\n"
          "The token goes to ramsafe.drive_token_file (or -o FILE).\n"
          "Made for machines without a browser: it prints a URL and a code, you\n"
          "approve on any device, and it writes the token file (mode 0600). The OAuth client\n"
          "must be of type \"TVs and Limited Input devices\"; its secret is read from a file,\n"
          "never from the command line.",
          {config_option(),
           {"client-id", 0, true, "ID", "the OAuth client id"},
           {"client-secret-file", 0, true, "FILE", "file holding the OAuth client secret"},
           {"output", 'o', true, "FILE",
            "where to write the token (default: ramsafe.drive_token_file)"},
           {"force", 0, false, "", "replace an existing token file"}}};
}

int run_drive_login(const ParsedArgs& args) {
  if (!args.has("client-id")) throw UsageError("--client-id is required");
  if (!args.has("client-secret-file")) throw UsageError("--client-secret-file is required");
  Settings settings = load_config(args);
  std::string output = args.get("output", settings.drive_token_file);
  if (output.empty())
    throw UsageError("--output is required when ramsafe.drive_token_file is not set");
  if (access(output.c_str(), F_OK) == 0 && !args.has("force"))
    throw Error(Errc::kInvalidArgument, output + " already exists; use --force to replace it");

  DeviceLoginRequest request;
  request.oauth_url = settings.drive_oauth_url;
  request.client_id = args.get("client-id");
  request.client_secret = read_secret_file(args.get("client-secret-file"));
  while (!request.client_secret.empty() &&
         (request.client_secret.back() == '\n' || request.client_secret.back() == '\r'))
    request.client_secret.pop_back();
  request.show = [](const std::string& url, const std::string& code) {
    std::cout << "On any device, open " << url << "\nand enter the code " << code
              << "\nWaiting for approval..." << std::endl;
  };
  HttpOptions http;
  http.ca_file = settings.drive_ca_file;
  HttpClient client(http);
  SecureString token_file = device_login(client, request, cancel_check());
  write_file_atomic(output, std::string(token_file.begin(), token_file.end()), 0600);
  std::cout << "wrote the Drive token to " << output << "\n";
  return kExitOk;
}

}  // namespace ramsafe::cli
