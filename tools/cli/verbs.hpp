// tools/cli/verbs.hpp — the table of `circumplex <verb>` commands.
//
// Each verb is a function taking argv after the verb name; it returns the exit code
// (0 ok, 1 failure) and throws UsageError (→ 2) or circumplex::Error (→ 1).
#pragma once

#include <string>
#include <vector>

namespace circumplex::cli {

struct Verb {
  const char* name;
  const char* summary;  ///< one line for `circumplex --help`
  int (*run)(int argc, char** argv);  ///< argv[0] is the verb name
};

/// All verbs, in the order `circumplex --help` lists them.
const std::vector<Verb>& verbs();

int run_atlas(int argc, char** argv);
int run_expr(int argc, char** argv);
int run_synth(int argc, char** argv);
int run_train(int argc, char** argv);
int run_map(int argc, char** argv);
int run_render(int argc, char** argv);
int run_view(int argc, char** argv);
int run_prep(int argc, char** argv);
int run_judge(int argc, char** argv);
int run_judge_read(int argc, char** argv);  ///< `judge read`
int run_evaluate(int argc, char** argv);
int run_bench(int argc, char** argv);
int run_study(int argc, char** argv);

}  // namespace circumplex::cli
