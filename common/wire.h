#ifndef FACTLOG_COMMON_WIRE_H_
#define FACTLOG_COMMON_WIRE_H_

#include <climits>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// The one place that reads and writes the protobuf wire format directly,
// for code that handles encoded messages without parsing them: a stored
// view sent as it is, a Subscribe response assembled from encoded events
// once for every subscriber, a varint inside a storage value, the bench's
// decoding of streamed events. Field numbers always come from the
// generated constants (v1::ClaimView::kOverdueAtFieldNumber), never typed
// by hand.
//
// The functions are plain and allocation-free except where they append to
// a string; they run per event and per subscriber, so the small ones are
// defined inline below. All are thread-compatible (no shared state).
namespace factlog::wire {

// The wire types factlog's messages use (groups, 3 and 4, never occur).
enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kFixed32 = 5,
};

// Most bytes a varint takes: 10 for 64 bits, 5 for a tag or a length
// (protobuf's generated parsers read those in at most 5).
inline constexpr int kMaxVarintBytes = 10;
inline constexpr int kMaxVarint32Bytes = 5;

// ---- Writing ----------------------------------------------------------------

// The tag of field `number` with wire type `type`.
constexpr uint32_t Tag(uint32_t number, WireType type) {
  return number << 3 | type;
}

// Bytes the varint encoding of `value` takes (1..10).
constexpr size_t VarintSize(uint64_t value) {
  size_t n = 1;
  for (; value >= 0x80; value >>= 7) ++n;
  return n;
}

// Encodes `value` as a varint at `p`, which has room for kMaxVarintBytes;
// returns the end of what it wrote.
inline char* EncodeVarint(uint64_t value, char* p) {
  for (; value >= 0x80; value >>= 7) *p++ = static_cast<char>(value | 0x80);
  *p++ = static_cast<char>(value);
  return p;
}

// Appends `value` as a varint.
inline void AppendVarint(uint64_t value, std::string* out) {
  char buf[kMaxVarintBytes];
  out->append(buf, EncodeVarint(value, buf) - buf);
}

// Appends the tag and length of length-delimited field `number` (a
// message, string or bytes field) whose value of `length` bytes the caller
// appends next. One append.
inline void AppendLengthDelimitedHeader(uint32_t number, size_t length,
                                        std::string* out) {
  char buf[2 * kMaxVarintBytes];
  char* end =
      EncodeVarint(length, EncodeVarint(Tag(number, kLengthDelimited), buf));
  out->append(buf, end - buf);
}

// Bytes of length-delimited field `number` holding `length` bytes: its
// tag, its length and the value.
constexpr size_t LengthDelimitedFieldSize(uint32_t number, size_t length) {
  return VarintSize(Tag(number, kLengthDelimited)) + VarintSize(length) +
         length;
}

// Appends enum (or other varint) field `number` holding `value`, or
// nothing when `value` is 0, as proto3 leaves such a field out. One append.
inline void AppendEnumField(uint32_t number, int value, std::string* out) {
  if (value == 0) return;
  char buf[2 * kMaxVarintBytes];
  char* end = EncodeVarint(static_cast<uint64_t>(value),
                           EncodeVarint(Tag(number, kVarint), buf));
  out->append(buf, end - buf);
}

// Bytes AppendEnumField appends.
constexpr size_t EnumFieldSize(uint32_t number, int value) {
  return value == 0 ? 0
                    : VarintSize(Tag(number, kVarint)) +
                          VarintSize(static_cast<uint64_t>(value));
}

// Appends to the encoded message `message` the length-delimited field
// `number` (a message, string or bytes field) holding `bytes`. Parsers take
// fields in any order, so this is the same message as one encoded with the
// field set, where the field is not repeated and `message` lacks it.
void AppendWireField(uint32_t number, absl::string_view bytes,
                     std::string* message);

// ---- Reading ----------------------------------------------------------------

// Reads the varint at `p` into `*value`: returns the byte after it, or null
// when it runs past `end` or over `max_bytes` bytes (kMaxVarintBytes, or
// kMaxVarint32Bytes for tags and lengths). Bits past the 64th are dropped.
inline const char* ReadVarint(const char* p, const char* end, int max_bytes,
                              uint64_t* value) {
  uint64_t v = 0;
  for (int i = 0; i < max_bytes && p < end; ++i) {
    const uint8_t byte = static_cast<uint8_t>(*p++);
    v |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if (byte < 0x80) {
      *value = v;
      return p;
    }
  }
  return nullptr;
}

// One field of an encoded message, as FieldReader reads it.
struct Field {
  uint32_t number = 0;
  WireType type = kVarint;
  uint64_t varint = 0;      // the value of a kVarint field
  absl::string_view bytes;  // the value of a kLengthDelimited field (into
                            // the reader's message); fixed ones are skipped
};

// Walks the top-level fields of one encoded message, in wire order, as
// protobuf's generated parsers frame them: a tag (at most 5 bytes, below
// 2^32, field number above 0), then a varint (at most 10 bytes), 8 or 4
// fixed bytes, or a length (at most 5 bytes, at most INT_MAX) and that many
// bytes. Groups and unknown wire types do not frame. Does not copy or own
// the message, which must outlive the reader and what it returns.
//
//   FieldReader reader(bytes);
//   Field field;
//   while (reader.Next(&field)) { ... }
//   if (!reader.ok()) { ... the bytes do not frame ... }
class FieldReader {
 public:
  explicit FieldReader(absl::string_view message)
      : p_(message.data()), end_(p_ + message.size()) {}

  // Reads the next field, tag and value, into `*field`. False at the end of
  // the message, or when the bytes do not frame (then ok() is false and the
  // reader stays at the end).
  bool Next(Field* field) { return NextTag(field) && ReadValue(field); }

  // The two halves of Next, for a caller that decides by the tag alone:
  // NextTag reads the next tag into field->number and field->type (false at
  // the end or when it does not frame); ReadValue then reads or skips the
  // value of that field (false when it does not frame). Call them in turn.
  bool NextTag(Field* field);
  bool ReadValue(Field* field);

  // False once the bytes did not frame.
  bool ok() const { return ok_; }

 private:
  bool Fail() {
    ok_ = false;
    p_ = end_;
    return false;
  }

  const char* p_;
  const char* end_;
  bool ok_ = true;
};

// Whether the encoded message `bytes` has top-level field `number`, read
// from the wire format without parsing the rest: true as soon as its tag
// is read. DATA_LOSS when the bytes do not frame as a message (FieldReader)
// before that tag. By hand rather than with protobuf's CodedInputStream:
// GetClaim runs this on every stored view it sends, and the generic reader
// took twice the instructions (1.4k against 0.6k per view in bench get).
absl::StatusOr<bool> HasWireField(absl::string_view bytes, uint32_t number);

// ---- Inline definitions -----------------------------------------------------

inline bool FieldReader::NextTag(Field* field) {
  if (p_ == end_) return false;
  uint64_t tag;
  p_ = ReadVarint(p_, end_, kMaxVarint32Bytes, &tag);
  if (p_ == nullptr || tag > UINT32_MAX || (tag >> 3) == 0) return Fail();
  field->number = static_cast<uint32_t>(tag >> 3);
  field->type = static_cast<WireType>(tag & 7);
  return true;
}

inline bool FieldReader::ReadValue(Field* field) {
  switch (field->type) {
    case kVarint:
      p_ = ReadVarint(p_, end_, kMaxVarintBytes, &field->varint);
      return p_ != nullptr || Fail();
    case kFixed64:
      if (end_ - p_ < 8) return Fail();
      p_ += 8;
      return true;
    case kLengthDelimited: {
      uint64_t length;
      p_ = ReadVarint(p_, end_, kMaxVarint32Bytes, &length);
      if (p_ == nullptr || length > INT_MAX ||
          length > static_cast<uint64_t>(end_ - p_)) {
        return Fail();
      }
      field->bytes = absl::string_view(p_, length);
      p_ += length;
      return true;
    }
    case kFixed32:
      if (end_ - p_ < 4) return Fail();
      p_ += 4;
      return true;
  }
  return Fail();  // groups (never in these messages) and invalid types
}

}  // namespace factlog::wire

#endif  // FACTLOG_COMMON_WIRE_H_
