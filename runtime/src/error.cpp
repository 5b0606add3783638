#include "circumplex/error.hpp"

#include <cmath>
#include <sstream>

namespace circumplex {

void require_finite(double x, const char* what) {
  if (!std::isfinite(x)) {
    std::ostringstream msg;
    msg << what << " must be a finite number, got " << x;
    throw Error(ErrorKind::InvalidArgument, msg.str());
  }
}

void require_range(double x, double lo, double hi, const char* what) {
  require_finite(x, what);
  if (x < lo || x > hi) {
    std::ostringstream msg;
    msg << what << " must be in [" << lo << ", " << hi << "], got " << x;
    throw Error(ErrorKind::InvalidArgument, msg.str());
  }
}

}  // namespace circumplex
