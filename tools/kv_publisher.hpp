// What `edist serve --global TERM --pg GROUP` does for `kv`: keeps every incarnation of kv
// registered under a :global name and a member of a :pg group.
//
// :global goes through a BEAM node's global_name_server (node::global::client, by rpc): the
// nodes given to --connect first, then any other connected node, the first that answers. It is
// redone whenever a node connects (so a hidden node registers as soon as it reaches a node of
// the cluster) and whenever kv restarts (the BEAM nodes drop the old pid when their monitor of
// it fires; until then the new pid is refused, so registration is retried).
//
// :pg uses a scope `pg` on this node (node::pg::scope). Visible peers discover it on nodeup by
// themselves; every connecting node (hidden ones too) is also sent a discover, so that hidden
// nodes see the members as well.
//
// Ownership and threads: the publisher runs one thread of its own with one process of the node
// (it receives nodeup messages and makes the blocking rpc calls there, never on the io
// threads). kv_started() may be called from any thread. stop() (also run by the destructor)
// ends the thread and the scope; call it before the node stops.
#pragma once

#include <edist/etf/term.hpp>
#include <edist/node/network.hpp>
#include <edist/node/pg.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace edist::tools {

struct publish_options {
  std::optional<etf::term> global_name;  // --global TERM
  std::optional<etf::term> pg_group;     // --pg GROUP (in scope `pg`)
  std::vector<std::string> via_nodes;    // tried first for :global (the --connect nodes)
};

class kv_publisher {
 public:
  // Starts the scope (when pg_group is set) and the thread. Ends the program with a one-line
  // error when the scope name `pg` is taken.
  kv_publisher(node::network& net, publish_options options);
  ~kv_publisher();
  kv_publisher(const kv_publisher&) = delete;
  kv_publisher& operator=(const kv_publisher&) = delete;

  // A new kv incarnation with this pid: join the group, register the global name.
  void kv_started(const etf::term& pid);
  void stop();

 private:
  void run();
  // True when the name is held by the current kv (or there is nothing to do yet); false when
  // it should be tried again shortly.
  bool publish_global();
  std::vector<std::string> candidates() const;

  std::shared_ptr<node::node> node_;
  publish_options options_;
  std::shared_ptr<node::pg::scope> scope_;
  node::process self_;
  etf::term self_pid_;
  etf::term kv_pid_;  // owned by the thread
  int refusals_ = 0;  // consecutive refusals of the name (held by another pid)
  bool warned_ = false;
  std::thread thread_;
};

}  // namespace edist::tools
