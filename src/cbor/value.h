#pragma once
// eml::cbor::Value: one CBOR data item (RFC 8949 section 2), built by callers for Encode() or
// produced by Decode(). Values are plain copyable data; no view into input bytes is kept.
//
// Contract:
//  - Maps keep their entries in the order given (Decode gives input order). Encode() sorts them.
//  - operator== compares data-model values: the same type and content; maps compare as sets of
//    entries (order does not matter); every NaN equals every NaN (Encode writes one NaN);
//    0.0 and -0.0 differ. Two values are equal iff Encode() gives the same bytes for both.
//  - Typed accessors (AsUint, AsBytes, ...) return kCborTypeMismatch when the type differs;
//    AsInt64 also returns kIntegerOverflow outside int64_t. array_items(), map_entries(),
//    tag_number(), tag_content(), negative_arg() and simple_value() EML_CHECK the type: call them
//    after checking type() (or an is_...() predicate).
//  - Text() takes UTF-8 as given (the caller's invariant); Encode writes it unchanged.
//  - Simple(v) requires v < 20 or v >= 32 (20-23 are false/true/null/undefined; 24-31 are not
//    valid simple values): EML_CHECK.
// Thread safety: const methods may be called concurrently.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/check.h"
#include "common/result.h"

namespace eml::cbor {

class Value {
 public:
  enum class Type {
    kUnsigned,   // major type 0
    kNegative,   // major type 1: the integer -1 - negative_arg()
    kBytes,      // major type 2
    kText,       // major type 3
    kArray,      // major type 4
    kMap,        // major type 5
    kTag,        // major type 6
    kBool,       // simple 20 / 21
    kNull,       // simple 22
    kUndefined,  // simple 23
    kSimple,     // other simple values (0-19, 32-255)
    kFloat,      // half, single or double; held as double
  };

  // A default Value is null.
  Value() = default;

  static Value Uint(uint64_t v);
  // Int gives kUnsigned for v >= 0 and kNegative otherwise.
  static Value Int(int64_t v);
  // Negative(arg) is the integer -1 - arg (so Negative(UINT64_MAX) is -2^64).
  static Value Negative(uint64_t encoded_arg);
  static Value Bytes(std::vector<uint8_t> b);
  static Value Bytes(std::span<const uint8_t> b);
  static Value Text(std::string s);
  static Value Array(std::vector<Value> items);
  static Value Map(std::vector<std::pair<Value, Value>> entries);
  static Value Tag(uint64_t tag, Value inner);
  static Value Bool(bool b);
  static Value Null();
  static Value Undefined();
  static Value Simple(uint8_t v);
  static Value Float(double d);

  Type type() const { return type_; }
  bool is_uint() const { return type_ == Type::kUnsigned; }
  bool is_negative() const { return type_ == Type::kNegative; }
  // is_integer: kUnsigned or kNegative.
  bool is_integer() const { return is_uint() || is_negative(); }
  bool is_bytes() const { return type_ == Type::kBytes; }
  bool is_text() const { return type_ == Type::kText; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_map() const { return type_ == Type::kMap; }
  bool is_tag() const { return type_ == Type::kTag; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_undefined() const { return type_ == Type::kUndefined; }
  bool is_simple() const { return type_ == Type::kSimple; }
  bool is_float() const { return type_ == Type::kFloat; }

  // AsUint: the value of a kUnsigned item; kCborTypeMismatch otherwise.
  Result<uint64_t> AsUint() const;
  // AsInt64: the value of a kUnsigned/kNegative item; kCborTypeMismatch for other types,
  // kIntegerOverflow when it does not fit int64_t.
  Result<int64_t> AsInt64() const;
  // AsBytes/AsText: views valid while this Value lives and is not modified.
  Result<std::span<const uint8_t>> AsBytes() const EML_LIFETIME_BOUND;
  Result<std::string_view> AsText() const EML_LIFETIME_BOUND;
  Result<bool> AsBool() const;
  Result<double> AsFloat() const;

  const std::vector<Value>& array_items() const EML_LIFETIME_BOUND;
  const std::vector<std::pair<Value, Value>>& map_entries() const EML_LIFETIME_BOUND;
  uint64_t tag_number() const;
  const Value& tag_content() const EML_LIFETIME_BOUND;
  uint64_t negative_arg() const;
  uint8_t simple_value() const;

  // MapFind returns the value stored under `key` (compared with operator==), or nullptr when
  // absent. EML_CHECKs that this is a map. The pointer lives as long as this Value.
  const Value* MapFind(const Value& key) const EML_LIFETIME_BOUND;
  const Value* MapFind(int64_t key) const EML_LIFETIME_BOUND;
  const Value* MapFind(std::string_view key) const EML_LIFETIME_BOUND;

  friend bool operator==(const Value& a, const Value& b);

 private:
  Type type_ = Type::kNull;
  uint64_t uint_ = 0;  // kUnsigned value, kNegative arg, kTag number, kBool, kSimple value
  double float_ = 0;
  std::vector<uint8_t> bytes_;
  std::string text_;
  std::vector<Value> items_;  // kArray items; kTag: exactly one item, the tag content
  std::vector<std::pair<Value, Value>> entries_;
};

}  // namespace eml::cbor
