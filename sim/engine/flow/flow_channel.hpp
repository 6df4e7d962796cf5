#pragma once
// The pipe between the flow engine (parent process, where the client's callbacks run) and the
// SimGrid simulation (child process): length-prefixed binary messages of plain values.
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/collectives/collective.hpp"
#include "sim/collectives/plan.hpp"

namespace foresight::sim::flow {

enum class Msg : uint8_t {
  // child -> parent
  event = 1,     // a watched activity completed: id, start, end, simulated time now
  done = 2,      // the simulation ended: count, then (start, end) per activity
  error = 3,     // the simulation failed: message (an input error)
  // parent -> child, inside one batch
  request = 10,  // a newly interned collective request
  plan = 11,     // a newly submitted pre-decomposed plan
  add = 12,      // an activity: record fields and what it waits for
  watch = 13,    // report this activity's completion
  end = 14,      // end of the batch: resume the simulation
};

class Writer {
 public:
  template <typename T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    buf_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void put_string(const std::string& s);
  void put_request(const CollectiveRequest& r);
  void put_plan(const CollectivePlan& p);
  std::string& buffer() { return buf_; }

 private:
  std::string buf_;
};

class Reader {
 public:
  explicit Reader(const std::string& buf) : buf_(buf) {}
  template <typename T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    if (pos_ + sizeof(T) > buf_.size()) throw std::runtime_error("flow engine: truncated message");
    T v;
    std::memcpy(&v, buf_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  std::string get_string();
  CollectiveRequest get_request();
  CollectivePlan get_plan();
  bool at_end() const { return pos_ >= buf_.size(); }

 private:
  const std::string& buf_;
  size_t pos_ = 0;
};

// One direction of the pipe. send() writes a whole message; receive() returns false at end of file.
class Channel {
 public:
  Channel(int read_fd, int write_fd) : in_(read_fd), out_(write_fd) {}
  void send(const std::string& message) const;
  bool receive(std::string& message) const;
  void close();

 private:
  int in_ = -1, out_ = -1;
};

}  // namespace foresight::sim::flow
