// :global names and :pg groups with a C++ process in them.
//
//   iex --sname beam --cookie secret
//   iex> :pg.start(:pg)                      # the default scope (or erl -kernel start_pg true)
//   iex> :pg.join(:workers, self())
//   global_pg beam@localhost secret          # prints "ready ..." and the members it sees
//   iex> :global.whereis_name(:cpp_worker)   # a pid on the C++ node
//   iex> :global.send(:cpp_worker, {:ping, self()}); flush()   # {:pong, :"global_cpp@localhost"}
//   iex> :pg.get_members(:workers)           # your shell and the C++ worker
//   iex> :global.send(:cpp_worker, :stop)    # the program ends
//
// :global goes through a BEAM node: global::client asks that node's global to register the
// name, which it then holds for the whole cluster and drops when the C++ process ends.
// :pg is a scope on this node that the BEAM scopes of the same name treat as a peer.
#include <edist/etf/text.hpp>
#include <edist/node/global.hpp>
#include <edist/node/pg.hpp>
#include <iostream>

#include "example_node.hpp"

using edist::etf::atom;
using edist::etf::term;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: global_pg NODE COOKIE\n";
    return 2;
  }
  const std::string peer = argv[1];
  example_node n("global_cpp", peer, argv[2]);

  // The scope first: when the connection comes up it discovers the BEAM node's `pg` scope.
  std::error_code ec;
  auto scope = edist::node::pg::scope::start(n.node().local(), atom("pg"), ec);
  if (ec) {
    std::cerr << "cannot start the pg scope: " << ec.message() << "\n";
    return 1;
  }
  if (!n.connect(peer)) return 1;

  edist::node::process worker = n.node().spawn();
  edist::node::global::client global(worker, atom(peer));
  term failure;
  if (!global.register_name(atom("cpp_worker"), worker.pid(), &failure)) {
    std::cerr << "cpp_worker is taken (or " << peer
              << " failed: " << edist::etf::to_erlang_string(failure) << ")\n";
    return 1;
  }
  const term worker_pid[] = {worker.pid()};
  if (auto join_error = scope->join(atom("workers"), worker_pid)) {
    std::cerr << "cannot join: " << join_error.message() << "\n";
    return 1;
  }
  std::cout << "ready " << n.node().name() << " cpp_worker is "
            << edist::etf::to_erlang_string(worker.pid()) << std::endl;

  // Members of other nodes arrive asynchronously (their scope's sync): give them a moment.
  auto members = scope->get_members(atom("workers"));
  for (int i = 0; i < 50 && members.size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    members = scope->get_members(atom("workers"));
  }
  std::cout << "members of workers: " << edist::etf::to_erlang_string(term::list(members))
            << std::endl;

  // Serve: {ping, From} -> From ! {pong, node()}; stop ends the program (and so the name).
  for (;;) {
    auto m = worker.receive();
    if (!m) break;
    if (m->is_atom("stop")) break;
    if (m->is_tuple(2) && (*m)[0].is_atom("ping")) {
      worker.send((*m)[1], term::tuple({atom("pong"), n.node().name_atom()}));
      std::cout << "ping from " << edist::etf::to_erlang_string((*m)[1]) << std::endl;
    }
  }
  std::cout << "stopped" << std::endl;
  return 0;
}
