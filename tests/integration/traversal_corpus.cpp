// Loading the traversal corpus and building its tree.
#include "traversal_corpus.hpp"

#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "peers.hpp"

namespace fs = std::filesystem;

namespace sockserv::test {

namespace {

std::vector<CorpusName> names_of(const nlohmann::json& list,
                                 const std::function<std::string(std::string)>& expand) {
  std::vector<CorpusName> names;
  for (const nlohmann::json& entry : list) {
    std::string name;
    if (entry.contains("repeat")) {
      for (int i = 0; i < entry.at("times").get<int>(); ++i) name += entry.at("repeat");
      name += entry.value("then", "");
    } else {
      name = entry.at("name").get<std::string>();
    }
    names.push_back({expand(name), entry.value("why", "")});
  }
  return names;
}

}  // namespace

TraversalFixture::TraversalFixture() {
  std::string path = source_dir() + "/tests/data/traversal-corpus.json";
  std::string text = file_text(path);
  if (text.empty()) throw std::runtime_error("cannot read " + path);
  nlohmann::json corpus = nlohmann::json::parse(text);
  const nlohmann::json& fixture = corpus.at("fixture");
  fs::create_directories(root());
  fs::create_directories(outside());
  for (auto& [name, content] : fixture.at("root_files").items())
    base_.write("root/" + name, content.get<std::string>());
  for (auto& [name, content] : fixture.at("outside_files").items())
    base_.write("outside/" + name, content.get<std::string>());
  secret_ = base_.read("outside/secret");
  for (const nlohmann::json& link : fixture.at("links"))
    fs::create_symlink(expand(link.at("to")), root() / link.at("path").get<std::string>());
  auto expander = [this](std::string s) { return expand(std::move(s)); };
  escapes_ = names_of(corpus.at("escapes"), expander);
  literals_ = names_of(corpus.at("literals"), expander);
  for (const nlohmann::json& entry : corpus.at("inside"))
    inside_.push_back({entry.at("name"), entry.at("content")});
}

std::string TraversalFixture::expand(std::string text) const {
  const std::string kMark = "@OUTSIDE@";
  for (size_t at; (at = text.find(kMark)) != std::string::npos;)
    text.replace(at, kMark.size(), outside().string());
  return text;
}

std::string TraversalFixture::snapshot_outside() const {
  std::ostringstream out;
  auto describe = [&](const fs::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) < 0) return;
    out << p.string() << ' ' << st.st_mode << ' ' << st.st_size << ' ' << st.st_mtim.tv_sec << '.'
        << st.st_mtim.tv_nsec << ' ';
    if (S_ISLNK(st.st_mode)) out << fs::read_symlink(p).string();
    if (S_ISREG(st.st_mode)) out << file_text(p.string());
    out << '\n';
  };
  describe(base_.path);
  for (const fs::directory_entry& e : fs::directory_iterator(base_.path)) {
    if (e.path() == root()) continue;
    describe(e.path());
    if (e.is_directory() && !e.is_symlink()) {
      for (const fs::directory_entry& inner : fs::recursive_directory_iterator(e.path()))
        describe(inner.path());
    }
  }
  return out.str();
}

}  // namespace sockserv::test
