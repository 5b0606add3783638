// The expression model's four properties (zero at neutral, continuous, prototype at r = 1 on
// an anchor, monotone along rays) over many random points, plus the rig tables.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"
#include "circumplex/expression.hpp"

using namespace circumplex;

namespace {
const ExpressionModel& model() { return ExpressionModel::builtin(); }

AffectPoint random_direction(std::mt19937& rng, Space space) {
  std::normal_distribution<double> n(0, 1);
  while (true) {
    AffectPoint p{n(rng), n(rng), space == Space::Ball ? n(rng) : 0.0};
    if (radius(p, space) > 1e-3) return direction(p, space);
  }
}

float max_abs_diff(const AuVector& x, const AuVector& y) {
  float m = 0;
  for (std::size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}
}  // namespace

TEST_CASE("the AU set is OpenFace's 17 with eye closure - in order") {
  const std::array<int, 17> want = {1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 43};
  CHECK(au_numbers() == want);
  CHECK(au_index("AU12") == 8);
  CHECK(au_index("au43") == 16);
  CHECK(au_index("26") == 15);
  CHECK(au_index("AU3") == -1);
  CHECK(au_index("AUx") == -1);
  CHECK(std::string(au_key(8)) == "AU12");
  CHECK(std::string(arkit_names()[0]) == "eyeBlinkLeft");
  CHECK(std::string(arkit_names()[51]) == "tongueOut");
  CHECK(std::string(vrm_names()[17]) == "neutral");
}

TEST_CASE("zero at neutral - and vanishing towards it") {
  for (Space s : {Space::Plane, Space::Ball}) {
    const AuVector zero = model().action_units({0, 0, 0}, s);
    for (float x : zero) CHECK(x == 0.0f);
    std::mt19937 rng(11);
    for (int i = 0; i < 500; ++i) {
      const AffectPoint d = random_direction(rng, s);
      const AuVector near = model().action_units(1e-4 * d, s);
      for (float x : near) CHECK(x <= 1.0001e-4f);
    }
  }
  const ArkitVector ark = model().arkit(AuVector{});
  for (float x : ark) CHECK(x == 0.0f);
  const VrmVector vrm = model().vrm(AuVector{});
  CHECK(vrm[17] == 1.0f);  // neutral preset fully on at neutral
  for (int i = 0; i < 17; ++i) CHECK(vrm[static_cast<std::size_t>(i)] == 0.0f);
}

TEST_CASE("the prototype is reproduced exactly at r = 1 on every anchor direction") {
  for (const ExpressionAnchor& a : model().anchors()) {
    CAPTURE(a.name);
    CHECK(max_abs_diff(model().action_units(a.ball, Space::Ball), a.prototype) < 1e-5f);
    if (radius(a.plane, Space::Plane) > 0.5) {
      CHECK(max_abs_diff(model().action_units(a.plane, Space::Plane), a.prototype) < 1e-5f);
    }
  }
  // Every basic emotion of the atlas is an anchor; spot-check FACS prototypes.
  for (const char* name : {"happy", "sad", "surprised", "fearful", "disgusted", "angry", "contempt"}) {
    CHECK(model().anchor(name) != nullptr);
  }
  const Atlas& atlas = Atlas::builtin();
  const AuVector happy = model().action_units(direction(atlas.find("happy").plane, Space::Plane), Space::Plane);
  CHECK(happy[static_cast<std::size_t>(au_index("AU12"))] == doctest::Approx(1.0f));
  CHECK(happy[static_cast<std::size_t>(au_index("AU6"))] > 0.5f);
  const AuVector surprise = model().action_units(direction(atlas.find("surprised").ball), Space::Ball);
  for (const char* au : {"AU1", "AU2", "AU5", "AU26"}) CHECK(surprise[static_cast<std::size_t>(au_index(au))] == doctest::Approx(1.0f));
}

TEST_CASE("monotone along rays: every AU is non-decreasing with intensity") {
  std::mt19937 rng(5);
  for (Space s : {Space::Plane, Space::Ball}) {
    for (int i = 0; i < 400; ++i) {
      const AffectPoint d = random_direction(rng, s);
      AuVector prev = model().action_units({0, 0, 0}, s);
      for (int k = 1; k <= 50; ++k) {
        const AuVector cur = model().action_units((k / 50.0) * d, s);
        for (std::size_t j = 0; j < cur.size(); ++j) CHECK(cur[j] >= prev[j] - 1e-6f);
        prev = cur;
      }
    }
  }
}

TEST_CASE("continuous: small moves make small changes everywhere - including across sectors") {
  // Walk many random great circles in fine steps; a seam, gap or overlap in the
  // interpolation would show as a jump far larger than the step allows.
  std::mt19937 rng(3);
  for (Space s : {Space::Plane, Space::Ball}) {
    float worst = 0;
    for (int c = 0; c < (s == Space::Ball ? 200 : 20); ++c) {
      const AffectPoint u = random_direction(rng, s);
      AffectPoint w = random_direction(rng, s);
      if (s == Space::Plane) w = AffectPoint{-u.a, u.v, 0};
      w = direction(w - dot(w, u) * u);
      const double step = 2 * 3.14159265358979 / 4000;
      AuVector prev = model().action_units(u, s);
      for (int k = 1; k <= 4000; ++k) {
        const double t = k * step;
        const AuVector cur = model().action_units(std::cos(t) * u + std::sin(t) * w, s);
        worst = std::max(worst, max_abs_diff(cur, prev));
        prev = cur;
      }
    }
    CAPTURE(space_name(s));
    // The steepest sector (contempt to angry, 4 degrees apart) changes AUs by at most
    // about 1 / 0.07 rad; the step is 0.0016 rad.
    CHECK(worst < 0.05f);
  }
  CHECK(model().covered_solid_angle() == doctest::Approx(4 * 3.14159265358979).epsilon(1e-9));
  CHECK(model().triangle_count() >= 20);
}

TEST_CASE("outputs stay in 0..1 - the plane ignores z - far points are clamped") {
  std::mt19937 rng(9);
  std::uniform_real_distribution<double> u(-1.5, 1.5);
  for (int i = 0; i < 3000; ++i) {
    const AffectPoint p{u(rng), u(rng), u(rng)};
    for (Space s : {Space::Plane, Space::Ball}) {
      const AuVector aus = model().action_units(p, s);
      for (float x : aus) CHECK((x >= 0.0f && x <= 1.0f));
      for (float x : model().arkit(aus)) CHECK((x >= 0.0f && x <= 1.0f));
      for (float x : model().vrm(aus)) CHECK((x >= 0.0f && x <= 1.0f));
    }
    CHECK(max_abs_diff(model().action_units(p, Space::Plane), model().action_units({p.v, p.a, 0.0}, Space::Plane)) == 0.0f);
  }
}

TEST_CASE("rig tables follow the usual AU to ARKit correspondence") {
  AuVector aus{};
  aus[static_cast<std::size_t>(au_index("AU12"))] = 0.7f;
  aus[static_cast<std::size_t>(au_index("AU26"))] = 0.4f;
  aus[static_cast<std::size_t>(au_index("AU43"))] = 0.9f;
  const ArkitVector ark = model().arkit(aus);
  auto w = [&](const char* name) {
    for (int i = 0; i < kArkitCount; ++i) {
      if (std::string(arkit_names()[static_cast<std::size_t>(i)]) == name) return ark[static_cast<std::size_t>(i)];
    }
    FAIL("no such ARKit name");
    return -1.0f;
  };
  CHECK(w("mouthSmileLeft") == doctest::Approx(0.7f));
  CHECK(w("mouthSmileRight") == doctest::Approx(0.7f));
  CHECK(w("jawOpen") == doctest::Approx(0.4f));
  CHECK(w("eyeBlinkLeft") == doctest::Approx(0.9f));
  CHECK(w("browInnerUp") == 0.0f);
  CHECK(w("tongueOut") == 0.0f);
  const VrmVector vrm = model().vrm(aus);
  CHECK(vrm[0] > 0.4f);   // happy
  CHECK(vrm[10] == doctest::Approx(0.9f));  // blink
}

TEST_CASE("NaN and infinity are rejected") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(model().action_units({nan, 0, 0}, Space::Plane), Error);
  CHECK_THROWS_AS(model().action_units({0, 0, std::numeric_limits<double>::infinity()}, Space::Ball), Error);
  AuVector bad{};
  bad[3] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(model().arkit(bad), Error);
  CHECK_THROWS_AS(model().vrm(bad), Error);
}

TEST_CASE("a malformed expression.json is refused with a message naming the problem") {
  const std::string good(embedded_asset("expression.json"));
  const Atlas& atlas = Atlas::builtin();
  CHECK(ExpressionModel::parse(good, "good", atlas).anchors().size() == model().anchors().size());
  auto refused = [&](const std::string& text, const std::string& expect) {
    CAPTURE(expect);
    CHECK_THROWS_WITH_AS(ExpressionModel::parse(text, "expr.json", atlas), doctest::Contains(expect.c_str()), Error);
  };
  refused("{", "malformed JSON");
  refused(replace(good, "\"AU12\": 1.0", "\"AU13\": 1.0"), "AU13");
  refused(replace(good, "\"AU12\": 1.0", "\"AU12\": 1.5"), "[0, 1]");
  refused(replace(good, "\"name\": \"happy\"", "\"name\": \"gleeful\""), "neither an atlas emotion");
  refused(replace(good, "\"ball\": [0, 0, 1]", "\"ball\": [0, 0, 2]"), "unit vector");
  refused(replace(good, "\"jawOpen\"", "\"jawOpened\""), "jawOpened");
  refused(replace(good, "\"version\": 1", "\"version\": 9"), "version");
  // Without the -z pole the anchors no longer surround the origin in 3D.
  const std::string no_pole = replace(good, "\"ball\": [0, 0, -1]", "\"ball\": [0, 0, 1]");
  refused(no_pole, "");
}
