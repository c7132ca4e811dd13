// libFuzzer target for the frame reader: any bytes must give whole frames or a FrameError,
// never a crash, a hang, or an allocation sized by an unchecked length.
// Build and run: make fuzz   (clang++ -fsanitize=fuzzer,address; seeds in tests/fuzz/corpus)
#include <cstddef>
#include <cstdint>

#include "framing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sockserv;
  // Small reads too: a step taken from the first byte makes short reads part of the input.
  size_t step = size > 0 ? 1 + data[0] % 7 : 1;
  MemorySource source(std::as_bytes(std::span(data, size)), step);
  try {
    while (std::optional<FrameHeader> frame =
               read_frame_header(source, {.max_header = 64 * 1024, .max_body = 1 << 20})) {
      uint64_t seen = 0;
      read_body(source, frame->body_size,
                [&](std::span<const std::byte> chunk) { seen += chunk.size(); });
      if (seen != frame->body_size) __builtin_trap();
    }
  } catch (const FrameError&) {
    // A broken frame is an expected outcome.
  }
  return 0;
}
