#include "model/internal/canonical_json.h"

#include <algorithm>
#include <set>
#include <string_view>

#include "common/byte_reader.h"
#include "common/check.h"
#include "common/encoding.h"

namespace eml::model::internal {
namespace {

Error Bad(std::string detail) { return Error{ErrorCode::kManifestBadJson, std::move(detail)}; }
Error NonCanonical(std::string detail) {
  return Error{ErrorCode::kManifestNonCanonical, std::move(detail)};
}

bool IsWhitespace(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, const CanonicalJsonLimits& limits)
      : r_(bytes), limits_(limits) {}

  Result<JsonValue> ParseDocument() {
    uint8_t c = 0;
    if (!r_.PeekU8(&c)) {
      return Bad("empty input");
    }
    if (IsWhitespace(c)) {
      return NonCanonical("whitespace before the value");
    }
    if (c != '{') {
      return Bad("the top level must be an object");
    }
    EML_ASSIGN_OR_RETURN(JsonValue v, ParseValue(0));
    if (!r_.empty()) {
      uint8_t t = 0;
      EML_CHECK(r_.PeekU8(&t));
      return IsWhitespace(t) ? NonCanonical("whitespace after the value")
                             : Bad("bytes after the value");
    }
    return v;
  }

 private:
  Result<JsonValue> ParseValue(size_t depth) {
    uint8_t c = 0;
    if (!r_.PeekU8(&c)) {
      return Bad("input ends where a value should start");
    }
    if (IsWhitespace(c)) {
      return NonCanonical("whitespace between tokens");
    }
    JsonValue v;
    switch (c) {
      case '{':
        return ParseObject(depth + 1);
      case '[':
        return ParseArray(depth + 1);
      case '"': {
        v.kind = JsonValue::Kind::kString;
        EML_ASSIGN_OR_RETURN(v.string, ParseString());
        return v;
      }
      case 'n':
        EML_RETURN_IF_ERROR(Literal("null"));
        return v;
      case 't':
        EML_RETURN_IF_ERROR(Literal("true"));
        v.kind = JsonValue::Kind::kBool;
        v.boolean = true;
        return v;
      case 'f':
        EML_RETURN_IF_ERROR(Literal("false"));
        v.kind = JsonValue::Kind::kBool;
        return v;
      default:
        if (c == '-' || (c >= '0' && c <= '9')) {
          return ParseNumber();
        }
        return Bad("unexpected character");
    }
  }

  Status Literal(std::string_view word) {
    for (char expected : word) {
      uint8_t c = 0;
      if (!r_.ReadU8(&c) || c != static_cast<uint8_t>(expected)) {
        return Bad("bad literal");
      }
    }
    return OkStatus();
  }

  Status Expect(uint8_t want, const char* what) {
    uint8_t c = 0;
    if (!r_.ReadU8(&c)) {
      return Bad(std::string("input ends; expected ") + what);
    }
    if (c != want) {
      return IsWhitespace(c) ? NonCanonical("whitespace between tokens")
                             : Bad(std::string("expected ") + what);
    }
    return OkStatus();
  }

  bool Consume(uint8_t want) {
    uint8_t c = 0;
    if (r_.PeekU8(&c) && c == want) {
      EML_CHECK(r_.Skip(1));
      return true;
    }
    return false;
  }

  Status CheckDepth(size_t depth) const {
    if (depth > limits_.max_depth) {
      return Error{ErrorCode::kManifestTooLarge, "nesting deeper than the limit"};
    }
    return OkStatus();
  }

  Result<JsonValue> ParseObject(size_t depth) {
    EML_RETURN_IF_ERROR(CheckDepth(depth));
    EML_RETURN_IF_ERROR(Expect('{', "'{'"));
    JsonValue v;
    v.kind = JsonValue::Kind::kObject;
    if (Consume('}')) {
      return v;
    }
    std::set<std::string> seen;
    while (true) {
      uint8_t c = 0;
      if (!r_.PeekU8(&c)) {
        return Bad("input ends inside an object");
      }
      if (c != '"') {
        return IsWhitespace(c) ? NonCanonical("whitespace between tokens")
                               : Bad("object key is not a string");
      }
      EML_ASSIGN_OR_RETURN(std::string key, ParseString());
      EML_RETURN_IF_ERROR(Expect(':', "':'"));
      EML_ASSIGN_OR_RETURN(JsonValue value, ParseValue(depth));
      if (!seen.insert(key).second) {
        return Error{ErrorCode::kManifestDuplicateKey, "duplicate key \"" + key + "\""};
      }
      if (!v.members.empty() && !(v.members.back().key < key)) {
        return NonCanonical("keys not in ascending order at \"" + key + "\"");
      }
      v.members.push_back(JsonMember{std::move(key), std::move(value)});
      if (Consume('}')) {
        return v;
      }
      EML_RETURN_IF_ERROR(Expect(',', "',' or '}'"));
    }
  }

  Result<JsonValue> ParseArray(size_t depth) {
    EML_RETURN_IF_ERROR(CheckDepth(depth));
    EML_RETURN_IF_ERROR(Expect('[', "'['"));
    JsonValue v;
    v.kind = JsonValue::Kind::kArray;
    if (Consume(']')) {
      return v;
    }
    while (true) {
      EML_ASSIGN_OR_RETURN(JsonValue item, ParseValue(depth));
      v.items.push_back(std::move(item));
      if (Consume(']')) {
        return v;
      }
      EML_RETURN_IF_ERROR(Expect(',', "',' or ']'"));
    }
  }

  // ParseNumber reads the whole JSON number grammar, then accepts only the canonical subset.
  Result<JsonValue> ParseNumber() {
    std::string text;
    uint8_t c = 0;
    while (r_.PeekU8(&c) &&
           ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E')) {
      EML_CHECK(r_.Skip(1));
      text.push_back(static_cast<char>(c));
    }
    // JSON grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    size_t i = 0;
    auto digits = [&] {
      const size_t start = i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        ++i;
      }
      return i - start;
    };
    const bool negative = i < text.size() && text[i] == '-';
    i += negative ? 1 : 0;
    const size_t int_start = i;
    const size_t int_digits = digits();
    if (int_digits == 0) {
      return Bad("malformed number");
    }
    const bool leading_zero = int_digits > 1 && text[int_start] == '0';
    bool fraction = false;
    bool exponent = false;
    if (i < text.size() && text[i] == '.') {
      ++i;
      fraction = true;
      if (digits() == 0) {
        return Bad("malformed number");
      }
    }
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
      ++i;
      exponent = true;
      if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
        ++i;
      }
      if (digits() == 0) {
        return Bad("malformed number");
      }
    }
    if (i != text.size()) {
      return Bad("malformed number");
    }
    if (leading_zero) {
      return Bad("number with a leading zero");  // not JSON at all
    }
    if (negative || fraction || exponent) {
      return NonCanonical("numbers must be non-negative integers without fraction or exponent");
    }
    uint64_t value = 0;
    for (size_t k = int_start; k < int_start + int_digits; ++k) {
      if (value > kMaxJsonInteger / 10) {
        return NonCanonical("integer above 2^53 - 1");
      }
      value = value * 10 + static_cast<uint64_t>(text[k] - '0');
    }
    if (value > kMaxJsonInteger) {
      return NonCanonical("integer above 2^53 - 1");
    }
    JsonValue v;
    v.kind = JsonValue::Kind::kInteger;
    v.integer = value;
    return v;
  }

  // ReadUtf8Tail appends a multi-byte UTF-8 sequence that starts with `lead`.
  Status ReadUtf8Tail(uint8_t lead, std::string* out) {
    size_t extra = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
      extra = 1;
      cp = lead & 0x1Fu;
      min = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      extra = 2;
      cp = lead & 0x0Fu;
      min = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      extra = 3;
      cp = lead & 0x07u;
      min = 0x10000;
    } else {
      return Bad("invalid UTF-8");
    }
    out->push_back(static_cast<char>(lead));
    for (size_t k = 0; k < extra; ++k) {
      uint8_t b = 0;
      if (!r_.ReadU8(&b) || (b & 0xC0) != 0x80) {
        return Bad("invalid UTF-8");
      }
      cp = (cp << 6) | (b & 0x3Fu);
      out->push_back(static_cast<char>(b));
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return Bad("invalid UTF-8");
    }
    return OkStatus();
  }

  Status ReadEscape(std::string* out) {
    uint8_t e = 0;
    if (!r_.ReadU8(&e)) {
      return Bad("input ends inside an escape");
    }
    switch (e) {
      case '"':
        out->push_back('"');
        return OkStatus();
      case '\\':
        out->push_back('\\');
        return OkStatus();
      case 'b':
        out->push_back('\b');
        return OkStatus();
      case 'f':
        out->push_back('\f');
        return OkStatus();
      case 'n':
        out->push_back('\n');
        return OkStatus();
      case 'r':
        out->push_back('\r');
        return OkStatus();
      case 't':
        out->push_back('\t');
        return OkStatus();
      case '/':
        return NonCanonical("escaped '/'");
      case 'u':
        break;
      default:
        return Bad("invalid escape");
    }
    uint32_t cp = 0;
    bool lower = true;
    for (int k = 0; k < 4; ++k) {
      uint8_t h = 0;
      if (!r_.ReadU8(&h) || HexDigitValue(static_cast<char>(h)) < 0) {
        return Bad("invalid \\u escape");
      }
      lower = lower && !(h >= 'A' && h <= 'F');
      cp = (cp << 4) | static_cast<uint32_t>(HexDigitValue(static_cast<char>(h)));
    }
    const bool has_short_form = cp == '\b' || cp == '\f' || cp == '\n' || cp == '\r' || cp == '\t';
    if (cp >= 0x20 || has_short_form || !lower) {
      return NonCanonical("\\u escape where the canonical form differs");
    }
    out->push_back(static_cast<char>(cp));
    return OkStatus();
  }

  Result<std::string> ParseString() {
    EML_CHECK(r_.Skip(1));  // the opening quote, peeked by the caller
    std::string out;
    while (true) {
      uint8_t c = 0;
      if (!r_.ReadU8(&c)) {
        return Bad("input ends inside a string");
      }
      if (c == '"') {
        return out;
      }
      if (c == '\\') {
        EML_RETURN_IF_ERROR(ReadEscape(&out));
      } else if (c < 0x20) {
        return Bad("control character in a string");
      } else if (c < 0x80) {
        out.push_back(static_cast<char>(c));
      } else {
        EML_RETURN_IF_ERROR(ReadUtf8Tail(c, &out));
      }
    }
  }

  ByteReader r_;
  const CanonicalJsonLimits& limits_;
};

void WriteString(const std::string& s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0x0f]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

}  // namespace

Result<JsonValue> ParseCanonicalJson(std::span<const uint8_t> bytes,
                                     const CanonicalJsonLimits& limits) {
  if (bytes.size() > limits.max_bytes) {
    return Error{ErrorCode::kManifestTooLarge,
                 "manifest larger than " + std::to_string(limits.max_bytes) + " bytes"};
  }
  Parser parser(bytes, limits);
  return parser.ParseDocument();
}

void WriteCanonicalJson(const JsonValue& value, std::string* out) {
  switch (value.kind) {
    case JsonValue::Kind::kNull:
      out->append("null");
      return;
    case JsonValue::Kind::kBool:
      out->append(value.boolean ? "true" : "false");
      return;
    case JsonValue::Kind::kInteger:
      EML_CHECK(value.integer <= kMaxJsonInteger);
      out->append(std::to_string(value.integer));
      return;
    case JsonValue::Kind::kString:
      WriteString(value.string, out);
      return;
    case JsonValue::Kind::kArray:
      out->push_back('[');
      for (size_t i = 0; i < value.items.size(); ++i) {
        if (i > 0) {
          out->push_back(',');
        }
        WriteCanonicalJson(value.items[i], out);
      }
      out->push_back(']');
      return;
    case JsonValue::Kind::kObject:
      out->push_back('{');
      for (size_t i = 0; i < value.members.size(); ++i) {
        EML_CHECK(i == 0 || value.members[i - 1].key < value.members[i].key);
        if (i > 0) {
          out->push_back(',');
        }
        WriteString(value.members[i].key, out);
        out->push_back(':');
        WriteCanonicalJson(value.members[i].value, out);
      }
      out->push_back('}');
      return;
  }
}

}  // namespace eml::model::internal
