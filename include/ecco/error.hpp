#pragma once
// Typed errors of ecco.
//
// Error policy:
//  * The library throws; it never prints and never exits.
//  * ConfigError: a flag, spec string or option combination is not allowed. The message
//    names the flag or spec, the bad value and what is allowed.
//  * DataError: an input file is unreadable or malformed. The message starts with
//    "file:line:" (or "file:" when no line applies).
//  * DecodeError: a received message is truncated or corrupt. Never an out-of-bounds read.
//  * NumericError: a non-finite value where a finite one is required (usually a step size
//    that is too large).
//  * CommError: an MPI call failed; the message carries MPI's own error string.
//  * ecco-train reports every error as one line. Errors during set-up are agreed by all
//    ranks and end the job with exit status 2. An error during the rounds is kept by the
//    process where it happened, which still takes part in the round's collectives; every
//    process agrees on it at the end of that round and throws the same
//    AgreedRoundFailure<category> (a RoundFailure, trainer.hpp), exit status 1, so that no
//    rank is left waiting, also when ecco is used as a library.
//    Errors inside a collective (CommError) are raised by every rank alike. Only what
//    escapes all of this (a bug) makes ecco-train call MPI_Abort.
#include <stdexcept>
#include <string>

namespace ecco {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ConfigError : public Error {
 public:
  using Error::Error;
};

class DataError : public Error {
 public:
  using Error::Error;
};

class DecodeError : public Error {
 public:
  using Error::Error;
};

class NumericError : public Error {
 public:
  using Error::Error;
};

class CommError : public Error {
 public:
  using Error::Error;
};

}  // namespace ecco
