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
// :global: this node is visible, so it runs a global_name_server of its own that takes part in
// global's protocol like a BEAM node's. Registering a name here makes every node of the cluster
// hold it, and it is dropped everywhere when the C++ process ends. (A hidden node takes no part
// in global; there, edist::node::global::client in global.hpp registers through a BEAM node.)
// :pg is a scope on this node that the BEAM scopes of the same name treat as a peer.
#include <edist/etf/text.hpp>
#include <edist/node/global_server.hpp>
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
  // Owned by the node. sync(), as global:sync() does, waits until the name tables of this node
  // and the BEAM node are merged, so that the registration below is checked against theirs.
  edist::node::global::server& global = *n.node().global_names();
  if (!global.sync(std::chrono::seconds(10))) {
    std::cerr << "global did not sync with " << peer << "\n";
    return 1;
  }
  // Blocks for global's lock round with every node (never call it on an io thread).
  if (!global.register_name(atom("cpp_worker"), worker.pid())) {
    std::cerr << "cpp_worker is taken\n";
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
