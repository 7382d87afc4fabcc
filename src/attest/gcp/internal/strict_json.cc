#include "attest/gcp/internal/strict_json.h"

#include <exception>
#include <set>
#include <string>
#include <vector>

namespace eml::attest::gcp::internal {
namespace {

using Json = nlohmann::json;

// What the parse callback saw that nlohmann does not report itself.
struct Scan {
  size_t max_depth = 0;
  bool too_deep = false;
  bool duplicate_key = false;
  // Keys seen so far in each open object, innermost last.
  std::vector<std::set<std::string>> open_objects;
};

// Thrown from the callback to stop parsing early; caught below, never leaves this file.
struct StopParsing {};

}  // namespace

Result<Json> ParseStrictJsonObject(std::span<const uint8_t> text, size_t max_depth,
                                   ErrorCode malformed) {
  Scan scan;
  scan.max_depth = max_depth;
  const Json::parser_callback_t callback = [&scan](int depth, Json::parse_event_t event,
                                                   Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (depth < 0 || static_cast<size_t>(depth) >= scan.max_depth) {
          scan.too_deep = true;
          throw StopParsing{};
        }
        if (event == Json::parse_event_t::object_start) {
          scan.open_objects.emplace_back();
        }
        break;
      case Json::parse_event_t::object_end:
        if (!scan.open_objects.empty()) {
          scan.open_objects.pop_back();
        }
        break;
      case Json::parse_event_t::key:
        if (!scan.open_objects.empty() && parsed.is_string() &&
            !scan.open_objects.back().insert(parsed.get_ref<const std::string&>()).second) {
          scan.duplicate_key = true;
          throw StopParsing{};
        }
        break;
      case Json::parse_event_t::array_end:
      case Json::parse_event_t::value:
        break;
    }
    return true;
  };
  Json value;
  try {
    value = Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
  } catch (const StopParsing&) {
    // Reported through `scan` below.
  } catch (const std::exception&) {
    return Error{malformed, "JSON could not be parsed"};
  }
  if (scan.too_deep) {
    return Error{ErrorCode::kGcpTokenTooLarge, "JSON nests too deeply"};
  }
  if (scan.duplicate_key) {
    return Error{ErrorCode::kGcpDuplicateJsonKey, "a JSON object has the same key twice"};
  }
  if (value.is_discarded()) {
    return Error{malformed, "not valid JSON"};
  }
  if (!value.is_object()) {
    return Error{malformed, "not a JSON object"};
  }
  return value;
}

}  // namespace eml::attest::gcp::internal
