// cli/classify_command.h: `herald classify FILE...`, the command that prints what the
// feedback classifier reads in each email file, one JSON line per file.
//
// Contract: RunClassify reads each file (at most feedback::kMaxFeedbackBytes of it; "-" is
// standard input), classifies it with feedback::ParseFeedback and writes one line to
// standard output: {"file": PATH} followed by the members of feedback::ReportToJson. A
// file that cannot be read is named on standard error with the reason and skipped; the
// result is then 1, else 0 (2 when standard output cannot be written).
// ClassifyMain is the whole subcommand as the `herald` front end runs it: argv holds what
// follows "classify"; it handles --help and usage errors (result 2) itself.
// Thread-safety: uses the process's standard streams; call from one thread.
// Trust: file contents are hostile mail; the parser bounds what it reads and never fails.
#pragma once

#include <string>
#include <vector>

namespace herald::cli {

int RunClassify(const std::vector<std::string>& files);

// Parses the arguments after "classify" ("--" ends options; "-" is a file), then runs
// RunClassify.
int ClassifyMain(int argc, const char* const* argv);

// The one-line description and usage, shared with the full command's --help.
inline constexpr const char* kClassifyDescription =
    "print what herald reads in each email file (bounce, complaint, ...) as JSON";

}  // namespace herald::cli
