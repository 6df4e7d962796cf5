#pragma once
// The `foresight` command line (run, cost, catalog; --version) as a function, so the executable and
// the Python package's console entry point are the same program. `search` is a Python workflow
// (python/foresight/search.py): the executable hands it to Python, the entry point handles it itself.
namespace foresight::api {

int cli_main(int argc, char** argv);

}  // namespace foresight::api
