#include "tokenizer/internal/word_splitter.h"

#include <algorithm>
#include <utility>

#include "common/byte_reader.h"
#include "common/encoding.h"
#include "tokenizer/internal/unicode.h"

namespace eml::tokenizer::internal {
namespace {

// ReadCodePoint decodes one Unicode scalar value: shortest form only, no surrogates, at most
// U+10FFFF (Unicode Table 3-7). Returns false on any ill-formed or truncated sequence.
bool ReadCodePoint(ByteReader* reader, char32_t* out) {
  uint8_t lead = 0;
  if (!reader->ReadU8(&lead)) {
    return false;
  }
  if (lead < 0x80) {
    *out = lead;
    return true;
  }
  int continuation_bytes = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((lead & 0xE0) == 0xC0) {
    continuation_bytes = 1;
    cp = lead & 0x1Fu;
    min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    continuation_bytes = 2;
    cp = lead & 0x0Fu;
    min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    continuation_bytes = 3;
    cp = lead & 0x07u;
    min = 0x10000;
  } else {
    return false;
  }
  for (int i = 0; i < continuation_bytes; ++i) {
    uint8_t byte = 0;
    if (!reader->ReadU8(&byte) || (byte & 0xC0) != 0x80) {
      return false;
    }
    cp = (cp << 6) | (byte & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return false;
  }
  *out = cp;
  return true;
}

// Splitter runs the normalizer stages on one code point at a time:
//   raw -> clean_text -> chinese padding -> NFD + mark stripping -> lowercase -> pre-tokenizer.
class Splitter {
 public:
  Splitter(const SplitterConfig& config, WordSink* sink) : config_(config), sink_(sink) {}

  bool stopped() const { return stopped_; }

  void FeedRaw(char32_t cp) {
    if (cp < 0x80) {
      FeedAscii(cp);
      return;
    }
    const NormalizerFlags& flags = config_.flags;
    if (flags.clean_text) {
      if (IsCleanDropped(cp)) {
        return;
      }
      if (IsWhitespace(cp)) {
        EndWord();
        return;
      }
    }
    if (flags.handle_chinese_chars && IsCjkIdeograph(cp)) {
      EndWord();
      FeedDecomposed(cp);
      EndWord();
      return;
    }
    FeedDecomposed(cp);
  }

  void FeedAddedToken(int32_t id) {
    EndWord();
    if (!stopped_ && !sink_->OnAddedToken(id)) {
      stopped_ = true;
    }
  }

  void EndWord() {
    if (num_chars_ > 0 && !stopped_) {
      size_t stored = std::min(num_chars_, kWordCapacity);
      if (!sink_->OnWord(std::span<const char32_t>(chars_.data(), stored), num_chars_)) {
        stopped_ = true;
      }
    }
    num_chars_ = 0;
    run_start_ = 0;
  }

 private:
  void FeedAscii(char32_t cp) {
    switch (config_.ascii_class[cp]) {
      case AsciiClass::kDrop:
        return;
      case AsciiClass::kSpace:
        EndWord();
        return;
      case AsciiClass::kPunctuation:
        EmitSingle(config_.ascii_normalized[cp]);
        return;
      case AsciiClass::kWord:
        Append(config_.ascii_normalized[cp], 0);
        return;
    }
  }

  // Canonical decomposition and mark stripping (strip_accents), then lowercase.
  void FeedDecomposed(char32_t cp) {
    if (!config_.flags.strip_accents) {
      FeedLowercase(cp, 0);
      return;
    }
    char32_t parts[kMaxDecompositionLength];
    size_t num_parts = Decompose(cp, parts);
    for (size_t i = 0; i < num_parts; ++i) {
      uint8_t ccc = CombiningClass(parts[i]);
      if (ccc == 0) {
        // A starter ends the run of marks that NFD may reorder, even when it is stripped.
        run_start_ = num_chars_;
      }
      if (!IsStrippedMark(parts[i])) {
        FeedLowercase(parts[i], ccc);
      }
    }
  }

  void FeedLowercase(char32_t cp, uint8_t ccc) {
    if (!config_.flags.lowercase) {
      PreTokenize(cp, ccc);
      return;
    }
    char32_t lower[kMaxLowercaseLength];
    size_t num_lower = Lowercase(cp, lower);
    for (size_t i = 0; i < num_lower; ++i) {
      PreTokenize(lower[i], ccc);
    }
  }

  void PreTokenize(char32_t cp, uint8_t ccc) {
    if (IsWhitespace(cp)) {
      EndWord();
    } else if (IsPunctuation(cp)) {
      EmitSingle(cp);
    } else {
      Append(cp, ccc);
    }
  }

  void EmitSingle(char32_t cp) {
    EndWord();
    chars_[0] = cp;
    num_chars_ = 1;
    EndWord();
  }

  // Append adds a code point to the current word. With strip_accents, a mark (ccc > 0) moves
  // before earlier marks of its run with a higher class: NFD's canonical ordering.
  void Append(char32_t cp, uint8_t ccc) {
    if (num_chars_ < kWordCapacity) {
      size_t pos = num_chars_;
      if (ccc > 0) {
        while (pos > run_start_ && ccc_[pos - 1] > ccc) {
          chars_[pos] = chars_[pos - 1];
          ccc_[pos] = ccc_[pos - 1];
          --pos;
        }
      } else {
        run_start_ = num_chars_ + 1;
      }
      chars_[pos] = cp;
      ccc_[pos] = ccc;
    }
    ++num_chars_;
  }

  const SplitterConfig& config_;
  WordSink* sink_;
  std::array<char32_t, kWordCapacity> chars_;
  std::array<uint8_t, kWordCapacity> ccc_;
  size_t num_chars_ = 0;
  size_t run_start_ = 0;
  bool stopped_ = false;
};

// MatchAddedToken returns the index of the longest added token that `rest` starts with, or -1.
int MatchAddedToken(const SplitterConfig& config, std::span<const uint8_t> rest) {
  int best = -1;
  size_t best_size = 0;
  for (size_t i = 0; i < config.added_tokens.size(); ++i) {
    const std::string& content = config.added_tokens[i].content;
    if (content.size() <= best_size || content.size() > rest.size()) {
      continue;
    }
    auto head = rest.first(content.size());
    if (std::equal(head.begin(), head.end(), content.begin(), content.end(),
                   [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); })) {
      best = static_cast<int>(i);
      best_size = content.size();
    }
  }
  return best;
}

}  // namespace

SplitterConfig MakeSplitterConfig(const NormalizerFlags& flags,
                                  std::vector<AddedToken> added_tokens) {
  SplitterConfig config;
  config.flags = flags;
  config.added_tokens = std::move(added_tokens);
  for (const AddedToken& token : config.added_tokens) {
    config.starts_added_token[static_cast<uint8_t>(token.content.front())] = true;
  }
  for (char32_t cp = 0; cp < 128; ++cp) {
    AsciiClass cls = AsciiClass::kWord;
    char32_t normalized = cp;
    if (flags.clean_text && IsCleanDropped(cp)) {
      cls = AsciiClass::kDrop;
    } else if (IsWhitespace(cp)) {
      cls = AsciiClass::kSpace;
    } else {
      if (flags.lowercase && cp >= 'A' && cp <= 'Z') {
        normalized = cp + ('a' - 'A');
      }
      cls = IsPunctuation(normalized) ? AsciiClass::kPunctuation : AsciiClass::kWord;
    }
    config.ascii_class[cp] = cls;
    config.ascii_normalized[cp] = normalized;
  }
  return config;
}

Status SplitWords(std::string_view text, const SplitterConfig& config, WordSink* sink) {
  ByteReader reader(AsBytes(text));
  Splitter splitter(config, sink);
  const bool has_added_tokens = !config.added_tokens.empty();
  while (!reader.empty()) {
    if (splitter.stopped()) {
      // Truncation reached: validate the rest without normalizing it.
      char32_t ignored = 0;
      if (!ReadCodePoint(&reader, &ignored)) {
        return Error{ErrorCode::kTokenizerInvalidUtf8, "text is not valid UTF-8"};
      }
      continue;
    }
    if (has_added_tokens) {
      uint8_t next = 0;
      if (reader.PeekU8(&next) && config.starts_added_token[next]) {
        int match = MatchAddedToken(config, reader.remaining());
        if (match >= 0) {
          const AddedToken& token = config.added_tokens[static_cast<size_t>(match)];
          if (!reader.Skip(token.content.size())) {
            return Error{ErrorCode::kInternal, "added token match past the end"};
          }
          splitter.FeedAddedToken(token.id);
          continue;
        }
      }
    }
    char32_t cp = 0;
    if (!ReadCodePoint(&reader, &cp)) {
      return Error{ErrorCode::kTokenizerInvalidUtf8, "text is not valid UTF-8"};
    }
    splitter.FeedRaw(cp);
  }
  splitter.EndWord();
  return OkStatus();
}

}  // namespace eml::tokenizer::internal
