// The atlas: loading and validation, naming, aliases, suggestions, the compound rule and
// C2A2's happily-sad collision.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "circumplex/assets.hpp"
#include "circumplex/atlas.hpp"
#include "circumplex/error.hpp"

using namespace circumplex;

namespace {
std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}
std::string atlas_text() { return std::string(embedded_asset("atlas.json")); }
}  // namespace

TEST_CASE("the built-in atlas holds 7 basics - contempt and C2A2's 13 compounds") {
  const Atlas& atlas = Atlas::builtin();
  int basic = 0, compound = 0, c2a2 = 0;
  for (const Emotion& e : atlas.emotions()) {
    (e.kind == EmotionKind::Basic ? basic : compound)++;
    c2a2 += e.in_c2a2 ? 1 : 0;
    CHECK_FALSE(e.source.empty());
  }
  CHECK(basic == 8);
  CHECK(compound == 13);
  CHECK(c2a2 == 20);  // C2A2's 20 classes; contempt is the extra one
  CHECK_FALSE(atlas.find("contempt").in_c2a2);
  // z is the negative of PAD dominance.
  CHECK(atlas.find("happy").ball.z == doctest::Approx(-0.46));
  CHECK(atlas.find("fearful").ball.z == doctest::Approx(0.43));
}

TEST_CASE("file on disk equals the embedded copy") {
  const std::string disk = read_text_file(std::string(CIRCUMPLEX_SOURCE_DIR) + "/assets/atlas.json");
  CHECK(disk == atlas_text());
  CHECK(Atlas::load(std::string(CIRCUMPLEX_SOURCE_DIR) + "/assets/atlas.json").emotions().size() == 21);
}

TEST_CASE("every atlas point names itself - in 2D and in 3D") {
  const Atlas& atlas = Atlas::builtin();
  for (const Emotion& e : atlas.emotions()) {
    CAPTURE(e.name);
    CHECK(atlas.nearest(e.plane, Space::Plane).name == e.name);
    CHECK(atlas.nearest(e.ball, Space::Ball).name == e.name);
  }
}

TEST_CASE("compound points follow the rule: direction of the sum - mean radius") {
  const Atlas& atlas = Atlas::builtin();
  for (const Emotion& e : atlas.emotions()) {
    if (e.kind != EmotionKind::Compound) continue;
    CAPTURE(e.name);
    const Emotion& x = atlas.find(e.first);
    const Emotion& y = atlas.find(e.second);
    for (Space s : {Space::Plane, Space::Ball}) {
      const AffectPoint want = compound_point(x.point(s), y.point(s), s);
      CHECK(distance(want, e.point(s), s) < 1e-3);
      CHECK(radius(e.point(s), s) == doctest::Approx((radius(x.point(s), s) + radius(y.point(s), s)) / 2).epsilon(1e-3));
    }
  }
}

TEST_CASE("C2A2's happily-sad collision with neutral - checked both ways") {
  // C2A2 says happily-sad collides with neutral in 2D but not in 3D. With the design's
  // compound rule (direction of the sum at the mean radius) it collides with neither:
  // it sits at r = 0.82 in both spaces, and in 2D its nearest basic is surprised.
  const Atlas& atlas = Atlas::builtin();
  const Emotion& hs = atlas.find("happily-sad");
  const AffectPoint neutral{};
  CHECK(distance(hs.plane, neutral, Space::Plane) > 0.8);
  CHECK(distance(hs.ball, neutral, Space::Ball) > 0.8);
  CHECK(atlas.nearest(hs.plane, Space::Plane, false).name == "surprised");
  CHECK(distance(hs.plane, atlas.find("surprised").plane, Space::Plane) < 0.11);
  // The collision C2A2 describes appears when happy and sad are averaged (their midpoint):
  // then 2D and 3D both put it nearest to neutral, and 3D separates it only a little more.
  const Emotion& happy = atlas.find("happy");
  const Emotion& sad = atlas.find("sad");
  const AffectPoint mid2 = 0.5 * (happy.plane + sad.plane), mid3 = 0.5 * (happy.ball + sad.ball);
  CHECK(atlas.nearest(mid2, Space::Plane, false).name == "neutral");
  CHECK(atlas.nearest(mid3, Space::Ball, false).name == "neutral");
  CHECK(radius(mid2, Space::Plane) == doctest::Approx(0.15).epsilon(0.01));
  CHECK(radius(mid3, Space::Ball) > radius(mid2, Space::Plane));
}

TEST_CASE("name lookup is case-insensitive and takes the common forms") {
  const Atlas& atlas = Atlas::builtin();
  CHECK(atlas.find("Happy").name == "happy");
  CHECK(atlas.find("happiness").name == "happy");
  CHECK(atlas.find("JOY").name == "happy");
  CHECK(atlas.find("fear").name == "fearful");
  CHECK(atlas.find("Fearful").name == "fearful");
  CHECK(atlas.find("anger").name == "angry");
  CHECK(atlas.find("disgust").name == "disgusted");
  CHECK(atlas.find("surprise").name == "surprised");
  CHECK(atlas.find("sadness").name == "sad");
  CHECK(atlas.find(" neutral ").name == "neutral");
  CHECK(atlas.find("Happily Sad").name == "happily-sad");
  CHECK(atlas.find("happily_sad").name == "happily-sad");
  CHECK(atlas.find("sad-happy").name == "happily-sad");
  CHECK(atlas.find("sadly-happy").name == "happily-sad");
  CHECK(atlas.find("anger disgust").name == "angrily-disgusted");
  CHECK(atlas.try_find("") == nullptr);
  CHECK(atlas.try_find("happy-happy") == nullptr);
}

TEST_CASE("an unknown name is an error that lists the closest valid names") {
  const Atlas& atlas = Atlas::builtin();
  CHECK_THROWS_WITH_AS(atlas.find("hapy"), doctest::Contains("happy"), Error);
  CHECK_THROWS_WITH_AS(atlas.find("feerful"), doctest::Contains("fearful"), Error);
  CHECK_THROWS_WITH_AS(atlas.find("xyzzy"), doctest::Contains("closest valid names"), Error);
  CHECK(atlas.suggest("sadd").front() == "sad");
}

TEST_CASE("at_intensity puts an emotion's direction at a given radius") {
  const Atlas& atlas = Atlas::builtin();
  const AffectPoint p = atlas.at_intensity(atlas.find("angry"), 0.5, Space::Plane);
  CHECK(radius(p, Space::Plane) == doctest::Approx(0.5));
  CHECK(to_polar(p).theta == doctest::Approx(to_polar(atlas.find("angry").plane).theta));
  CHECK(radius(atlas.at_intensity(atlas.find("neutral"), 1.0, Space::Ball)) == 0.0);
  CHECK_THROWS_AS(atlas.at_intensity(atlas.find("sad"), 1.5, Space::Plane), Error);
  CHECK_THROWS_AS(atlas.at_intensity(atlas.find("sad"), std::nan(""), Space::Plane), Error);
  CHECK_THROWS_AS(atlas.nearest({std::nan(""), 0, 0}, Space::Plane), Error);
}

TEST_CASE("a malformed atlas.json is refused with a message naming the problem") {
  const std::string good = atlas_text();
  CHECK(Atlas::parse(good, "good").emotions().size() == 21);
  auto refused = [](const std::string& text, const std::string& expect) {
    CAPTURE(expect);
    CHECK_THROWS_WITH_AS(Atlas::parse(text, "fixture.json"), doctest::Contains(expect.c_str()), Error);
    CHECK_THROWS_WITH_AS(Atlas::parse(text, "fixture.json"), doctest::Contains("fixture.json"), Error);
  };
  refused("{ not json", "malformed JSON");
  refused("[]", "top level");
  refused(replace(good, "\"circumplex-atlas\"", "\"other\""), "format");
  refused(replace(good, "\"version\": 1", "\"version\": 2"), "version");
  refused(replace(good, "\"plane\": [0.81, 0.51]", "\"plane\": [0.81]"), "'plane'");
  refused(replace(good, "\"plane\": [0.81, 0.51]", "\"plane\": [\"x\", 0.51]"), "non-number");
  refused(replace(good, "\"plane\": [0.81, 0.51]", "\"plane\": [7.0, 0.51]"), "within [-1.25, 1.25]");
  refused(replace(good, "\"kind\": \"basic\"", "\"kind\": \"odd\""), "'kind'");
  refused(replace(good, "\"name\": \"sad\"", "\"name\": \"happy\""), "used twice");
  refused(replace(good, "\"joy\",", "\"sadness\","), "used twice");
  refused(replace(good, "\"source\": \"C2A2 compound", "\"sourcex\": \"C2A2 compound"), "'source'");
  refused(replace(good, "\"of\": [\"happy\", \"sad\"]", "\"of\": [\"happy\", \"bored\"]"), "'bored'");
  // Moving a compound off its rule is caught, with the expected point in the message.
  refused(replace(good, "0.4928", "0.3"), "compound rule");
  refused(replace(good, "\"name\": \"neutral\"", "\"name\": \"calm\""), "'neutral'");
}

// Found by tools/test.sh --fuzz (atlas_json): a number too large for a double made the JSON
// library throw an exception that was not a circumplex::Error, so the process aborted.
TEST_CASE("fuzz regression: an atlas with an overflowing number is refused as bad data") {
  const std::string path = std::string(CIRCUMPLEX_SOURCE_DIR) + "/tests/data/fuzz/atlas-number-overflow.json";
  CHECK_THROWS_WITH_AS(Atlas::load(path), doctest::Contains("atlas-number-overflow.json"), Error);
}

// Found by tools/test.sh --fuzz (atlas_json): "c2a2" holding an array instead of true/false made
// the JSON library throw a type error past the loader, and the process aborted.
TEST_CASE("fuzz regression: an atlas whose c2a2 flag is not a boolean is refused naming the entry") {
  const std::string path = std::string(CIRCUMPLEX_SOURCE_DIR) + "/tests/data/fuzz/atlas-c2a2-not-boolean.json";
  CHECK_THROWS_WITH_AS(Atlas::load(path), doctest::Contains("'c2a2' must be true or false"), Error);
  // And a "format" that is not a string is refused, not thrown past the loader.
  CHECK_THROWS_WITH_AS(Atlas::parse(R"({"format": 7, "version": 1, "emotions": []})", "fmt.json"), doctest::Contains("'format' must be"), Error);
}

