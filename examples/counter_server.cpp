// A GenServer-compatible server written in C++.
//
// Elixir and Erlang call it exactly as they call a GenServer:
//   iex --sname beam --cookie secret
//   counter_server beam@localhost secret          # prints "ready counter_cpp@localhost"
//   iex> GenServer.call({:counter, :"counter_cpp@localhost"}, {:add, 5})     # 5
//   iex> GenServer.cast({:counter, :"counter_cpp@localhost"}, :reset)
//   iex> GenServer.call({:counter, :"counter_cpp@localhost"}, :get)          # 0
//   iex> GenServer.call({:counter, :"counter_cpp@localhost"}, :stop)         # :ok, program ends
//
// gen::start_server runs the handlers one message at a time (like a gen_server's loop), so the
// state needs no lock. Callers on the BEAM side monitor the server: if it ends, their
// GenServer.call exits instead of hanging, exactly as with an Erlang server.
#include <edist/etf/text.hpp>
#include <edist/node/gen_server.hpp>
#include <future>
#include <iostream>

#include "example_node.hpp"

using edist::etf::atom;
using edist::etf::term;
namespace gen = edist::node::gen;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: counter_server NODE COOKIE [OUR_NAME (default counter_cpp)]\n";
    return 2;
  }
  const std::string peer = argv[1];
  example_node n(argc > 3 ? argv[3] : "counter_cpp", peer, argv[2]);

  auto total = std::make_shared<std::int64_t>(0);
  std::promise<void> stopped;
  gen::server_handlers handlers;
  // handle_call: return the reply (or std::nullopt to reply later with gen::reply).
  handlers.on_call = [total, &stopped](edist::node::process& self, const gen::from& caller,
                                       const term& request) -> std::optional<term> {
    if (request.is_tuple(2) && request[0].is_atom("add") && request[1].is_integer()) {
      *total += request[1].as_int64();
      return term::integer(*total);
    }
    if (request.is_atom("get")) return term::integer(*total);
    if (request.is_atom("stop")) {
      // {stop, normal, ok, State}: reply first, then end.
      gen::reply(self, caller, atom("ok"));
      self.exit(atom("normal"));
      stopped.set_value();
      return std::nullopt;
    }
    return term::tuple({atom("error"), term::tuple({atom("unknown_call"), request})});
  };
  // handle_cast: no reply.
  handlers.on_cast = [total](edist::node::process&, const term& request) {
    if (request.is_atom("reset")) *total = 0;
  };
  std::error_code ec;
  term pid = gen::start_server(n.node().local(), handlers, atom("counter"), ec);
  if (ec) {
    std::cerr << "cannot start counter: " << ec.message() << "\n";
    return 1;
  }
  // Connecting is optional (BEAM nodes find us through EPMD), but this way we are listed by
  // Node.list() on the other side right away.
  if (!n.connect(peer)) return 1;
  std::cout << "ready " << n.node().name() << " counter is " << edist::etf::to_erlang_string(pid)
            << std::endl;
  stopped.get_future().wait();
  std::cout << "stopped with total " << *total << std::endl;
  return 0;
}
