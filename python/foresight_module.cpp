// The Python binding: the same library calls the CLI makes, JSON documents crossing as text so
// Python gets plain dicts and lists. InputError becomes foresight.InputError (a ValueError).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <iostream>

#include "api/cli.hpp"
#include "api/cost_query.hpp"
#include "api/foresight_api.hpp"
#include "core/error.hpp"

namespace py = pybind11;
using namespace foresight;

namespace {

std::string run_document(api::RunRequest request, py::object progress) {
  // The simulator runs without the GIL. Its progress reports (a few per second on long runs) take
  // it back to hand them to the progress callable and to notice Ctrl-C: a pending KeyboardInterrupt
  // unwinds the run from there instead of waiting for it to finish.
  auto callable = progress.is_none() ? nullptr : std::make_shared<py::object>(progress);
  request.progress = [callable](double done, double total, const std::string& what) {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (callable) (*callable)(done, total, what);
  };
  std::string out;
  {
    py::gil_scoped_release release;
    out = api::run(request).json;
  }
  request.progress = nullptr;  // drop the Python callable while holding the GIL
  return out;
}

}  // namespace

PYBIND11_MODULE(_foresight, m) {
  m.doc() = "Foresight simulator core (use the `foresight` package, not this module)";
  py::register_exception<InputError>(m, "InputError", PyExc_ValueError);

  m.def(
      "run_json",
      [](const std::string& path, const std::vector<std::string>& overrides, const std::string& profile,
         const std::string& trace, const std::vector<std::string>& catalog, const std::string& requests,
         double max_rate, const std::string& trace_detail, py::object progress, const std::string& max_memory) {
        api::RunRequest r;
        r.scenario_path = path;
        r.trace_detail = trace_detail;
        r.max_memory = max_memory;
        r.overrides = overrides, r.profile_path = profile, r.trace_path = trace, r.catalog_files = catalog;
        r.requests_path = requests, r.max_rate = max_rate;
        return run_document(std::move(r), progress);
      },
      py::arg("path"), py::arg("overrides") = std::vector<std::string>{}, py::arg("profile") = "",
      py::arg("trace") = "", py::arg("catalog") = std::vector<std::string>{}, py::arg("requests") = "",
      py::arg("max_rate") = 0.0, py::arg("trace_detail") = "", py::arg("progress") = py::none(),
      py::arg("max_memory") = "");
  m.def(
      "run_text_json",
      [](const std::string& text, const std::string& name, const std::vector<std::string>& overrides,
         const std::string& profile, const std::string& trace, const std::vector<std::string>& catalog,
         const std::string& requests, double max_rate, const std::string& trace_detail, py::object progress,
         const std::string& max_memory) {
        api::RunRequest r;
        r.scenario_text = text, r.scenario_name = name;
        r.trace_detail = trace_detail;
        r.max_memory = max_memory;
        r.overrides = overrides, r.profile_path = profile, r.trace_path = trace, r.catalog_files = catalog;
        r.requests_path = requests, r.max_rate = max_rate;
        return run_document(std::move(r), progress);
      },
      py::arg("text"), py::arg("name") = "<string>", py::arg("overrides") = std::vector<std::string>{},
      py::arg("profile") = "", py::arg("trace") = "", py::arg("catalog") = std::vector<std::string>{},
      py::arg("requests") = "", py::arg("max_rate") = 0.0, py::arg("trace_detail") = "",
      py::arg("progress") = py::none(), py::arg("max_memory") = "");
  m.def(
      "cost_json",
      [](const std::string& op, const std::string& shapes, const std::string& gpu, const std::string& system,
         const std::string& calibration, const std::vector<std::string>& catalog) {
        api::CostRequest r;
        r.op = op, r.shapes_json = shapes, r.gpu = gpu, r.system = system, r.calibration = calibration;
        r.catalog_files = catalog;
        py::gil_scoped_release release;
        return api::cost(r);
      },
      py::arg("op"), py::arg("shapes"), py::arg("gpu") = "", py::arg("system") = "", py::arg("calibration") = "auto",
      py::arg("catalog") = std::vector<std::string>{});
  m.def(
      "inspect_json",
      [](const std::string& path, const std::string& text, const std::string& name, const std::vector<std::string>& overrides,
         const std::vector<std::string>& catalog, const std::string& profile) {
        api::RunRequest r;
        r.scenario_path = path, r.scenario_text = text, r.scenario_name = name;
        r.overrides = overrides, r.catalog_files = catalog, r.profile_path = profile;
        return api::inspect_json(r);
      },
      py::arg("path") = "", py::arg("text") = "", py::arg("name") = "<string>",
      py::arg("overrides") = std::vector<std::string>{}, py::arg("catalog") = std::vector<std::string>{},
      py::arg("profile") = "");
  m.def("version", [] { return api::version(); });
  // Where the shipped scenarios are when the module runs from a build tree (pip installs them as
  // package data instead).
  m.def("source_dir", [] { return std::string(FORESIGHT_SOURCE_DIR_FOR_PYTHON); });
  m.def("git_revision", [] { return api::git_revision(); });
  m.def(
      "cli_main",
      [](std::vector<std::string> args) {
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        py::gil_scoped_release release;
        const int rc = api::cli_main(static_cast<int>(args.size()), argv.data());
        std::cout.flush();
        return rc;
      },
      py::arg("argv"));
  m.def("default_scenario_text", [] { return api::default_scenario_text(); });
  m.def("catalog_json", [](const std::vector<std::string>& files) { return api::catalog_json(files); },
        py::arg("files") = std::vector<std::string>{});
}
