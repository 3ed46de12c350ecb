#include "report/json_fields.h"

#include <fmt/format.h>

namespace gate::report {
namespace {

using nlohmann::json;

bool is_string(const nlohmann::json& j) { return j.is_string(); }
bool is_integer(const nlohmann::json& j) { return j.is_number_integer(); }
bool is_number(const nlohmann::json& j) { return j.is_number(); }
bool is_boolean(const nlohmann::json& j) { return j.is_boolean(); }
bool is_object(const nlohmann::json& j) { return j.is_object(); }
bool is_array(const nlohmann::json& j) { return j.is_array(); }

const nlohmann::json& empty_array() {
  static const nlohmann::json empty = nlohmann::json::array();
  return empty;
}

}  // namespace

Fields::Fields(const nlohmann::json& object, std::string path) : object_(&object), path_(std::move(path)) {
  if (!object.is_object()) {
    fail(path_.empty() ? fmt::format("the file holds {}, expected an object", object.type_name())
                       : fmt::format("'{}' is {}, expected an object", path_, object.type_name()));
  }
}

const nlohmann::json& Fields::field(const char* key, bool (*is)(const nlohmann::json&), const char* expected) const {
  auto it = object_->find(key);
  if (it == object_->end()) fail(fmt::format("has no '{}'", name_of(key)));
  if (!is(*it)) fail(fmt::format("'{}' is {}, expected {}", name_of(key), it->type_name(), expected));
  return *it;
}

std::string Fields::string(const char* key) const { return field(key, is_string, "a string").get<std::string>(); }
long long Fields::integer(const char* key) const { return field(key, is_integer, "an integer").get<long long>(); }
bool Fields::boolean(const char* key) const { return field(key, is_boolean, "true or false").get<bool>(); }
Fields Fields::object(const char* key) const { return Fields(field(key, is_object, "an object"), name_of(key)); }
const nlohmann::json& Fields::array(const char* key) const { return field(key, is_array, "an array"); }

std::string Fields::string_or(const char* key, const std::string& fallback) const {
  return has(key) ? string(key) : fallback;
}
long long Fields::integer_or(const char* key, long long fallback) const { return has(key) ? integer(key) : fallback; }
double Fields::number_or(const char* key, double fallback) const {
  return has(key) ? field(key, is_number, "a number").get<double>() : fallback;
}
bool Fields::boolean_or(const char* key, bool fallback) const { return has(key) ? boolean(key) : fallback; }
const nlohmann::json& Fields::array_or_empty(const char* key) const { return has(key) ? array(key) : empty_array(); }
std::optional<Fields> Fields::object_if(const char* key) const {
  if (!has(key)) return std::nullopt;
  return object(key);
}

std::vector<std::string> Fields::strings_or_empty(const char* key) const {
  std::vector<std::string> out;
  const nlohmann::json& items = array_or_empty(key);
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_string())
      fail(fmt::format("'{}[{}]' is {}, expected a string", name_of(key), i, items[i].type_name()));
    out.push_back(items[i].get<std::string>());
  }
  return out;
}

Fields Fields::element(const nlohmann::json& array, const char* key, size_t index) const {
  return Fields(array[index], fmt::format("{}[{}]", name_of(key), index));
}

}  // namespace gate::report
