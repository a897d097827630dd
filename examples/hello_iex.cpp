// Join a cluster and message an iex shell.
//
// In a terminal:   iex --sname beam --cookie secret
//                  iex> Process.register(self(), :shell)
// Then:            hello_iex beam@localhost secret
//                  iex> flush()          # {:hello, #PID<...>, "from C++"}
//                  iex> send(pid, {:reply, "hi C++"})   # pid from the message: hello_iex prints it
//
// The C++ side is a node like any other: it connects, shows up in Node.list() of the shell,
// sends to a registered name on the other node and receives the answer in its own mailbox.
#include <edist/etf/text.hpp>
#include <iostream>

#include "example_node.hpp"

using edist::etf::atom;
using edist::etf::term;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: hello_iex NODE COOKIE [REGISTERED_NAME (default shell)]\n";
    return 2;
  }
  const std::string peer = argv[1];
  const std::string target = argc > 3 ? argv[3] : "shell";
  example_node n("hello_cpp", peer, argv[2]);
  if (!n.connect(peer)) return 1;

  std::cout << "connected; nodes(): ";
  for (const auto& name : n.node().nodes()) std::cout << name << " ";
  std::cout << std::endl;

  // A process of our own: its pid goes in the message so that the shell can answer.
  edist::node::process me = n.node().spawn();
  // {Name, Node} addresses a registered process on another node, as `send({:shell, node}, msg)`.
  me.send(term::tuple({atom(target), atom(peer)}),
          term::tuple({atom("hello"), me.pid(), term::binary("from C++")}));
  std::cout << "sent {hello, " << edist::etf::to_erlang_string(me.pid()) << ", <<\"from C++\">>}"
            << std::endl;

  // Wait for {reply, Text}; other messages stay in the mailbox (a selective receive).
  auto answer = me.receive_if([](const term& m) { return m.is_tuple(2) && m[0].is_atom("reply"); },
                              std::chrono::seconds(30));
  if (!answer) {
    std::cout << "no reply within 30 s" << std::endl;
    return 1;
  }
  // Printed in Elixir syntax, as iex would show it.
  std::cout << "reply: " << edist::etf::to_elixir_string(*answer) << std::endl;
  return 0;
}
