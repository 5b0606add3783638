// tests/torch_doctest.hpp — include first in tests that use LibTorch.
//
// LibTorch brings glog, whose CHECK/CHECK_EQ/... macros abort the process; doctest's macros
// of the same names must win in tests, so glog's are removed before doctest defines its own.
#pragma once

#include <torch/torch.h>

#undef CHECK
#undef CHECK_EQ
#undef CHECK_NE
#undef CHECK_LT
#undef CHECK_LE
#undef CHECK_GT
#undef CHECK_GE
#include <doctest/doctest.h>
