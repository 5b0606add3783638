// tools/train/harness.hpp — what every training loop of the offline pipeline shares (the β-VAE
// in trainer.cpp, the judge in judge/judge_trainer.cpp): the optimiser (optim.hpp), the stop
// request that Ctrl-C sends, and the epoch log with its curves. Each loop keeps only its
// model, data and loss.
//
//   const tools::StopOnSignal stop;              // SIGINT/SIGTERM now ask the loop to stop
//   ... in the loop: if (tools::stop_requested()) { save a checkpoint; return; }
//   tools::write_epoch_log(run, columns, rows, panels);   // RUN/loss.csv + RUN/loss.png
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace circumplex::tools {

/// True once SIGINT or SIGTERM arrived while a StopOnSignal lived: the training loop saves a
/// checkpoint at its next step and returns.
bool stop_requested();

/// While alive, SIGINT and SIGTERM set stop_requested() instead of killing the process; the
/// default handlers come back when it goes out of scope.
class StopOnSignal {
 public:
  StopOnSignal();
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;
};

/// One chart of the epoch log: the named columns as lines against the epoch.
struct CurvePanel {
  std::string title, y_label;
  std::vector<std::string> columns;  ///< names in the log's columns; the legend uses them too
  bool log_y = false;                ///< a logarithmic y axis (losses)
};

/// Writes DIR/loss.csv (a header "epoch,<columns…>", then one row per epoch; NaN stays "nan")
/// and DIR/loss.png (the panels stacked), both atomically. rows[i][0] is the epoch.
void write_epoch_log(const std::filesystem::path& dir, const std::vector<std::string>& columns,
                     const std::vector<std::vector<double>>& rows, const std::vector<CurvePanel>& panels);

}  // namespace circumplex::tools
