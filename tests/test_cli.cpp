// The circumplex CLI: help, exit codes, the atlas pictures and expr output.
#include <doctest/doctest.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <string>

#include "test_support.hpp"

namespace fs = std::filesystem;

TEST_CASE("help lists the verbs - unknown verbs and options are usage errors (exit 2)") {
  const CliResult help = run_cli("--help");
  CHECK(help.code == 0);
  CHECK(help.out.find("atlas") != std::string::npos);
  CHECK(help.out.find("expr") != std::string::npos);
  CHECK(run_cli("").code == 2);
  const CliResult unknown = run_cli("frobnicate");
  CHECK(unknown.code == 2);
  CHECK(unknown.out.find("frobnicate") != std::string::npos);
  for (const char* verb : {"atlas", "expr"}) {
    CAPTURE(verb);
    const CliResult h = run_cli(std::string(verb) + " --help");
    CHECK(h.code == 0);
    CHECK(h.out.find("Usage: circumplex") != std::string::npos);
    const CliResult bad = run_cli(std::string(verb) + " --bogus");
    CHECK(bad.code == 2);
    CHECK(bad.out.find("--bogus") != std::string::npos);
  }
}

TEST_CASE("atlas prints the table and writes the 2D and 3D pictures") {
  const fs::path dir = fresh_dir("atlas");
  const CliResult r = run_cli("atlas --out " + dir.string());
  CHECK(r.code == 0);
  CHECK(r.out.find("happily-sad") != std::string::npos);
  CHECK(r.out.find("21 emotions") != std::string::npos);
  for (const char* name : {"atlas_2d.png", "atlas_3d.png"}) {
    const cv::Mat img = cv::imread((dir / name).string());
    REQUIRE_FALSE(img.empty());
    CHECK(img.cols >= 800);
    cv::Scalar mean, stddev;
    cv::meanStdDev(img, mean, stddev);
    CHECK(stddev[0] > 10.0);  // not blank
  }
  CHECK_FALSE(fs::exists(dir / ".atlas_2d.partial.png"));
  const CliResult bad = run_cli("atlas --atlas /nonexistent.json --no-images");
  CHECK(bad.code == 1);
  CHECK(bad.out.find("/nonexistent.json") != std::string::npos);
}

TEST_CASE("expr prints the nearest emotion - AUs and rig weights - bad input is named") {
  const CliResult r = run_cli("expr --affect 0.81,0.51");
  CHECK(r.code == 0);
  CHECK(r.out.find("nearest   happy") != std::string::npos);
  CHECK(r.out.find("mouthSmileLeft") != std::string::npos);
  const CliResult j = run_cli("expr --emotion Fear --intensity 0.8 --space 3d --json");
  CHECK(j.code == 0);
  CHECK(j.out.find("\"nearest\": \"fearful\"") != std::string::npos);
  CHECK(j.out.find("\"eyeWideLeft\"") != std::string::npos);
  CHECK(j.out.find("\"space\": \"3d\"") != std::string::npos);
  const CliResult nan = run_cli("expr --affect nan,0");
  CHECK(nan.code == 2);
  CHECK(nan.out.find("--affect") != std::string::npos);
  const CliResult range = run_cli("expr --affect 2,0");
  CHECK(range.code == 2);
  const CliResult name = run_cli("expr --emotion hapy");
  CHECK(name.code == 2);
  CHECK(name.out.find("happy") != std::string::npos);
  CHECK(run_cli("expr").code == 2);
  CHECK(run_cli("expr --affect 0,0 --emotion sad").code == 2);
  CHECK(run_cli("expr --emotion sad --intensity 3").code == 2);
}
