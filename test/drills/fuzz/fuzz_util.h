// Shared by the libFuzzer targets: how a target treats the exceptions of the code under
// test. ramsafe::Error is the expected answer to bad input; Errc::kInternal says "a bug"
// (core/error.h), so it crashes like any other exception does (std::terminate).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace ramsafe::fuzz {

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz target: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// Runs f; returns true if it returned, false if it threw ramsafe::Error (not kInternal).
template <typename F>
bool expect_error_or_success(F&& f) {
  try {
    f();
    return true;
  } catch (const Error& e) {
    if (e.code() == Errc::kInternal) fail(std::string("Error(kInternal): ") + e.what());
    return false;
  }
}

}  // namespace ramsafe::fuzz
