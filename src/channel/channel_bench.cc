// Micro-benchmarks for the secure channel: record Seal / Open (the per-message hot path, which
// allocates nothing once the output buffers have grown) and a whole in-memory handshake with
// the mock attestation envelope. Run: build-*/src/channel/channel_bench.

#include <benchmark/benchmark.h>

#include <vector>

#include "channel/handshake.h"
#include "channel/mock_attestation.h"
#include "channel/record.h"
#include "common/check.h"

namespace eml::channel {
namespace {

SecretBytes BenchKey() { return SecretBytes::CopyFrom(std::vector<uint8_t>(32, 0x42)); }

void BM_RecordSeal(benchmark::State& state) {
  Result<RecordSealer> sealer = RecordSealer::New(BenchKey(), Bytes32{});
  EML_CHECK(sealer.has_value());
  const std::vector<uint8_t> plaintext(static_cast<size_t>(state.range(0)), 0x61);
  std::vector<uint8_t> frame;
  for (auto _ : state) {
    sealer->SetNextSequenceForTest(0);
    EML_CHECK(sealer->Seal(FrameType::kData, 0, plaintext, &frame).has_value());
    benchmark::DoNotOptimize(frame.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_RecordSeal)->Arg(64)->Arg(1024)->Arg(64 << 10)->Arg(1 << 20);

void BM_RecordOpen(benchmark::State& state) {
  Result<RecordSealer> sealer = RecordSealer::New(BenchKey(), Bytes32{});
  EML_CHECK(sealer.has_value());
  const std::vector<uint8_t> plaintext(static_cast<size_t>(state.range(0)), 0x61);
  std::vector<uint8_t> frame;
  EML_CHECK(sealer->Seal(FrameType::kData, 0, plaintext, &frame).has_value());
  std::vector<uint8_t> out;
  for (auto _ : state) {
    // An opener accepts each sequence once: every iteration opens sequence 0 with a fresh
    // opener made outside the timed region.
    state.PauseTiming();
    Result<RecordOpener> opener = RecordOpener::New(BenchKey(), Bytes32{});
    EML_CHECK(opener.has_value());
    state.ResumeTiming();
    EML_CHECK(opener->Open(frame, &out).has_value());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_RecordOpen)->Arg(64)->Arg(1024)->Arg(64 << 10)->Arg(1 << 20);

void BM_HandshakeInMemory(benchmark::State& state) {
  MockAttestationProvider provider;
  MockAttestationVerifier verifier;
  for (auto _ : state) {
    Result<Initiator> initiator = Initiator::New(&provider, &verifier);
    Result<Responder> responder = Responder::New(&provider, &verifier);
    EML_CHECK(initiator.has_value() && responder.has_value());
    Result<std::vector<uint8_t>> hello = initiator->Start();
    EML_CHECK(hello.has_value());
    Result<std::vector<uint8_t>> reply = responder->HandleInitiatorHello(*hello);
    EML_CHECK(reply.has_value());
    Result<Initiator::Finished> finished = initiator->HandleResponderHello(*reply);
    EML_CHECK(finished.has_value());
    Result<Session> session = responder->HandleConfirmation(finished->confirmation_frame);
    EML_CHECK(session.has_value());
    benchmark::DoNotOptimize(session->session_id());
  }
}
BENCHMARK(BM_HandshakeInMemory);

}  // namespace
}  // namespace eml::channel

BENCHMARK_MAIN();
