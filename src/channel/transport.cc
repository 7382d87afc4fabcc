#include "channel/transport.h"

#include <array>
#include <utility>

namespace eml::channel {

Status ReadFrame(Stream* stream, const FrameLimits& limits, int timeout_ms,
                 std::vector<uint8_t>* out) {
  out->clear();
  std::array<uint8_t, kFrameHeaderSize> head{};
  EML_RETURN_IF_ERROR(stream->ReadExact(head, timeout_ms));
  EML_ASSIGN_OR_RETURN(FrameHeader header, DecodeFrameHeader(head, limits));
  out->resize(kFrameHeaderSize + header.payload_len);
  std::span<uint8_t> whole(*out);
  std::copy(head.begin(), head.end(), whole.begin());
  Status read = stream->ReadExact(whole.subspan(kFrameHeaderSize), timeout_ms);
  if (!read.has_value()) {
    out->clear();
    return read;
  }
  return OkStatus();
}

Result<Session> RunInitiatorHandshake(Stream* stream, Initiator* initiator,
                                      const HandshakeLimits& limits, int timeout_ms) {
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> hello, initiator->Start());
  EML_RETURN_IF_ERROR(stream->WriteAll(hello, timeout_ms));
  std::vector<uint8_t> reply;
  EML_RETURN_IF_ERROR(ReadFrame(stream, HandshakeFrameLimits(limits), timeout_ms, &reply));
  EML_ASSIGN_OR_RETURN(Initiator::Finished finished, initiator->HandleResponderHello(reply));
  EML_RETURN_IF_ERROR(stream->WriteAll(finished.confirmation_frame, timeout_ms));
  return std::move(finished.session);
}

Result<Session> RunResponderHandshake(Stream* stream, Responder* responder,
                                      const HandshakeLimits& limits, int timeout_ms) {
  std::vector<uint8_t> frame;
  EML_RETURN_IF_ERROR(ReadFrame(stream, HandshakeFrameLimits(limits), timeout_ms, &frame));
  EML_ASSIGN_OR_RETURN(std::vector<uint8_t> hello, responder->HandleInitiatorHello(frame));
  EML_RETURN_IF_ERROR(stream->WriteAll(hello, timeout_ms));
  EML_RETURN_IF_ERROR(ReadFrame(stream, HandshakeFrameLimits(limits), timeout_ms, &frame));
  return responder->HandleConfirmation(frame);
}

}  // namespace eml::channel
