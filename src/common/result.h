#pragma once
// eml::Result<T>: the value of a fallible function, or an Error (code + detail). The API is a
// subset of std::expected (has_value, value, error, *, ->). Reading the value of an error
// Result, or the error of a value Result, fails an always-on check. eml::Status is Result<void>.

#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "common/check.h"
#include "common/error.h"

namespace eml {

template <typename T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  // Implicit on purpose: `return value;` and `return Error{...};` both read naturally.
  Result(const T& value) : state_(std::in_place_index<0>, value) {}          // NOLINT
  Result(T&& value) : state_(std::in_place_index<0>, std::move(value)) {}    // NOLINT
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  template <typename U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, T> &&
           !std::is_same_v<std::decay_t<U>, Error> && !std::is_same_v<std::decay_t<U>, Result<T>>)
      Result(U&& value)
      : state_(std::in_place_index<0>, T(std::forward<U>(value))) {}  // NOLINT

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    EML_CHECK(has_value());
    return std::get<0>(state_);
  }
  const T& value() const& {
    EML_CHECK(has_value());
    return std::get<0>(state_);
  }
  T&& value() && {
    EML_CHECK(has_value());
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    EML_CHECK(!has_value());
    return std::get<1>(state_);
  }
  Error&& error() && {
    EML_CHECK(!has_value());
    return std::get<1>(std::move(state_));
  }
  ErrorCode code() const { return has_value() ? ErrorCode::kOk : error().code; }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT

  bool has_value() const { return !error_.has_value(); }
  explicit operator bool() const { return has_value(); }
  void value() const { EML_CHECK(has_value()); }
  const Error& error() const& {
    EML_CHECK(!has_value());
    return *error_;
  }
  Error&& error() && {
    EML_CHECK(!has_value());
    return std::move(*error_);
  }
  ErrorCode code() const { return has_value() ? ErrorCode::kOk : error_->code; }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

inline Status OkStatus() { return Status(); }

}  // namespace eml

#define EML_INTERNAL_CONCAT2(a, b) a##b
#define EML_INTERNAL_CONCAT(a, b) EML_INTERNAL_CONCAT2(a, b)

// EML_RETURN_IF_ERROR(expr): evaluates a Status/Result and returns its error from the caller.
#define EML_RETURN_IF_ERROR(expr)                        \
  do {                                                   \
    auto&& eml_internal_status = (expr);                 \
    if (!eml_internal_status.has_value()) [[unlikely]] { \
      return std::move(eml_internal_status).error();     \
    }                                                    \
  } while (false)

// EML_ASSIGN_OR_RETURN(lhs, expr): `lhs = *expr` on success, else returns the error.
#define EML_ASSIGN_OR_RETURN(lhs, expr) \
  EML_INTERNAL_ASSIGN_OR_RETURN(EML_INTERNAL_CONCAT(eml_internal_result_, __LINE__), lhs, expr)
#define EML_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.has_value()) [[unlikely]] {                \
    return std::move(tmp).error();                    \
  }                                                   \
  lhs = std::move(tmp).value()
