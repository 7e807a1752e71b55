// herald.cc: the `herald` command the operator runs. It is a small front end: it runs
// `herald classify` itself and hands every other subcommand to herald-core, the program
// with the daemon and the operator commands, by exec'ing it with the same arguments (the
// way git runs git-<command>; the process and its PID stay the same).
//
// Why two programs: herald-core links SQLite, OpenSSL's TLS, librdkafka, c-ares, the HTTP
// server and Prometheus; loading and relocating them costs about 15 ms before main() on
// the test machine (docs/benchmarks.md section 5). `herald classify` is run over mail
// files from scripts and benchmarks, where that start-up would be a third of the work, so
// it is linked only to the pure feedback code.
//
// Contract: herald-core is looked for next to this program (/proc/self/exe's directory),
// then on PATH. If it cannot be run, the reason is printed and the exit status is 127.
// Thread-safety: single-threaded. Trust: argv is the operator's.
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/classify_command.h"

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "classify") == 0) {
    return herald::cli::ClassifyMain(argc - 2, argv + 2);
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  std::string core;
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir.resize(dir.rfind('/') + 1);
    core = dir + "herald-core";
    execv(core.c_str(), argv);
    if (errno != ENOENT) {
      std::fprintf(stderr, "herald: cannot run %s: %s\n", core.c_str(), std::strerror(errno));
      return 127;
    }
  }
  execvp("herald-core", argv);
  const char* why = std::strerror(errno);
  if (core.empty()) {
    std::fprintf(stderr, "herald: cannot run herald-core from PATH: %s\n", why);
  } else {
    std::fprintf(stderr, "herald: cannot run herald-core (looked for %s, then on PATH): %s\n",
                 core.c_str(), why);
  }
  return 127;
}
