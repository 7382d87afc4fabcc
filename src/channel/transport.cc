#include "channel/transport.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

namespace eml::channel {

namespace {

using Clock = std::chrono::steady_clock;

// HandshakeClock hands each step of a handshake what is left of one overall deadline.
class HandshakeClock {
 public:
  explicit HandshakeClock(int timeout_ms)
      : deadline_(Clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0))) {}
  // Remaining is the time left in ms, or kChannelTimeout once the deadline has passed.
  Result<int> Remaining() const {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
    if (left <= 0) {
      return Error{ErrorCode::kChannelTimeout, "handshake passed its deadline"};
    }
    return static_cast<int>(left);
  }

 private:
  Clock::time_point deadline_;
};

// ReadFrameThen reads the header within header_timeout_ms, then the payload within what
// payload_timeout() returns once the header is in.
template <typename PayloadTimeout>
Status ReadFrameThen(Stream* stream, const FrameLimits& limits, int header_timeout_ms,
                     PayloadTimeout payload_timeout, std::vector<uint8_t>* out) {
  out->clear();
  std::array<uint8_t, kFrameHeaderSize> head{};
  EML_RETURN_IF_ERROR(stream->ReadExact(head, header_timeout_ms));
  EML_ASSIGN_OR_RETURN(FrameHeader header, DecodeFrameHeader(head, limits));
  EML_ASSIGN_OR_RETURN(const int payload_timeout_ms, payload_timeout());
  out->resize(kFrameHeaderSize + header.payload_len);
  std::span<uint8_t> whole(*out);
  std::copy(head.begin(), head.end(), whole.begin());
  Status read = stream->ReadExact(whole.subspan(kFrameHeaderSize), payload_timeout_ms);
  if (!read.has_value()) {
    out->clear();
    return read;
  }
  return OkStatus();
}

Status ReadHandshakeFrame(Stream* stream, const FrameLimits& limits, const HandshakeClock& clock,
                          std::vector<uint8_t>* out) {
  EML_ASSIGN_OR_RETURN(const int left, clock.Remaining());
  return ReadFrameThen(
      stream, limits, left, [&clock] { return clock.Remaining(); }, out);
}

}  // namespace

Status ReadFrame(Stream* stream, const FrameLimits& limits, int header_timeout_ms,
                 int payload_timeout_ms, std::vector<uint8_t>* out) {
  return ReadFrameThen(
      stream, limits, header_timeout_ms,
      [payload_timeout_ms]() -> Result<int> { return payload_timeout_ms; }, out);
}

Result<Session> RunInitiatorHandshake(Stream* stream, Initiator* initiator,
                                      const HandshakeLimits& limits, int timeout_ms) {
  const HandshakeClock clock(timeout_ms);
  const FrameLimits frame_limits = HandshakeFrameLimits(limits);
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> hello, initiator->Start());
  EML_ASSIGN_OR_RETURN(int left, clock.Remaining());
  EML_RETURN_IF_ERROR(stream->WriteAll(hello, left));
  std::vector<uint8_t> reply;
  EML_RETURN_IF_ERROR(ReadHandshakeFrame(stream, frame_limits, clock, &reply));
  EML_ASSIGN_OR_RETURN(Initiator::Finished finished, initiator->HandleResponderHello(reply));
  EML_ASSIGN_OR_RETURN(left, clock.Remaining());
  EML_RETURN_IF_ERROR(stream->WriteAll(finished.confirmation_frame, left));
  return std::move(finished.session);
}

Result<Session> RunResponderHandshake(Stream* stream, Responder* responder,
                                      const HandshakeLimits& limits, int timeout_ms) {
  const HandshakeClock clock(timeout_ms);
  const FrameLimits frame_limits = HandshakeFrameLimits(limits);
  std::vector<uint8_t> frame;
  EML_RETURN_IF_ERROR(ReadHandshakeFrame(stream, frame_limits, clock, &frame));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> hello, responder->HandleInitiatorHello(frame));
  EML_ASSIGN_OR_RETURN(const int left, clock.Remaining());
  EML_RETURN_IF_ERROR(stream->WriteAll(hello, left));
  EML_RETURN_IF_ERROR(ReadHandshakeFrame(stream, frame_limits, clock, &frame));
  return responder->HandleConfirmation(frame);
}

}  // namespace eml::channel
