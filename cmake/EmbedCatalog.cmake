# Writes a .cpp holding every hwmodels/catalog/*.yaml file as a string, keyed by its repository path,
# so error messages can still name "hwmodels/catalog/gpus.yaml:12:5".
file(GLOB files ${SRC_DIR}/hwmodels/catalog/*.yaml)
list(SORT files)
set(body "#include <string>\n#include <utility>\n#include <vector>\nnamespace foresight::hw {\nconst std::vector<std::pair<std::string, std::string>>& embedded_catalog_files() {\n  static const std::vector<std::pair<std::string, std::string>> files = {\n")
foreach(f ${files})
  file(RELATIVE_PATH rel ${SRC_DIR} ${f})
  file(READ ${f} content)
  string(APPEND body "    {\"${rel}\", R\"FSCATALOG(${content})FSCATALOG\"},\n")
endforeach()
string(APPEND body "  };\n  return files;\n}\n}  // namespace foresight::hw\n")
file(WRITE ${OUT} "${body}")

# The built-in default scenario, so `foresight run` with no file works from any directory.
file(READ ${SRC_DIR}/scenarios/nccl-allreduce-dgx-h100.yaml default_scenario)
file(APPEND ${OUT} "namespace foresight::sim {\nconst std::string& default_scenario_text() {\n  static const std::string text = R\"FSCATALOG(${default_scenario})FSCATALOG\";\n  return text;\n}\n}  // namespace foresight::sim\n")
