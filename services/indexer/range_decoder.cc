#include "services/indexer/range_decoder.h"

#include <algorithm>
#include <optional>
#include <tuple>
#include <variant>

#include "absl/strings/str_cat.h"
#include "common/runtime/reason.h"

namespace niftysave::indexer {
namespace {

// Where an event is in the chain; none for an ERC-1155 batch of no ids.
std::optional<eth::LogPosition> PositionOf(const eth::ChainEvent& event) {
  if (const auto* moved =
          std::get_if<std::vector<eth::TokenTransfer>>(&event)) {
    if (moved->empty()) return std::nullopt;
    return moved->front().at;
  }
  return std::visit(
      [](const auto& e) -> std::optional<eth::LogPosition> {
        if constexpr (requires { e.at; }) {
          return e.at;
        } else {
          return std::nullopt;
        }
      },
      event);
}

// The block an event is counted in (`from` for one without a position).
uint64_t BlockOf(const eth::ChainEvent& event, uint64_t from) {
  const std::optional<eth::LogPosition> at = PositionOf(event);
  return at ? at->block_number : from;
}

// The tokens of an ERC-2309 range that are indexed.
uint64_t RangeTokens(const eth::ConsecutiveTransfer& range,
                     uint64_t max_per_event) {
  const std::optional<uint64_t> span =
      eth::Uint256::Distance(range.from_id, range.to_id);
  return span && *span < max_per_event ? *span + 1 : max_per_event;
}

// The transfers an event expands into: an ERC-2309 range's tokens (up to
// the per-event cap), an ERC-1155 batch's ids.
uint64_t TransferCount(const eth::ChainEvent& event, uint64_t max_per_event) {
  if (const auto* moved =
          std::get_if<std::vector<eth::TokenTransfer>>(&event)) {
    return moved->size();
  }
  if (const auto* range = std::get_if<eth::ConsecutiveTransfer>(&event)) {
    return RangeTokens(*range, max_per_event);
  }
  return 0;
}

// The events the indexer follows, in chain order; malformed logs are listed
// and skipped.
std::vector<eth::ChainEvent> DecodeEvents(const std::vector<eth::RawLog>& logs,
                                          std::vector<MalformedLog>& bad) {
  std::vector<eth::ChainEvent> events;
  for (const eth::RawLog& raw : logs) {
    absl::StatusOr<eth::ChainEvent> event = eth::DecodeLog(raw);
    if (!event.ok()) {
      if (event.status().code() != absl::StatusCode::kNotFound) {
        bad.push_back(
            {ReasonOf(event.status()), std::string(event.status().message())});
      }
      continue;
    }
    events.push_back(*std::move(event));
  }
  // Nodes return logs in order; the writes rely on it, so it is made sure.
  auto position = [](const eth::ChainEvent& e) {
    const std::optional<eth::LogPosition> at = PositionOf(e);
    return at ? std::make_pair(at->block_number, at->log_index)
              : std::make_pair(uint64_t{0}, uint32_t{0});
  };
  std::stable_sort(
      events.begin(), events.end(),
      [&](const auto& a, const auto& b) { return position(a) < position(b); });
  return events;
}

// Cuts `events` where the range ends to hold at most max_transfers_per_range
// transfers (at least its first block); fills to, logs, transfers, weight.
void FitTransferCap(std::vector<eth::ChainEvent>& events, uint64_t from,
                    const RangeLimits& limits, DecodedRange& range) {
  const uint64_t cap = std::max<uint64_t>(1, limits.max_transfers_per_range);
  size_t kept = events.size();
  for (size_t i = 0; i < events.size(); ++i) {
    const uint64_t block = BlockOf(events[i], from);
    // A block's events go in whole: the range ends before the first block
    // that does not fit, unless that is its first block.
    uint64_t in_block = 0;
    size_t end = i;
    for (; end < events.size() && BlockOf(events[end], from) == block; ++end) {
      in_block += TransferCount(events[end], limits.max_tokens_per_event);
    }
    if (range.transfers + in_block > cap && block > from) {
      range.to = block - 1;
      kept = i;
      break;
    }
    range.transfers += in_block;
    i = end - 1;
  }
  events.resize(kept);
  range.logs = kept;
  // A range whose transfers came near the cap weighs as much as a full
  // range of logs, so the next one is not as long.
  const uint64_t target = std::max<uint64_t>(1, limits.target_logs_per_range);
  range.weight = std::max<uint64_t>(range.logs, range.transfers * target / cap);
}

// The error recorded for an ERC-2309 range over the per-event cap.
std::optional<IndexerError> RangeCapError(const eth::ConsecutiveTransfer& range,
                                          uint64_t max_per_event) {
  const std::optional<uint64_t> span =
      eth::Uint256::Distance(range.from_id, range.to_id);
  if (span && *span < max_per_event) return std::nullopt;
  return IndexerError{
      .block = range.at.block_number,
      .log_index = range.at.log_index,
      .reason = "range_too_large",
      .detail =
          absl::StrCat("ConsecutiveTransfer ", range.from_id.ToDecimal(), "..",
                       range.to_id.ToDecimal(), " of 0x", range.contract,
                       ": only the first ", RangeTokens(range, max_per_event),
                       " tokens indexed")};
}

// Sorts one kept event into the range: moves (and their contracts), URI
// updates, refreshes.
void Classify(eth::ChainEvent& event, DecodedRange& range) {
  if (auto* moved = std::get_if<std::vector<eth::TokenTransfer>>(&event)) {
    for (const eth::TokenTransfer& t : *moved) {
      range.contracts.try_emplace(
          t.contract, ContractInfo{.address = t.contract,
                                   .standard = t.standard,
                                   .first_block = t.at.block_number});
    }
    range.moves.push_back(std::move(event));
  } else if (auto* consecutive =
                 std::get_if<eth::ConsecutiveTransfer>(&event)) {
    range.contracts.try_emplace(
        consecutive->contract,
        ContractInfo{.address = consecutive->contract,
                     .standard = eth::TokenStandard::kErc721,
                     .first_block = consecutive->at.block_number});
    if (std::optional<IndexerError> e =
            RangeCapError(*consecutive, range.max_tokens_per_event)) {
      range.errors.push_back(*std::move(e));
    }
    range.moves.push_back(std::move(event));
  } else if (auto* uri = std::get_if<eth::UriChanged>(&event)) {
    range.uri_updates.push_back({.contract = uri->contract,
                                 .token_id = uri->token_id,
                                 .block = uri->at.block_number,
                                 .uri = {.token_uri = std::move(uri->uri)}});
  } else if (auto* update = std::get_if<eth::MetadataUpdate>(&event)) {
    range.refreshes.push_back({.contract = update->contract,
                               .from_id = update->from_id,
                               .to_id = update->to_id,
                               .block = update->at.block_number,
                               .log_index = update->at.log_index});
  }
}

// A transfer's place in the chain.
std::tuple<uint64_t, uint64_t, uint32_t> Position(const eth::TokenTransfer& t) {
  return {t.at.block_number, t.at.log_index, t.batch_index};
}

}  // namespace

DecodedRange DecodeRange(const std::vector<eth::RawLog>& logs, uint64_t from,
                         uint64_t to, const RangeLimits& limits) {
  DecodedRange range{.to = to,
                     .max_tokens_per_event = limits.max_tokens_per_event};
  std::vector<eth::ChainEvent> events = DecodeEvents(logs, range.malformed);
  FitTransferCap(events, from, limits, range);
  for (eth::ChainEvent& event : events) {
    if (std::optional<eth::LogPosition> at = PositionOf(event)) {
      range.positions.push_back(*std::move(at));
    }
    Classify(event, range);
  }
  return range;
}

absl::Status ExpandTransfers(
    DecodedRange& range,
    const std::function<absl::Status(eth::TokenTransfer)>& emit) {
  std::vector<eth::ChainEvent> moves = std::move(range.moves);
  range.moves.clear();
  for (eth::ChainEvent& event : moves) {
    if (auto* moved = std::get_if<std::vector<eth::TokenTransfer>>(&event)) {
      for (eth::TokenTransfer& t : *moved) {
        if (absl::Status s = emit(std::move(t)); !s.ok()) return s;
      }
      moved->clear();
      moved->shrink_to_fit();
    } else if (auto* r = std::get_if<eth::ConsecutiveTransfer>(&event)) {
      const uint64_t count = RangeTokens(*r, range.max_tokens_per_event);
      for (uint64_t k = 0; k < count; ++k) {
        absl::Status s = emit({.at = r->at,
                               .batch_index = static_cast<uint32_t>(k),
                               .contract = r->contract,
                               .from = r->from,
                               .to = r->to,
                               // k <= span: no overflow
                               .token_id = *r->from_id.Plus(k)});
        if (!s.ok()) return s;
      }
    }
  }
  return absl::OkStatus();
}

std::map<TokenIdKey, TokenMoves> SummarizeMoves(
    const std::vector<eth::TokenTransfer>& transfers) {
  const std::string zero(40, '0');
  std::map<TokenIdKey, TokenMoves> moved;
  for (const eth::TokenTransfer& t : transfers) {
    TokenMoves& m = moved[{t.contract, t.token_id.ToDecimal()}];
    if (m.first == nullptr || Position(t) < Position(*m.first)) m.first = &t;
    if (m.last == nullptr || Position(*m.last) < Position(t)) m.last = &t;
    if (t.from == zero &&
        (m.last_mint == nullptr || Position(*m.last_mint) < Position(t))) {
      m.last_mint = &t;
    }
  }
  return moved;
}

}  // namespace niftysave::indexer
