// Paths: C2A2's circle walks stay on their circle in their plane; axis and between paths;
// the scripted CSV parser rejects each kind of bad row with its line number.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "circumplex/error.hpp"
#include "circumplex/paths.hpp"

using namespace circumplex;
constexpr double kPi = 3.14159265358979323846;

TEST_CASE("C2A2's four circle walks stay on their circle - in their plane") {
  struct Walk { double theta, phi, r; };
  const Walk walks[] = {{0, 0, 0.8}, {2.3, 3.761, 0.2}, {0.4901, 0.9801, 0.6}, {1.177, 5.974, 1.0}};
  for (const Walk& w : walks) {
    CAPTURE(w.theta);
    const CircleWalk walk(w.theta, w.phi, w.r, 4.0);
    const AffectPoint n = walk.normal();
    CHECK(n.v == doctest::Approx(std::sin(w.theta) * std::cos(w.phi)));
    CHECK(n.a == doctest::Approx(std::sin(w.theta) * std::sin(w.phi)));
    CHECK(n.z == doctest::Approx(std::cos(w.theta)));
    double swept = 0;
    AffectPoint prev = walk.at(0);
    for (int k = 1; k <= 400; ++k) {
      const AffectPoint p = walk.at(k * 4.0 / 400);
      CHECK(radius(p) == doctest::Approx(w.r).epsilon(1e-12));  // on the circle
      CHECK(std::fabs(dot(p, n)) < 1e-12);                      // in its plane
      // Counter-clockwise about n: each step turns positively.
      CHECK(dot(cross(prev, p), n) > 0);
      swept += std::acos(std::clamp(dot(prev, p) / (w.r * w.r), -1.0, 1.0));
      prev = p;
    }
    CHECK(swept == doctest::Approx(2 * kPi).epsilon(1e-9));   // one full turn per period
    CHECK(distance(walk.at(0), walk.at(4.0)) < 1e-12);        // periodic
  }
  // theta = 0 is the valence–arousal circle starting at +valence.
  const CircleWalk flat(0, 0, 0.8, 2.0);
  CHECK(flat.at(0).v == doctest::Approx(0.8));
  CHECK(flat.at(0.5).a == doctest::Approx(0.8));
  CHECK(flat.at(0.5).z == doctest::Approx(0.0));
}

TEST_CASE("circle walk arguments are validated") {
  CHECK_THROWS_AS(CircleWalk(0, 0, 0.0, 1), Error);
  CHECK_THROWS_AS(CircleWalk(0, 0, 1.2, 1), Error);
  CHECK_THROWS_AS(CircleWalk(std::nan(""), 0, 0.5, 1), Error);
  CHECK_THROWS_AS(CircleWalk(0, 0, 0.5, 0), Error);
  CHECK_THROWS_AS(CircleWalk(0, 0, 0.5, 1).at(std::numeric_limits<double>::infinity()), Error);
}

TEST_CASE("frame times: a periodic walk leaves out its repeated end - a line keeps it") {
  const CircleWalk walk(0, 0, 0.5, 2.0);
  CHECK(frame_times(walk, 30).size() == 60);
  const LinePath line({0, 0, 0}, {0.5, 0, 0}, 1.0);
  const auto t = frame_times(line, 10);
  CHECK(t.size() == 11);
  CHECK(t.back() == 1.0);
  const std::string csv = path_to_csv(line, 10);
  CHECK(csv.rfind("t,v,a,z\n", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 12);
  CHECK_THROWS_AS(frame_times(line, 0), Error);
}

TEST_CASE("an emotion's axis runs from neutral to the emotion at the given intensity") {
  const Atlas& atlas = Atlas::builtin();
  const auto path = emotion_axis(atlas, "anger", 0.9, 2.0, Space::Plane);
  CHECK(radius(path->at(0)) == 0.0);
  CHECK(radius(path->at(2.0)) == doctest::Approx(0.9));
  CHECK(radius(path->at(1.0)) == doctest::Approx(0.45));
  CHECK(to_polar(path->at(2.0)).theta == doctest::Approx(to_polar(atlas.find("angry").plane).theta));
  CHECK_THROWS_AS(emotion_axis(atlas, "rage!", 0.9, 2.0, Space::Plane), Error);
}

TEST_CASE("between two emotions: straight or along the sphere at constant radius") {
  const Atlas& atlas = Atlas::builtin();
  const auto arc = between_emotions(atlas, "happy", "fear", 0.8, BetweenStyle::Sphere, 1.0, Space::Ball);
  const auto line = between_emotions(atlas, "happy", "fear", 0.8, BetweenStyle::Straight, 1.0, Space::Ball);
  for (int k = 0; k <= 20; ++k) CHECK(radius(arc->at(k / 20.0)) == doctest::Approx(0.8));
  CHECK(radius(line->at(0.5)) < 0.8);  // the chord cuts inside
  CHECK(distance(arc->at(0), line->at(0)) < 1e-12);
  CHECK(distance(arc->at(1), line->at(1)) < 1e-12);
  CHECK(distance(arc->at(1), atlas.at_intensity(atlas.find("fearful"), 0.8, Space::Ball)) < 1e-9);
  // Antipodal points turn through +arousal, staying in the plane.
  const ArcPath opposite({0.5, 0, 0}, {-0.5, 0, 0}, 1.0);
  CHECK(opposite.at(0.5).a == doctest::Approx(0.5));
  CHECK(opposite.at(0.5).z == 0.0);
}

TEST_CASE("scripted CSV paths interpolate keyframes") {
  const ScriptedPath p = ScriptedPath::parse_csv("# a comment\nt,v,a\n0,0,0\n1,0.5,0\n\n3,0.5,0.5\n", "walk.csv");
  CHECK(p.keys().size() == 3);
  CHECK(p.duration() == 3.0);
  CHECK(p.at(0.5).v == doctest::Approx(0.25));
  CHECK(p.at(2.0).a == doctest::Approx(0.25));
  CHECK(p.at(10).a == 0.5);
  const ScriptedPath z = ScriptedPath::parse_csv("0,0,0,0\r\n1,0,0,0.5\r\n", "z.csv");
  CHECK(z.at(1).z == 0.5);
}

TEST_CASE("scripted CSV parser rejects each kind of bad row - naming the line") {
  auto rejects = [](const char* text, const char* line, const char* reason) {
    CAPTURE(text);
    CHECK_THROWS_WITH_AS(ScriptedPath::parse_csv(text, "walk.csv"), doctest::Contains(line), Error);
    CHECK_THROWS_WITH_AS(ScriptedPath::parse_csv(text, "walk.csv"), doctest::Contains(reason), Error);
  };
  rejects("t,v,a\n0,0,0\n1,nan,0\n", "walk.csv: line 3", "NaN");
  rejects("t,v,a\n0,0,0\n1,inf,0\n", "line 3", "NaN and infinities");
  rejects("0,0,0\n1,1.5,0\n", "line 2", "outside [-1, 1]");
  rejects("0,0,0\n1,0.9,0.9\n", "line 2", "outside the unit ball");
  rejects("0,0,0\n2,0.1,0\n1,0.2,0\n", "line 3", "does not increase");
  rejects("0,0,0\n0,0.1,0\n", "line 2", "does not increase");
  rejects("0,0,0\n1,0.1\n", "line 2", "columns");
  rejects("0,0,0\n1,0.1,0,0\n", "line 2", "columns");
  rejects("0,0,0\n1,abc,0\n", "line 2", "not a number");
  rejects("0,0,0\n1,0.5x,0\n", "line 2", "not a number");
  rejects("time,x,y\n0,0,0\n", "line 1", "header");
  rejects("# nothing\n", "walk.csv", "no keyframes");
  CHECK_THROWS_WITH_AS(ScriptedPath::load_csv("/nonexistent/walk.csv"), doctest::Contains("/nonexistent/walk.csv"), Error);
}
