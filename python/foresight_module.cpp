// The Python binding: the same library calls the CLI makes, JSON documents crossing as text so
// Python gets plain dicts and lists. InputError becomes foresight.InputError (a ValueError).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "sim/cli/catalog_report.hpp"
#include "sim/core/error.hpp"
#include "sim/run/run_scenario.hpp"

namespace py = pybind11;
using namespace foresight;

namespace {

std::string run_document(const sim::Scenario& s, const std::string& profile, const std::string& trace) {
  sim::RunOptions options;
  options.profile_path = profile;
  options.trace_path = trace;
  py::gil_scoped_release release;
  return sim::run_scenario(s, options).document.dump();
}

}  // namespace

PYBIND11_MODULE(_foresight, m) {
  m.doc() = "Foresight simulator core (use the `foresight` package, not this module)";
  py::register_exception<InputError>(m, "InputError", PyExc_ValueError);

  m.def(
      "run_json",
      [](const std::string& path, const std::vector<std::string>& overrides, const std::string& profile,
         const std::string& trace) { return run_document(sim::load_scenario(path, overrides), profile, trace); },
      py::arg("path"), py::arg("overrides") = std::vector<std::string>{}, py::arg("profile") = "",
      py::arg("trace") = "");
  m.def(
      "run_text_json",
      [](const std::string& text, const std::string& name, const std::vector<std::string>& overrides,
         const std::string& profile, const std::string& trace) {
        return run_document(sim::load_scenario_text(text, name, overrides), profile, trace);
      },
      py::arg("text"), py::arg("name") = "<string>", py::arg("overrides") = std::vector<std::string>{},
      py::arg("profile") = "", py::arg("trace") = "");
  m.def("default_scenario_text", [] { return sim::default_scenario_text(); });
  m.def("catalog_json", [] { return catalog_json_text(hw::Catalog::builtin()); });
}
