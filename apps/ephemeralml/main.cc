// ephemeralml: the command-line tool. Only wiring: each command file registers its subcommands,
// and this file maps how a command ended to the process exit code (0 ok, 1 "no" answer such as
// an unverified receipt, 2 usage or input errors; see cli_util.h).

#include <CLI/CLI.hpp>

#include "attest_command.h"
#include "cli_util.h"
#include "embed_command.h"
#include "embed_connect_command.h"
#include "host_command.h"
#include "keys_command.h"
#include "model_command.h"
#include "receipt_command.h"
#include "stack_command.h"

int main(int argc, char** argv) {
  CLI::App app{"EphemeralML: confidential inference tools", "ephemeralml"};
  app.require_subcommand(1);
  eml::apps::AddReceiptCommands(app);
  eml::apps::AddEmbedCommands(app);
  eml::apps::AddEmbedConnectCommands(app);
  eml::apps::AddAttestCommands(app);
  eml::apps::AddHostCommands(app);
  eml::apps::AddStackCommands(app);
  eml::apps::AddModelCommands(app);
  eml::apps::AddKeysCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {  // a command ended with a non-zero exit code
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {  // --help, or a usage error (printed by exit())
    return app.exit(e) == 0 ? eml::apps::kExitOk : eml::apps::kExitUsage;
  }
  return eml::apps::kExitOk;
}
