// `edist term` as a user runs it: the built program in a child process, with its real exit
// status, stdout and stderr.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <edist/etf/decode.hpp>
#include <edist/etf/text.hpp>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct result {
  int status = -1;  // exit code; 128 + signal when killed
  std::string out;
  std::string err;
};

// Runs the edist program with `args`, feeding `input` to its stdin.
result run(const std::vector<std::string>& args, const std::string& input = {}) {
  int in[2];
  int out[2];
  int err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  std::vector<std::string> argv_storage = {EDIST_CLI_PATH};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  result r;
  std::size_t written = 0;
  if (input.empty()) {
    close(in[1]);
    in[1] = -1;
  }
  bool out_open = true;
  bool err_open = true;
  while (out_open || err_open || in[1] >= 0) {
    pollfd fds[3] = {{out_open ? out[0] : -1, POLLIN, 0},
                     {err_open ? err[0] : -1, POLLIN, 0},
                     {in[1], POLLOUT, 0}};
    if (poll(fds, 3, 10000) <= 0) break;
    char buf[4096];
    if (fds[0].revents != 0) {
      ssize_t n = read(out[0], buf, sizeof buf);
      if (n > 0) r.out.append(buf, static_cast<std::size_t>(n));
      if (n <= 0) out_open = false;
    }
    if (fds[1].revents != 0) {
      ssize_t n = read(err[0], buf, sizeof buf);
      if (n > 0) r.err.append(buf, static_cast<std::size_t>(n));
      if (n <= 0) err_open = false;
    }
    if (in[1] >= 0 && fds[2].revents != 0) {
      ssize_t n = write(in[1], input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n <= 0 || written == input.size()) {
        close(in[1]);
        in[1] = -1;
      }
    }
  }
  if (in[1] >= 0) close(in[1]);
  close(out[0]);
  close(err[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string bytes_of(std::initializer_list<int> values) {
  std::string s;
  for (int v : values) s += static_cast<char>(v);
  return s;
}

class TermCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("edist_term_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string file(const std::string& name, const std::string& content) {
    auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }

  std::filesystem::path dir_;
};

// {ok,[1,2]} as term_to_binary(T, [{minor_version, 2}]) writes it.
const std::string ok_12 = bytes_of({131, 104, 2, 119, 2, 'o', 'k', 107, 0, 2, 1, 2});

TEST_F(TermCommand, EncodeWritesEtf) {
  result r = run({"term", "encode", "{ok,[1,2]}"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, ok_12);
  EXPECT_EQ(r.err, "");

  r = run({"term", "encode", "--hex", "{ok,[1,2]}"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "83680277026f6b6b00020102\n");

  // From stdin, with '-' or without an argument; whitespace, comments and a final '.' are fine.
  r = run({"term", "encode", "-"}, "% the reply\n{ok, [1, 2]}.\n");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, ok_12);
  r = run({"term", "encode"}, "{ok,[1,2]}");
  EXPECT_EQ(r.out, ok_12);

  // A term that starts with '-' comes after `--`.
  r = run({"term", "encode", "-x", "--", "-5"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "8362fffffffb\n");
}

TEST_F(TermCommand, EncodeCompressed) {
  std::string text = "{ok,\"" + std::string(200, 'a') + "\"}";
  for (const char* flag : {"-z", "--compressed", "--compressed=9", "--compressed=1"}) {
    result r = run({"term", "encode", flag, text});
    ASSERT_EQ(r.status, 0) << flag << ": " << r.err;
    ASSERT_GE(r.out.size(), 6u);
    EXPECT_EQ(static_cast<unsigned char>(r.out[0]), 131) << flag;
    EXPECT_EQ(static_cast<unsigned char>(r.out[1]), 80) << flag;  // COMPRESSED
    EXPECT_LT(r.out.size(), 100u) << flag;
    result back = run({"term", "decode"}, r.out);
    EXPECT_EQ(back.status, 0) << back.err;
    EXPECT_EQ(back.out, text + "\n") << flag;
  }
  // Not worth compressing, or level 0: written plainly, as term_to_binary does.
  result small = run({"term", "encode", "-z", "{ok,[1,2]}"});
  EXPECT_EQ(small.out, ok_12);
  result level0 = run({"term", "encode", "--compressed=0", "{ok,[1,2]}"});
  EXPECT_EQ(level0.status, 0) << level0.err;
  EXPECT_EQ(level0.out, ok_12);

  result bad = run({"term", "encode", "--compressed=12", "x"});
  EXPECT_NE(bad.status, 0);
  EXPECT_EQ(bad.out, "");
  EXPECT_NE(bad.err.find("--compressed"), std::string::npos) << bad.err;
}

TEST_F(TermCommand, DecodeRawHexAndErlangBinaries) {
  std::string path = file("x.bin", ok_12);
  result r = run({"term", "decode", path});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "{ok,[1,2]}\n");
  EXPECT_EQ(r.err, "");

  r = run({"term", "decode", "--elixir", path});
  EXPECT_EQ(r.out, "{:ok, [1, 2]}\n");

  r = run({"term", "decode"}, ok_12);
  EXPECT_EQ(r.out, "{ok,[1,2]}\n");
  r = run({"term", "decode", "-"}, ok_12);
  EXPECT_EQ(r.out, "{ok,[1,2]}\n");

  // Hex is detected; spaces, line breaks and a 0x prefix are allowed.
  for (const char* hex : {"83680277026f6b6b00020102", "836802 77026F6B\n6b00020102\n",
                          "0x83680277026f6b6b00020102"}) {
    r = run({"term", "decode"}, hex);
    EXPECT_EQ(r.status, 0) << hex << ": " << r.err;
    EXPECT_EQ(r.out, "{ok,[1,2]}\n") << hex;
    r = run({"term", "decode", "--hex"}, hex);
    EXPECT_EQ(r.out, "{ok,[1,2]}\n") << hex;
  }
  r = run({"term", "decode", "-x", file("x.hex", "836b0003616263\n")});
  EXPECT_EQ(r.out, "\"abc\"\n");

  // What a node prints for term_to_binary(T).
  r = run({"term", "decode", "-e"}, "<<131,107,0,3,97,98,99>>\n");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "'abc'\n");
}

TEST_F(TermCommand, RoundTrips) {
  const char* texts[] = {
      "{ok,[1,2]}",
      "#{a => 1,<<\"b\">> => [2|3]}",
      "[1.0,-0.0,1.0e-10,123456789012345678901234567890,-9223372036854775808]",
      "<<1,2,3,4:3>>",
      "['hello world','Ok',ünï,'中文']",
      "\"中文\"",
      "{<<\"é\"/utf8>>,<<\"é\">>,[]}",
  };
  for (const char* text : texts) {
    result enc = run({"term", "encode", text});
    ASSERT_EQ(enc.status, 0) << text << ": " << enc.err;
    result dec = run({"term", "decode"}, enc.out);
    EXPECT_EQ(dec.status, 0) << text << ": " << dec.err;
    EXPECT_EQ(dec.out, std::string(text) + "\n");
    // And the bytes are what the library writes for the parsed term.
    edist::etf::decode_result d = edist::etf::decode(std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(enc.out.data()), enc.out.size()));
    ASSERT_TRUE(d) << text;
    EXPECT_EQ(d.value, edist::etf::parse_erlang_or_throw(text)) << text;
  }
  result latin1 = run({"term", "decode", "--latin1"}, run({"term", "encode", "\"中文\""}).out);
  EXPECT_EQ(latin1.out, "[20013,25991]\n");
  result elixir = run({"term", "decode", "--elixir"},
                      run({"term", "encode", "#{a => [{b, 1}], 'Elixir.Foo' => 1.0e3}"}).out);
  EXPECT_EQ(elixir.out, "%{Foo => 1000.0, :a => [b: 1]}\n");
}

// Bad input: status 1, nothing on stdout, one line on stderr that says what and where.
void expect_failure(const result& r, const std::string& message) {
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, message);
}

TEST_F(TermCommand, ClearErrors) {
  expect_failure(run({"term", "encode", "{ok,[1,2}"}),
                 "edist: term: syntax error at 1:9: expected ',', '|' or ']', found '}'\n");
  expect_failure(run({"term", "encode"}, "{ok,\n  bad thing}"),
                 "edist: term: syntax error at 2:7: expected ',' or '}', found atom 'thing'\n");
  expect_failure(run({"term", "encode", "self()"}),
                 "edist: term: syntax error at 1:5: unexpected '(' after the term\n");
  expect_failure(run({"term", "encode", "<0.1.0>"}),
                 "edist: term: not a term literal at 1:1: a pid has no term syntax (use "
                 "list_to_pid/1 in Erlang)\n");
  expect_failure(run({"term", "encode", "X"}),
                 "edist: term: not a term literal at 1:1: 'X' is a variable; an atom that starts "
                 "with an upper-case letter or '_' must be quoted\n");
  expect_failure(run({"term", "encode"}, ""),
                 "edist: term: unexpected end of text at 1:1: expected a term\n");

  // The library's own verdict on the bytes, with its offset.
  auto etf_error = [](const std::string& bytes) {
    edist::etf::decode_result d = edist::etf::decode(std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    EXPECT_FALSE(d);
    return "edist: term: invalid ETF at byte " + std::to_string(d.error_offset) + ": " +
           d.error.message() + "\n";
  };
  for (const std::string& bad : {bytes_of({131, 104, 2, 119}), bytes_of({131, 98, 0, 0}),
                                 bytes_of({131}), bytes_of({131, 200}), bytes_of({131, 97, 1, 0}),
                                 bytes_of({131, 80, 0, 0, 0, 9, 1, 2, 3})}) {
    expect_failure(run({"term", "decode"}, bad), etf_error(bad));
  }
  EXPECT_EQ(etf_error(bytes_of({131, 97, 1, 0})),
            "edist: term: invalid ETF at byte 3: " +
                std::error_code(edist::etf::errc::trailing_bytes).message() + "\n");
  expect_failure(run({"term", "decode"}, "hello"),
                 "edist: term: input is neither ETF (first byte 131), hex text nor an Erlang "
                 "binary <<...>> (as hex: byte 0 is not a hex digit)\n");
  expect_failure(run({"term", "decode"}, "836"),
                 "edist: term: input is neither ETF (first byte 131), hex text nor an Erlang "
                 "binary <<...>> (as hex: odd number of hex digits)\n");
  expect_failure(run({"term", "decode", "--hex"}, "83 6z"),
                 "edist: term: input is not hex: byte 4 is not a hex digit\n");
  expect_failure(run({"term", "decode"}, "<<1,2"),
                 "edist: term: input looks like an Erlang binary but is not one: unexpected end "
                 "of text at 1:6: expected ',' or '>>': '<<' at 1:1 is not closed\n");
  expect_failure(run({"term", "decode"}, "  \n"), "edist: term: no input\n");
  std::string missing = (dir_ / "missing.bin").string();
  expect_failure(run({"term", "decode", missing}),
                 "edist: term: cannot read " + missing + ": No such file or directory\n");

  // Usage mistakes are reported by the command-line parser, also with a non-zero status.
  for (std::vector<std::string> args :
       {std::vector<std::string>{"term"}, std::vector<std::string>{"term", "frobnicate"},
        std::vector<std::string>{"term", "decode", "--bogus"}}) {
    result r = run(args);
    EXPECT_NE(r.status, 0);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err, "");
  }
}

TEST_F(TermCommand, Help) {
  result r = run({"term", "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("encode"), std::string::npos);
  EXPECT_NE(r.out.find("decode"), std::string::npos);
}

}  // namespace
