// The `foresight` executable: the library's command line, and `search` handed to the Python package
// (plan search, executors and result stores are Python: pandas, Dask, Parquet).
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "api/cli.hpp"

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "search") == 0) {
#if defined(FORESIGHT_PYTHON_EXE) && defined(FORESIGHT_PYTHONPATH)
    const char* env = std::getenv("FORESIGHT_PYTHON");
    const std::string py = env && *env ? env : FORESIGHT_PYTHON_EXE;
    const char* old = std::getenv("PYTHONPATH");
    const std::string path = std::string(FORESIGHT_PYTHONPATH) + (old && *old ? ":" + std::string(old) : "");
    setenv("PYTHONPATH", path.c_str(), 1);
    std::vector<char*> args{const_cast<char*>(py.c_str()), const_cast<char*>("-m"), const_cast<char*>("foresight")};
    for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::cerr << "error: search needs Python with the foresight package; could not start " << py << "\n";
#else
    std::cerr << "error: this build has no Python module; search is `python -m foresight search ...`\n";
#endif
    return 2;
  }
  return foresight::api::cli_main(argc, argv);
}
