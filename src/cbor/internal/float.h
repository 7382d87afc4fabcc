#pragma once
// Float width helpers shared by the CBOR encoder and decoder (private to eml::cbor).

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>

namespace eml::cbor::internal {

// The canonical NaN: a quiet half-precision NaN (f9 7e00).
inline constexpr uint16_t kCanonicalHalfNaN = 0x7e00;

// HalfToDouble converts IEEE 754 binary16 bits to double (exactly; NaN stays NaN).
inline double HalfToDouble(uint16_t half) {
  const int exponent = (half >> 10) & 0x1f;
  const int mantissa = half & 0x3ff;
  double magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(mantissa, -24);
  } else if (exponent != 31) {
    magnitude = std::ldexp(mantissa + 1024, exponent - 25);
  } else {
    magnitude = mantissa == 0 ? std::numeric_limits<double>::infinity()
                              : std::numeric_limits<double>::quiet_NaN();
  }
  return (half & 0x8000) != 0 ? -magnitude : magnitude;
}

// DoubleToHalfExact sets *out to the binary16 bits of `d` and returns true when binary16 holds
// `d` exactly (zeros and infinities included); false for NaN and for every other value.
inline bool DoubleToHalfExact(double d, uint16_t* out) {
  if (std::isnan(d)) {
    return false;
  }
  const uint16_t sign = std::signbit(d) ? 0x8000 : 0;
  const double magnitude = std::fabs(d);
  if (magnitude == 0) {
    *out = sign;
    return true;
  }
  if (std::isinf(magnitude)) {
    *out = static_cast<uint16_t>(sign | 0x7c00);
    return true;
  }
  int exponent = 0;
  const double fraction = std::frexp(magnitude, &exponent);  // magnitude = fraction * 2^exponent
  if (exponent > 16) {
    return false;
  }
  if (exponent >= -13) {                                  // normal binary16: 11 significant bits
    const double significand = std::ldexp(fraction, 11);  // in [1024, 2048)
    if (significand != std::floor(significand)) {
      return false;
    }
    const auto biased = static_cast<uint16_t>(exponent + 14);
    *out =
        static_cast<uint16_t>(sign | (biased << 10) | (static_cast<uint16_t>(significand) - 1024));
    return true;
  }
  const double units = std::ldexp(magnitude, 24);  // subnormal: multiples of 2^-24, below 1024
  if (units != std::floor(units)) {
    return false;
  }
  *out = static_cast<uint16_t>(sign | static_cast<uint16_t>(units));
  return true;
}

// FitsSingleExactly: `d` (not NaN) survives a round trip through binary32.
inline bool FitsSingleExactly(double d) {
  if (std::isinf(d)) {
    return true;
  }
  if (std::fabs(d) > static_cast<double>(FLT_MAX)) {
    return false;
  }
  return static_cast<double>(static_cast<float>(d)) == d;
}

// ShortestFloatBytes: 2, 4 or 8, the width Encode() uses for `d`.
inline int ShortestFloatBytes(double d) {
  uint16_t half = 0;
  if (std::isnan(d) || DoubleToHalfExact(d, &half)) {
    return 2;
  }
  return FitsSingleExactly(d) ? 4 : 8;
}

}  // namespace eml::cbor::internal
