#include "cbor/value.h"

#include <cmath>
#include <limits>

namespace eml::cbor {

Value Value::Uint(uint64_t v) {
  Value out;
  out.type_ = Type::kUnsigned;
  out.uint_ = v;
  return out;
}

Value Value::Int(int64_t v) {
  if (v >= 0) {
    return Uint(static_cast<uint64_t>(v));
  }
  // -1 - v without overflow: v = -1 - arg  =>  arg = -(v + 1) = ~v in two's complement.
  return Negative(~static_cast<uint64_t>(v));
}

Value Value::Negative(uint64_t encoded_arg) {
  Value out;
  out.type_ = Type::kNegative;
  out.uint_ = encoded_arg;
  return out;
}

Value Value::Bytes(std::vector<uint8_t> b) {
  Value out;
  out.type_ = Type::kBytes;
  out.bytes_ = std::move(b);
  return out;
}

Value Value::Bytes(std::span<const uint8_t> b) {
  return Bytes(std::vector<uint8_t>(b.begin(), b.end()));
}

Value Value::Text(std::string s) {
  Value out;
  out.type_ = Type::kText;
  out.text_ = std::move(s);
  return out;
}

Value Value::Array(std::vector<Value> items) {
  Value out;
  out.type_ = Type::kArray;
  out.items_ = std::move(items);
  return out;
}

Value Value::Map(std::vector<std::pair<Value, Value>> entries) {
  Value out;
  out.type_ = Type::kMap;
  out.entries_ = std::move(entries);
  return out;
}

Value Value::Tag(uint64_t tag, Value inner) {
  Value out;
  out.type_ = Type::kTag;
  out.uint_ = tag;
  out.items_.push_back(std::move(inner));
  return out;
}

Value Value::Bool(bool b) {
  Value out;
  out.type_ = Type::kBool;
  out.uint_ = b ? 1 : 0;
  return out;
}

Value Value::Null() { return Value(); }

Value Value::Undefined() {
  Value out;
  out.type_ = Type::kUndefined;
  return out;
}

Value Value::Simple(uint8_t v) {
  EML_CHECK(v < 20 || v >= 32);
  Value out;
  out.type_ = Type::kSimple;
  out.uint_ = v;
  return out;
}

Value Value::Float(double d) {
  Value out;
  out.type_ = Type::kFloat;
  out.float_ = d;
  return out;
}

namespace {

Error TypeMismatch(const char* wanted) {
  return Error{ErrorCode::kCborTypeMismatch, std::string("CBOR item is not ") + wanted};
}

}  // namespace

Result<uint64_t> Value::AsUint() const {
  if (type_ != Type::kUnsigned) {
    return TypeMismatch("an unsigned integer");
  }
  return uint_;
}

Result<int64_t> Value::AsInt64() const {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (type_ == Type::kUnsigned) {
    if (uint_ > kMax) {
      return Error{ErrorCode::kIntegerOverflow, "CBOR integer above INT64_MAX"};
    }
    return static_cast<int64_t>(uint_);
  }
  if (type_ == Type::kNegative) {
    if (uint_ > kMax) {
      return Error{ErrorCode::kIntegerOverflow, "CBOR integer below INT64_MIN"};
    }
    return -1 - static_cast<int64_t>(uint_);
  }
  return TypeMismatch("an integer");
}

Result<std::span<const uint8_t>> Value::AsBytes() const {
  if (type_ != Type::kBytes) {
    return TypeMismatch("a byte string");
  }
  return std::span<const uint8_t>(bytes_);
}

Result<std::string_view> Value::AsText() const {
  if (type_ != Type::kText) {
    return TypeMismatch("a text string");
  }
  return std::string_view(text_);
}

Result<bool> Value::AsBool() const {
  if (type_ != Type::kBool) {
    return TypeMismatch("a boolean");
  }
  return uint_ != 0;
}

Result<double> Value::AsFloat() const {
  if (type_ != Type::kFloat) {
    return TypeMismatch("a float");
  }
  return float_;
}

const std::vector<Value>& Value::array_items() const {
  EML_CHECK(type_ == Type::kArray);
  return items_;
}

const std::vector<std::pair<Value, Value>>& Value::map_entries() const {
  EML_CHECK(type_ == Type::kMap);
  return entries_;
}

uint64_t Value::tag_number() const {
  EML_CHECK(type_ == Type::kTag);
  return uint_;
}

const Value& Value::tag_content() const {
  EML_CHECK(type_ == Type::kTag && items_.size() == 1);
  return items_.front();
}

uint64_t Value::negative_arg() const {
  EML_CHECK(type_ == Type::kNegative);
  return uint_;
}

uint8_t Value::simple_value() const {
  EML_CHECK(type_ == Type::kSimple);
  return static_cast<uint8_t>(uint_);
}

const Value* Value::MapFind(const Value& key) const {
  EML_CHECK(type_ == Type::kMap);
  for (const auto& [k, v] : entries_) {
    if (k == key) {
      return &v;
    }
  }
  return nullptr;
}

const Value* Value::MapFind(int64_t key) const { return MapFind(Int(key)); }

const Value* Value::MapFind(std::string_view key) const { return MapFind(Text(std::string(key))); }

namespace {

bool FloatsEqual(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) {
    return std::isnan(a) && std::isnan(b);
  }
  // Distinguishes 0.0 from -0.0, which encode differently.
  return a == b && std::signbit(a) == std::signbit(b);
}

bool MapsEqual(const std::vector<std::pair<Value, Value>>& a,
               const std::vector<std::pair<Value, Value>>& b) {
  if (a.size() != b.size()) {
    return false;
  }
  // Fast path: same order.
  bool same_order = true;
  for (size_t i = 0; i < a.size() && same_order; ++i) {
    same_order = a[i].first == b[i].first;
  }
  if (same_order) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (!(a[i].second == b[i].second)) {
        return false;
      }
    }
    return true;
  }
  // Order differs: maps are sets of entries (keys are unique in well-formed maps).
  for (const auto& [key, value] : a) {
    const std::pair<Value, Value>* match = nullptr;
    for (const auto& entry : b) {
      if (entry.first == key) {
        match = &entry;
        break;
      }
    }
    if (match == nullptr || !(match->second == value)) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool operator==(const Value& a, const Value& b) {
  if (a.type_ != b.type_) {
    return false;
  }
  switch (a.type_) {
    case Value::Type::kUnsigned:
    case Value::Type::kNegative:
    case Value::Type::kBool:
    case Value::Type::kSimple:
      return a.uint_ == b.uint_;
    case Value::Type::kNull:
    case Value::Type::kUndefined:
      return true;
    case Value::Type::kBytes:
      return a.bytes_ == b.bytes_;
    case Value::Type::kText:
      return a.text_ == b.text_;
    case Value::Type::kArray:
      return a.items_ == b.items_;
    case Value::Type::kTag:
      return a.uint_ == b.uint_ && a.items_ == b.items_;
    case Value::Type::kMap:
      return MapsEqual(a.entries_, b.entries_);
    case Value::Type::kFloat:
      return FloatsEqual(a.float_, b.float_);
  }
  return false;
}

}  // namespace eml::cbor
