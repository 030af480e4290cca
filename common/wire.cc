#include "common/wire.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace factlog::wire {

absl::StatusOr<bool> HasWireField(absl::string_view bytes, uint32_t number) {
  FieldReader reader(bytes);
  Field field;
  while (reader.NextTag(&field)) {
    if (field.number == number) return true;
    if (!reader.ReadValue(&field)) break;
  }
  if (!reader.ok()) return absl::DataLossError("stored message does not parse");
  return false;
}

void AppendWireField(uint32_t number, absl::string_view bytes,
                     std::string* message) {
  message->reserve(message->size() +
                   LengthDelimitedFieldSize(number, bytes.size()));
  AppendLengthDelimitedHeader(number, bytes.size(), message);
  message->append(bytes.data(), bytes.size());
}

}  // namespace factlog::wire
