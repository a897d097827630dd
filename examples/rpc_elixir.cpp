// rpc into Elixir: call Elixir (and Erlang) functions on a BEAM node and use the results in C++.
//
//   iex --sname beam --cookie secret
//   rpc_elixir beam@localhost secret
//
// An Elixir module Foo.Bar is the atom 'Elixir.Foo.Bar' on the wire; strings are binaries.
// rpc::call answers as :rpc.call/5 does: the value, or {:badrpc, reason}.
#include <edist/etf/text.hpp>
#include <edist/node/rpc.hpp>
#include <iostream>

#include "example_node.hpp"

using edist::etf::atom;
using edist::etf::term;
namespace rpc = edist::node::rpc;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: rpc_elixir NODE COOKIE\n";
    return 2;
  }
  const std::string peer = argv[1];
  example_node n("rpc_cpp", peer, argv[2]);
  // rpc::call drives a process of ours: the reply comes to its mailbox.
  edist::node::process me = n.node().spawn();
  const auto call = [&](const char* module, const char* function, const term& args) {
    term result =
        rpc::call(me, atom(peer), atom(module), atom(function), args, std::chrono::seconds(10));
    const bool failed = result.is_tuple(2) && result[0].is_atom("badrpc");
    std::cout << module << "." << function << " -> " << edist::etf::to_elixir_string(result)
              << std::endl;
    return !failed;
  };

  bool ok = true;
  // String.upcase("hello from c++")
  ok &= call("Elixir.String", "upcase", term::list({term::binary("hello from c++")}));
  // Enum.sum(1..10): a range is an Elixir struct; a list says the same thing on the wire.
  std::vector<term> numbers;
  for (int i = 1; i <= 10; ++i) numbers.push_back(term::integer(std::int64_t{i}));
  ok &= call("Elixir.Enum", "sum", term::list({term::list(std::move(numbers))}));
  // Keyword lists and maps come back as terms to inspect in C++.
  ok &= call("Elixir.Map", "new",
             term::list({term::list({term::tuple({atom("lang"), atom("cpp")})})}));
  // Plain Erlang too: which OTP runs Elixir there.
  ok &= call("erlang", "system_info", term::list({atom("otp_release")}));
  return ok ? 0 : 1;
}
