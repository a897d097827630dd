// The magic cookie, found and created the way erl does it.
//
// erl reads ~/.erlang.cookie (its first line, trailing blanks removed) and refuses to start
// when the file is readable by anyone but its owner; when the file does not exist it creates
// it with 20 random uppercase letters and mode 0400. These functions do the same, reporting
// problems as errc::cookie_file with a sentence in `detail`.
//
// Thread-safety: the functions touch the file system and read $HOME; they are safe to call
// from several threads except concurrently with setenv("HOME").
#pragma once

#include <filesystem>
#include <string>
#include <system_error>

namespace edist::node {

// $HOME/.erlang.cookie; empty when HOME is not set.
std::filesystem::path default_cookie_path();

// Reads the cookie at `path`, creating the file first when it does not exist.
std::error_code read_or_create_cookie(const std::filesystem::path& path, std::string& cookie,
                                      std::string* detail = nullptr);

// 20 uppercase letters from a cryptographically strong source when available.
std::string generate_cookie();

}  // namespace edist::node
