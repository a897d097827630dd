// C++20 coroutines as processes: co_await a receive instead of blocking a thread.
//
//   iex --sname beam --cookie secret
//   iex> Process.register(self(), :shell)
//   coroutines beam@localhost secret            # prints "ready ..."
//   iex> flush()                                # {:hello_from_coroutine, #PID<...>}
//   iex> send(pid, {:reply, 42})                # the greeter coroutine prints it and ends
//   iex> send({:co_echo, :"co_cpp@localhost"}, {self(), :hi}); flush()   # {:echo, :hi}
//   iex> send({:co_echo, :"co_cpp@localhost"}, :stop)                    # the program ends
//
// process::async_receive takes any Asio completion token; with as_tuple(use_awaitable) a
// coroutine gets (error_code, message) and never throws for a timeout. Thousands of such
// processes can wait at once on two threads, since a waiting coroutine holds no thread.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <edist/etf/text.hpp>
#include <edist/node/error.hpp>
#include <future>
#include <iostream>

#include "example_node.hpp"

namespace asio = boost::asio;
using edist::etf::atom;
using edist::etf::term;
using edist::node::process;

constexpr auto awaitable_tuple = asio::as_tuple(asio::use_awaitable);

// A registered echo server: {From, Msg} -> From ! {echo, Msg}, until `stop`.
asio::awaitable<void> echo_server(process self) {
  for (;;) {
    auto [ec, message] = co_await self.async_receive(std::chrono::minutes(5), awaitable_tuple);
    if (ec == edist::node::errc::timeout) {
      std::cout << "co_echo: idle for 5 minutes" << std::endl;
      continue;
    }
    if (ec) co_return;  // the process was ended (node shutdown, exit signal)
    if (message.is_atom("stop")) {
      std::cout << "co_echo: stop" << std::endl;
      co_return;
    }
    if (message.is_tuple(2)) self.send(message[0], term::tuple({atom("echo"), message[1]}));
  }
}

// A conversation: greet a registered process on the BEAM node, wait for its {reply, X}.
asio::awaitable<void> greeter(process self, std::string peer, std::string target) {
  self.send(term::tuple({atom(target), atom(peer)}),
            term::tuple({atom("hello_from_coroutine"), self.pid()}));
  // A selective receive: other messages would stay queued for a later receive.
  auto [ec, reply] = co_await self.async_receive_if(
      [](const term& m) { return m.is_tuple(2) && m[0].is_atom("reply"); },
      std::chrono::seconds(30), awaitable_tuple);
  if (ec)
    std::cout << "greeter: no reply (" << ec.message() << ")" << std::endl;
  else
    std::cout << "greeter: got " << edist::etf::to_erlang_string(reply) << std::endl;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: coroutines NODE COOKIE [REGISTERED_NAME_TO_GREET (default shell)]\n";
    return 2;
  }
  const std::string peer = argv[1];
  example_node n("co_cpp", peer, argv[2]);
  if (!n.connect(peer)) return 1;

  process echo = n.node().spawn();
  if (auto ec = echo.register_name(atom("co_echo"))) {
    std::cerr << "cannot register co_echo: " << ec.message() << "\n";
    return 1;
  }
  std::promise<void> echo_done;
  std::promise<void> greeter_done;
  // Each coroutine owns its process handle; when the coroutine ends, so does the process.
  asio::co_spawn(n.executor(), echo_server(std::move(echo)),
                 [&](std::exception_ptr) { echo_done.set_value(); });
  // Before the greeter starts: its reply may come back, and be printed, at once.
  std::cout << "ready " << n.node().name() << std::endl;
  asio::co_spawn(n.executor(), greeter(n.node().spawn(), peer, argc > 3 ? argv[3] : "shell"),
                 [&](std::exception_ptr) { greeter_done.set_value(); });
  greeter_done.get_future().wait();
  echo_done.get_future().wait();
  return 0;
}
