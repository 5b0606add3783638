"""Shared by the Python test scripts (test_plugin_python, test_plugin_vmc_python,
test_weights_python): loading the bindings against the library under test, and checks that
are counted rather than stopping at the first failure."""
import os
import sys


def bindings(lib, folder):
    """Points the ctypes bindings in `folder` at `lib` and imports them."""
    os.environ["CIRCUMPLEX_LIB"] = lib
    sys.path.insert(0, folder)
    import circumplex
    return circumplex


class Checks:
    """expect(cond, what) records a failure and goes on; finish(ok_text) prints the result and
    returns the exit code (0: all held, 1: some failed)."""

    def __init__(self):
        self.failures = []

    def expect(self, cond, what):
        if not cond:
            self.failures.append(what)
            print("FAILED:", what, file=sys.stderr)

    def finish(self, ok_text):
        if self.failures:
            print("%d check(s) failed" % len(self.failures), file=sys.stderr)
            return 1
        print(ok_text)
        return 0
