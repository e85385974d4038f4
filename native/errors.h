// Errors the native core raises for bad arguments. The binding turns ArgumentError into a JS
// TypeError or RangeError (by kind); anything else becomes a plain Error.
#pragma once

#include <stdexcept>
#include <string>

namespace frnn {

class ArgumentError : public std::invalid_argument {
 public:
  enum class Kind { Type, Range };
  ArgumentError(Kind kind, const std::string& message) : std::invalid_argument(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

[[noreturn]] inline void range_error(const std::string& message) {
  throw ArgumentError(ArgumentError::Kind::Range, message);
}
[[noreturn]] inline void type_error(const std::string& message) {
  throw ArgumentError(ArgumentError::Kind::Type, message);
}

}  // namespace frnn
