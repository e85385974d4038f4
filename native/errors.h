// Errors the native core raises. ArgumentError: bad arguments, which the binding turns into a JS
// TypeError or RangeError (by kind). InternalError: a check that protects memory (a bound, a size)
// failed where the layers above should have made that impossible, i.e. a bug in fusedrnn; it
// becomes a plain Error that says so. Anything else also becomes a plain Error.
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

class InternalError : public std::logic_error {
 public:
  explicit InternalError(const std::string& message)
      : std::logic_error("fusedrnn internal error (a bug: the public API checks this first; please report it): " +
                         message) {}
};

[[noreturn]] inline void internal_error(const std::string& message) { throw InternalError(message); }

[[noreturn]] inline void range_error(const std::string& message) {
  throw ArgumentError(ArgumentError::Kind::Range, message);
}
[[noreturn]] inline void type_error(const std::string& message) {
  throw ArgumentError(ArgumentError::Kind::Type, message);
}

}  // namespace frnn
