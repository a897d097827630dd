// Erlang/OTP installations that interop tests can run.
//
// Discovery is cheap (no BEAM is started: the release is read from
// <root>/releases/<rel>/OTP_VERSION) and cached for the life of the process after the first
// call. All functions here are thread-safe. Returned values are plain copies owned by the caller.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace edist::testing {

// An Erlang/OTP installation usable by tests.
struct erlang_install {
  // Major release as erlang:system_info(otp_release) reports it: "25", "27".
  std::string release;
  // Folder holding erl and erlc (e.g. /usr/bin for the system OTP).
  std::filesystem::path bin_dir;

  // Full OTP version ("25.2.3") when known, else empty.
  std::string version;
  // The OTP root (the folder with erts-*/, lib/, releases/), resolved through symlinks.
  std::filesystem::path root_dir;

  std::filesystem::path erl() const;
  std::filesystem::path erlc() const;
  // epmd from bin_dir when present there, else from <root>/erts-*/bin.
  std::filesystem::path epmd() const;

  // False for the placeholder values that gtest.hpp's otp_params() produces for a missing
  // installation (bin_dir empty).
  bool present() const { return !bin_dir.empty(); }
};

// The OTP whose `erl` is on PATH (Debian 12: OTP 25), or nullopt.
std::optional<erlang_install> system_otp();

// The second OTP (OTP 27 as installed by scripts/setup-otp27), or nullopt. Looked up in
// $EDIST_OTP27_ROOT first (the folder the script filled, or directly an OTP root holding bin/erl),
// then in the folder baked in at configure time (<source dir>/build/otp27). The release is
// whatever that folder holds; it is not forced to be "27".
std::optional<erlang_install> otp27();

// system_otp() first, then otp27(), skipping absent ones.
std::vector<erlang_install> available_otps();

// The `elixir` launcher on PATH, or nullopt. Elixir runs on the system OTP only.
std::optional<std::filesystem::path> system_elixir();

// Looks `program` up in $PATH like execvp does; nullopt when not found.
std::optional<std::filesystem::path> find_on_path(const std::string& program);

}  // namespace edist::testing
