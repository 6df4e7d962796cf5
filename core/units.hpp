#pragma once
// Unit strings at the edges ("400 Gb/s", "80 GiB", "1.5 us"), SI doubles inside.
#include <string>

namespace foresight::units {

enum class Dimension { bytes, bandwidth, time, flop_rate, frequency, power, rate, count };

const char* dimension_name(Dimension d);

// Parses "<number> <unit>" (space optional) into SI base units: bytes, bytes/s, seconds, FLOP/s,
// Hz, W, events per second ("20/s", "600/min"). A bare number is accepted only for Dimension::count. Throws std::invalid_argument with a
// message that names the accepted units.
double parse(const std::string& text, Dimension dim);

// Human-readable forms for reports.
std::string format_bytes(double bytes);     // "1 GiB", "512 KiB", "3 B"
std::string format_time(double seconds);    // "12.3 us"

}  // namespace foresight::units
