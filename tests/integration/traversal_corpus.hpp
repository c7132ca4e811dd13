// The traversal corpus (tests/data/traversal-corpus.json, gate 8 of issue 9) and the small
// tree it is played against: names a hostile client sends to a server that serves one
// directory, for every server that does (file-server; http-server next).
//
// The fixture is BASE/root (served) beside BASE/outside (no request may read or change it).
// A test sends every name with every verb of its server, then checks that no reply carries
// outside_secret and that snapshot_outside() has not changed.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness.hpp"

namespace sockserv::test {

struct CorpusName {
  std::string name;
  std::string why;  // what the entry tries, for failure messages
};

struct InsideName {
  std::string name;
  std::string content;  // what reading it must give
};

class TraversalFixture {
 public:
  /// Reads the corpus and builds the tree (files and symlinks) in a fresh temporary directory.
  TraversalFixture();

  std::filesystem::path root() const { return base_.path / "root"; }
  std::filesystem::path outside() const { return base_.path / "outside"; }

  /// Must be refused by every verb.
  const std::vector<CorpusName>& escapes() const { return escapes_; }
  /// Read nothing; a write, if allowed, lands inside the root under exactly that name.
  const std::vector<CorpusName>& literals() const { return literals_; }
  /// Stay inside and must work.
  const std::vector<InsideName>& inside() const { return inside_; }
  /// The content of BASE/outside/secret and the name only BASE/outside holds: no reply may
  /// contain either.
  const std::string& outside_secret() const { return secret_; }
  static constexpr const char* kOutsideOnlyName = "OUTSIDE-ONLY-NAME";

  /// Every entry under BASE but root/ (path, type, size, mtime, content or link target):
  /// equal before and after the corpus means nothing outside the root was written.
  std::string snapshot_outside() const;

 private:
  std::string expand(std::string text) const;  // @OUTSIDE@ -> its absolute path
  TempDir base_{"traversal"};
  std::vector<CorpusName> escapes_, literals_;
  std::vector<InsideName> inside_;
  std::string secret_;
};

}  // namespace sockserv::test
