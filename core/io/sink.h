// The streaming pipeline is a chain of Sinks, in the spirit of pgBackRest's IoFilter:
// each stage transforms the bytes it is given and pushes the result to the next stage.
// Memory per stage is a fixed buffer, whatever the stream's length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace ramsafe {

class Sink {
 public:
  virtual ~Sink() = default;
  // Consumes size bytes. Throws Error on failure; a failed sink must not be used again.
  virtual void write(const uint8_t* data, size_t size) = 0;
  // Ends the stream: flushes anything buffered, then finishes the next stage.
  virtual void finish() = 0;
};

// Returns true when the caller wants the running operation to stop (SIGTERM in the
// worker, SIGINT in the companion, query cancel in a SQL function).
using CancelCheck = std::function<bool()>;

}  // namespace ramsafe
