#include "sim/metrics/trace_stream.hpp"

#include "core/error.hpp"

namespace foresight::sim {

TraceStream::TraceStream(const std::string& path) : out_(path), path_(path) {
  if (!out_) throw InputError(SourceLocation{path, 0, 0}, "--trace", "cannot write the trace file");
  out_ << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
}

TraceStream::~TraceStream() {
  if (out_.is_open()) out_ << "\n]}\n";  // a run that threw still leaves valid JSON behind
}

void TraceStream::event(const nlohmann::json& e) {
  if (!out_.is_open()) return;
  out_ << (events_++ ? ",\n" : "") << e.dump();
}

void TraceStream::name(int pid, int tid, const std::string& label) {
  nlohmann::json e{{"name", tid >= 0 ? "thread_name" : "process_name"}, {"ph", "M"}, {"pid", pid},
                   {"args", {{"name", label}}}};
  if (tid >= 0) e["tid"] = tid;
  event(e);
}

void TraceStream::close() {
  if (!out_.is_open()) return;
  out_ << "\n]}\n";
  out_.flush();
  const bool ok = static_cast<bool>(out_);
  out_.close();
  if (!ok) throw InputError(SourceLocation{path_, 0, 0}, "--trace", "writing the trace file failed");
}

}  // namespace foresight::sim
