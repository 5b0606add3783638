#include "harness.hpp"

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <opencv2/core.hpp>

#include "circumplex/error.hpp"
#include "circumplex/files.hpp"
#include "plot/chart.hpp"
#include "plot/plot.hpp"

namespace circumplex::tools {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) { g_stop = true; }

const cv::Scalar kColours[] = {{200, 90, 30}, {40, 40, 200}, {60, 160, 60}, {150, 60, 150}, {30, 150, 200}, {90, 90, 90}};

}  // namespace

bool stop_requested() { return g_stop.load(); }

StopOnSignal::StopOnSignal() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

StopOnSignal::~StopOnSignal() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

void write_epoch_log(const std::filesystem::path& dir, const std::vector<std::string>& columns,
                     const std::vector<std::vector<double>>& rows, const std::vector<CurvePanel>& panels) {
  std::string csv = "epoch";
  for (const std::string& c : columns) csv += "," + c;
  csv += "\n";
  for (const auto& row : rows) {
    if (row.size() != columns.size() + 1) throw Error(ErrorKind::Internal, "epoch log: a row has " + std::to_string(row.size()) + " values for " + std::to_string(columns.size() + 1) + " columns");
    char cell[64];
    std::snprintf(cell, sizeof cell, "%d", static_cast<int>(row[0]));
    csv += cell;
    for (std::size_t i = 1; i < row.size(); ++i) {
      std::snprintf(cell, sizeof cell, ",%.9g", row[i]);
      csv += cell;
    }
    csv += "\n";
  }
  write_file_atomic((dir / "loss.csv").string(), csv);

  std::vector<cv::Mat> charts;
  for (const CurvePanel& panel : panels) {
    std::vector<plot::Series> series;
    for (const std::string& name : panel.columns) {
      std::size_t k = 0;
      while (k < columns.size() && columns[k] != name) ++k;
      if (k == columns.size()) throw Error(ErrorKind::Internal, "epoch log: no column '" + name + "' for the chart '" + panel.title + "'");
      plot::Series s{name, {}, {}, kColours[series.size() % 6]};
      for (const auto& row : rows) {
        if (!std::isfinite(row[k + 1])) continue;
        s.x.push_back(row[0]);
        s.y.push_back(row[k + 1]);
      }
      series.push_back(std::move(s));
    }
    charts.push_back(plot::line_chart(panel.title, "epoch", panel.y_label, series, panel.log_y));
  }
  if (charts.empty()) return;
  cv::Mat all;
  cv::vconcat(charts, all);
  plot::write_image_atomic((dir / "loss.png").string(), all);
}

}  // namespace circumplex::tools
