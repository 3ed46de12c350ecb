#include "pipeline/verdict_check.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "pipeline/versions.h"
#include "registry/reference.h"

namespace gate::pipeline {
namespace {

using nlohmann::json;

// Reads fields by path, each of the type it must have: a wrong type is a
// malformed verdict (exit 2) naming the field, never an internal error.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  const json& field(const json& object, const std::string& path, const std::string& key, json::value_t type,
                    const char* type_name) const {
    auto it = object.find(key);
    if (it == object.end()) malformed(fmt::format("has no '{}'", path + key));
    bool ok = it->type() == type || (type == json::value_t::number_integer && it->is_number_unsigned());
    if (!ok) malformed(fmt::format("'{}' is {}, expected {}", path + key, it->type_name(), type_name));
    return *it;
  }
  std::string string(const json& object, const std::string& path, const std::string& key) const {
    return field(object, path, key, json::value_t::string, "a string").get<std::string>();
  }
  long long integer(const json& object, const std::string& path, const std::string& key) const {
    return field(object, path, key, json::value_t::number_integer, "an integer").get<long long>();
  }
  bool boolean(const json& object, const std::string& path, const std::string& key) const {
    return field(object, path, key, json::value_t::boolean, "true or false").get<bool>();
  }
  const json& object(const json& object, const std::string& path, const std::string& key) const {
    return field(object, path, key, json::value_t::object, "an object");
  }
  const json& array(const json& object, const std::string& path, const std::string& key) const {
    return field(object, path, key, json::value_t::array, "an array");
  }

  [[noreturn]] void malformed(const std::string& why) const {
    throw UsageError(fmt::format("verdict {}: not a usable gate verdict: {}", file_, why));
  }
  [[noreturn]] void refuse(const std::string& why) const {
    throw Error(ExitCode::blocked, fmt::format("publish refused: verdict {} {}", file_, why));
  }

 private:
  std::string file_;
};

json parse_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw UsageError(fmt::format("cannot read verdict '{}': {}", file.string(), std::strerror(errno)));
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw UsageError(fmt::format("verdict '{}' is not JSON: {}", file.string(), e.what()));
  }
}

// Every consumer of the config present once, passed, and whole (a shard
// alone is not the consumer's verification: `gate merge` makes it whole).
void check_consumers(const Reader& r, const json& v, const config::Config& config) {
  const json& consumers = r.array(v, "", "consumers");
  if (consumers.empty()) r.refuse("tested no consumer");
  std::set<std::string> wanted;
  for (const auto& c : config.consumers) wanted.insert(c.name);
  std::set<std::string> seen;
  for (size_t i = 0; i < consumers.size(); ++i) {
    const std::string path = fmt::format("consumers[{}].", i);
    if (!consumers[i].is_object())
      r.malformed(fmt::format("'consumers[{}]' is {}, expected an object", i, consumers[i].type_name()));
    std::string name = r.string(consumers[i], path, "name");
    std::string status = r.string(consumers[i], path, "status");
    if (!wanted.count(name)) r.refuse(fmt::format("names consumer '{}', which this config does not have", name));
    if (!seen.insert(name).second) r.refuse(fmt::format("names consumer '{}' twice", name));
    if (status != "passed") r.refuse(fmt::format("did not pass: consumer '{}' {}", name, status));
    if (consumers[i].contains("shard")) {
      std::string shard = r.string(consumers[i], path, "shard");
      if (shard.find('/') != std::string::npos && shard != "1/1") {
        r.refuse(fmt::format("holds only shard {} of consumer '{}': publish the verdict of `gate merge`", shard, name));
      }
    }
  }
  for (const auto& name : wanted) {
    if (!seen.count(name)) r.refuse(fmt::format("did not test consumer '{}' of this config", name));
  }
}

// The config with the consumer versions the verdict tested: a consumer
// configured with versions must have had them resolved, and its `refs` all
// tested.
config::Config with_versions(const Reader& r, const json& v, const config::Config& config,
                             const std::filesystem::path& file) {
  Versions versions;
  if (v.contains("consumer_versions")) {
    for (const auto& [name, refs] : r.object(v, "", "consumer_versions").items()) {
      if (!refs.is_array()) r.malformed(fmt::format("'consumer_versions.{}' is not a list", name));
      for (const auto& ref : refs) {
        if (!ref.is_string()) r.malformed(fmt::format("'consumer_versions.{}' holds {}", name, ref.type_name()));
        versions[name].push_back(ref.get<std::string>());
      }
    }
  }
  for (const auto& c : config.consumers) {
    if (c.releases == 0 && c.refs.empty()) continue;
    auto it = versions.find(c.name);
    if (it == versions.end())
      r.refuse(fmt::format("did not test the versions of consumer '{}' (releases, refs)", c.name));
    for (const auto& ref : c.refs) {
      if (std::find(it->second.begin(), it->second.end(), ref) == it->second.end())
        r.refuse(fmt::format("did not test consumer '{}' at {} (its refs)", c.name, ref));
    }
  }
  config::Config expanded = config;
  try {
    add_versions(expanded, versions, file.string());
  } catch (const UsageError& e) {
    r.refuse(e.what());
  }
  return expanded;
}

}  // namespace

VerdictClaim read_verdict(const std::filesystem::path& file, const config::Config& config) {
  const json v = parse_file(file);
  Reader r(file.string());
  if (!v.is_object()) r.malformed(fmt::format("the file holds {}, expected an object", v.type_name()));
  if (!v.contains("schema") || !v["schema"].is_string() || v["schema"] != "gate.verdict/v1") {
    r.malformed("no \"schema\": \"gate.verdict/v1\" (is it gate's verdict.json?)");
  }
  long long exit_code = r.integer(v, "", "exit_code");
  const json& decision = r.object(v, "", "decision");
  long long decided = r.integer(decision, "decision.", "exit_code");
  if (exit_code != 0) r.refuse(fmt::format("did not pass (exit code {})", exit_code));
  if (decided != 0) r.refuse(fmt::format("did not pass (decision exit code {})", decided));
  std::string command = r.string(v, "", "command");
  if (r.boolean(v, "", "dry_run") && command == "run") r.refuse("is of a dry run (`gate run --dry-run`)");
  if (v.contains("skipped") && r.boolean(v, "", "skipped")) r.refuse("tested nothing (the run was skipped)");
  const json& candidate = r.object(v, "", "candidate");
  std::string repository = r.string(candidate, "candidate.", "repository");
  std::string digest = r.string(candidate, "candidate.", "digest");
  if (!registry::is_valid_digest(digest)) r.refuse("names no tested digest");
  if (repository != config.image.repository) {
    r.refuse(fmt::format("is for {}, not this config's {}", repository, config.image.repository));
  }
  check_consumers(r, v, with_versions(r, v, config, file));
  VerdictClaim claim{digest, {}};
  if (v.contains("publish_tags_seen")) {
    for (const auto& [tag, seen] : r.object(v, "", "publish_tags_seen").items()) {
      if (!seen.is_string() && !seen.is_null()) {
        r.malformed(fmt::format("'publish_tags_seen.{}' is {}, expected a digest or null", tag, seen.type_name()));
      }
      claim.tags_seen[tag] = seen.is_string() ? seen.get<std::string>() : "";
    }
  }
  return claim;
}

}  // namespace gate::pipeline
