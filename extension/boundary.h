// The C++/PostgreSQL boundary (after pg_duckdb's InvokeCPPFunc): C++ code runs inside
// run_cpp(), which never lets an exception out and leaves no C++ object alive; results
// cross as malloc'd C strings; ereport happens only afterwards, in C-style frames. Every
// text that crosses is printable (core/error.h): values and messages carry text from
// stores, which must not reach a client's terminal or the server log as control bytes or
// invalid UTF-8.
#pragma once

#include "extension/ramsafe_ext.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace ramsafe::ext {

using Rows = std::vector<std::vector<std::optional<std::string>>>;

// Rows as C strings (nullptr = SQL NULL), owned by malloc; plain data.
struct CTable {
  int rows;
  int cols;
  char** cells;  // rows * cols
};

struct CError {
  char message[kMessageLength];
  int sqlstate;
};

int sqlstate_for(Errc code);
void free_table(CTable* table);

template <typename Fn>
bool run_cpp(Fn&& fn, CTable* out, CError* error) noexcept {
  *out = CTable{0, 0, nullptr};
  try {
    Rows rows = fn();
    out->rows = static_cast<int>(rows.size());
    out->cols = rows.empty() ? 0 : static_cast<int>(rows[0].size());
    out->cells = static_cast<char**>(std::calloc(rows.size() * out->cols + 1, sizeof(char*)));
    if (out->cells == nullptr) throw std::bad_alloc();
    for (size_t r = 0; r < rows.size(); ++r)
      for (size_t c = 0; c < rows[r].size(); ++c)
        if (rows[r][c]) {
          char* copy = strdup(printable(*rows[r][c], true).c_str());
          if (copy == nullptr) throw std::bad_alloc();
          out->cells[r * out->cols + c] = copy;
        }
    return true;
  } catch (const Error& e) {
    strlcpy(error->message, e.what(), sizeof error->message);
    error->sqlstate = sqlstate_for(e.code());
  } catch (const std::bad_alloc&) {
    strlcpy(error->message, "out of memory", sizeof error->message);
    error->sqlstate = ERRCODE_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    strlcpy(error->message, printable(e.what(), true).c_str(), sizeof error->message);
    error->sqlstate = ERRCODE_INTERNAL_ERROR;
  }
  free_table(out);
  return false;
}

}  // namespace ramsafe::ext
