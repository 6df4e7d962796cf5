#include "sim/engine/flow/flow_channel.hpp"

#include <unistd.h>

#include <cerrno>

namespace foresight::sim::flow {

void Writer::put_string(const std::string& s) {
  put<uint32_t>(static_cast<uint32_t>(s.size()));
  buf_.append(s);
}

void Writer::put_request(const CollectiveRequest& r) {
  put<int>(static_cast<int>(r.op));
  put<double>(r.bytes);
  put<uint32_t>(static_cast<uint32_t>(r.ranks.size()));
  for (int g : r.ranks) put<int>(g);
  put_string(r.algorithm);
  put_string(r.protocol);
  put<double>(r.fan_out_nodes);
  put<double>(r.fan_out_ranks_per_node);
}

void Writer::put_plan(const CollectivePlan& p) {
  put<int>(static_cast<int>(p.algorithm));
  put<int>(static_cast<int>(p.protocol));
  put<uint32_t>(static_cast<uint32_t>(p.phases.size()));
  for (const auto& ph : p.phases) {
    put<double>(ph.latency_s);
    put<double>(ph.pipeline_factor);
    put<uint32_t>(static_cast<uint32_t>(ph.transfers.size()));
    for (const auto& t : ph.transfers) put<Transfer>(t);
  }
}

std::string Reader::get_string() {
  const auto n = get<uint32_t>();
  if (pos_ + n > buf_.size()) throw std::runtime_error("flow engine: truncated message");
  std::string s = buf_.substr(pos_, n);
  pos_ += n;
  return s;
}

CollectiveRequest Reader::get_request() {
  CollectiveRequest r;
  r.op = static_cast<CollectiveOp>(get<int>());
  r.bytes = get<double>();
  const auto n = get<uint32_t>();
  r.ranks.reserve(n);
  for (uint32_t i = 0; i < n; ++i) r.ranks.push_back(get<int>());
  r.algorithm = get_string();
  r.protocol = get_string();
  r.fan_out_nodes = get<double>();
  r.fan_out_ranks_per_node = get<double>();
  return r;
}

CollectivePlan Reader::get_plan() {
  CollectivePlan p;
  p.algorithm = static_cast<Algorithm>(get<int>());
  p.protocol = static_cast<Protocol>(get<int>());
  const auto phases = get<uint32_t>();
  for (uint32_t i = 0; i < phases; ++i) {
    Phase ph;
    ph.latency_s = get<double>();
    ph.pipeline_factor = get<double>();
    const auto n = get<uint32_t>();
    ph.transfers.reserve(n);
    for (uint32_t k = 0; k < n; ++k) ph.transfers.push_back(get<Transfer>());
    p.phases.push_back(std::move(ph));
  }
  return p;
}

namespace {

bool read_all(int fd, char* p, size_t size) {
  while (size > 0) {
    const ssize_t r = ::read(fd, p, size);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    size -= static_cast<size_t>(r);
  }
  return true;
}

void write_all(int fd, const char* p, size_t size) {
  while (size > 0) {
    const ssize_t w = ::write(fd, p, size);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw std::runtime_error("flow engine: the other process closed the pipe");
    p += w;
    size -= static_cast<size_t>(w);
  }
}

}  // namespace

void Channel::send(const std::string& message) const {
  const uint64_t n = message.size();
  write_all(out_, reinterpret_cast<const char*>(&n), sizeof n);
  write_all(out_, message.data(), message.size());
}

bool Channel::receive(std::string& message) const {
  uint64_t n = 0;
  if (!read_all(in_, reinterpret_cast<char*>(&n), sizeof n)) return false;
  message.resize(n);
  return n == 0 || read_all(in_, message.data(), n);
}

void Channel::close() {
  if (in_ >= 0) ::close(in_);
  if (out_ >= 0) ::close(out_);
  in_ = out_ = -1;
}

}  // namespace foresight::sim::flow
