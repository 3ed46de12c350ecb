#pragma once
// Reads a JSON document gate wrote, and anyone may have edited, field by
// field: each field of the type it must have, a required one present, so a
// malformed document is an error that names the field ("'consumers[2].status'
// is number, expected a string"), never a default that slipped in or an
// internal error. The one reader of verdict.json (report/verdict_json.cpp)
// and of the tests beside it is built on it.
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace gate::report {

// What is wrong with the document; the callers add which file it was and
// what that means for them (publish refuses with exit 2, merge with 3).
class MalformedJson : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Fields {
 public:
  // The object at `path` ("" for the document itself, "consumers[0]", ...).
  Fields(const nlohmann::json& object, std::string path);

  bool has(const char* key) const { return object_->contains(key) && !(*object_)[key].is_null(); }

  // Required fields: missing or of another type is MalformedJson.
  std::string string(const char* key) const;
  long long integer(const char* key) const;
  bool boolean(const char* key) const;
  Fields object(const char* key) const;
  const nlohmann::json& array(const char* key) const;

  // Optional fields: absent (or null) gives the fallback; present, they must
  // be of their type.
  std::string string_or(const char* key, const std::string& fallback = "") const;
  long long integer_or(const char* key, long long fallback) const;
  double number_or(const char* key, double fallback) const;
  bool boolean_or(const char* key, bool fallback) const;
  std::vector<std::string> strings_or_empty(const char* key) const;
  const nlohmann::json& array_or_empty(const char* key) const;
  std::optional<Fields> object_if(const char* key) const;

  // The element `index` of an array field as an object.
  Fields element(const nlohmann::json& array, const char* key, size_t index) const;
  // "path.key", as messages name it.
  std::string name_of(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  const nlohmann::json& raw() const { return *object_; }
  [[noreturn]] void fail(const std::string& why) const { throw MalformedJson(why); }

 private:
  const nlohmann::json& field(const char* key, bool (*is)(const nlohmann::json&), const char* expected) const;

  const nlohmann::json* object_;
  std::string path_;
};

}  // namespace gate::report
