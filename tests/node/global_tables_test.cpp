// The bookkeeping of the global name server: names with their monitors, locks with their
// holders, and the name exchange of two connecting partitions (conflicts resolved on the
// smaller node, the pid on the smaller node keeping the name).
#include "edist/node/global_tables.hpp"

#include <gtest/gtest.h>

namespace {

using edist::etf::atom;
using edist::etf::term;
namespace global = edist::node::global;

term pid_on(const char* node, std::uint32_t id) {
  return term::pid(atom(node), id, 0, 1);
}
term ref(std::uint32_t n) {
  return term::reference(atom("e@h"), 1, std::vector<std::uint32_t>{n, 0, 0});
}
term T(std::initializer_list<term> xs) {
  return term::tuple(xs);
}
term L(std::initializer_list<term> xs) {
  return term::list(xs);
}

TEST(GlobalNameTable, InsertReplaceEraseByMonitor) {
  global::name_table t;
  const term m = atom("method");
  EXPECT_FALSE(t.insert(atom("a"), pid_on("x@h", 1), m, ref(1)).has_value());
  ASSERT_NE(t.find(atom("a")), nullptr);
  EXPECT_EQ(t.find(atom("a"))->pid, pid_on("x@h", 1));
  EXPECT_TRUE(t.pid_has_name(pid_on("x@h", 1)));
  // Re-registration hands back the old monitor and forgets it.
  auto displaced = t.insert(atom("a"), pid_on("x@h", 2), m, ref(2));
  ASSERT_TRUE(displaced.has_value());
  EXPECT_EQ(*displaced, ref(1));
  EXPECT_FALSE(t.erase_by_monitor(ref(1)).has_value());
  EXPECT_FALSE(t.pid_has_name(pid_on("x@h", 1)));
  EXPECT_EQ(t.exchange_list(), L({T({atom("a"), pid_on("x@h", 2), m})}));
  // The monitor of the current entry removes it.
  EXPECT_EQ(t.erase_by_monitor(ref(2)), atom("a"));
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.exchange_list(), term::list({}));
  EXPECT_FALSE(t.erase(atom("a")).has_value());
}

TEST(GlobalLockTable, OneRequesterManyHolders) {
  global::lock_table locks;
  const term res = atom("global");
  const term id1 = L({pid_on("a@h", 1), pid_on("b@h", 1)});
  const term id2 = pid_on("c@h", 9);
  bool needs_monitor = false;
  ASSERT_TRUE(locks.try_set(res, id1, pid_on("a@h", 1), needs_monitor));
  EXPECT_TRUE(needs_monitor);
  locks.add_holder(res, id1, pid_on("a@h", 1), ref(1));
  // Same requester id through another pid: granted, a second holder.
  ASSERT_TRUE(locks.try_set(res, id1, pid_on("b@h", 1), needs_monitor));
  EXPECT_TRUE(needs_monitor);
  locks.add_holder(res, id1, pid_on("b@h", 1), ref(2));
  // The same holder again: granted, nothing new to monitor.
  ASSERT_TRUE(locks.try_set(res, id1, pid_on("a@h", 1), needs_monitor));
  EXPECT_FALSE(needs_monitor);
  // Another requester is refused while it is held.
  EXPECT_FALSE(locks.try_set(res, id2, id2, needs_monitor));
  EXPECT_FALSE(locks.can_set(res, id2));
  EXPECT_EQ(locks.requester(res), id1);
  // Releasing with the wrong requester or pid does nothing.
  EXPECT_FALSE(locks.release(res, id2, pid_on("a@h", 1)).has_value());
  EXPECT_FALSE(locks.release(res, id1, pid_on("z@h", 1)).has_value());
  EXPECT_EQ(locks.release(res, id1, pid_on("a@h", 1)), ref(1));
  EXPECT_TRUE(locks.is_set(res));
  // The last holder's monitor fires: the resource is free.
  EXPECT_TRUE(locks.release_by_monitor(ref(2)));
  EXPECT_FALSE(locks.is_set(res));
  EXPECT_TRUE(locks.can_set(res, id2));
  EXPECT_FALSE(locks.release_by_monitor(ref(2)));
}

TEST(GlobalExchange, NewNamesAreInsertedAndOwnNamesSkipped) {
  global::name_table ours;
  const term m = atom("m");
  ours.insert(atom("same"), pid_on("a@h", 1), m, ref(1));
  const term his = L({T({atom("same"), pid_on("a@h", 1), m}), T({atom("new"), pid_on("b@h", 2), m}),
                      atom("garbage"), T({atom("bad"), atom("not_a_pid"), m})});
  auto out = global::exchange_names(ours, his, atom("a@h"), atom("b@h"));
  EXPECT_EQ(out.ops.size(), 1u);
  EXPECT_EQ(out.ops[0], T({atom("insert"), T({atom("new"), pid_on("b@h", 2), m})}));
  EXPECT_TRUE(out.resolved.empty());
  EXPECT_TRUE(out.kill.empty());
  // A malformed list is no names at all.
  EXPECT_TRUE(global::exchange_names(ours, atom("x"), atom("a@h"), atom("b@h")).ops.empty());
}

TEST(GlobalExchange, ConflictsAreResolvedOnTheSmallerNodeOnly) {
  global::name_table ours;
  const term m = atom("m");
  ours.insert(atom("n"), pid_on("b@h", 1), m, ref(1));
  const term his = L({T({atom("n"), pid_on("a@h", 7), m})});
  // We are the larger node: the peer resolves.
  auto larger = global::exchange_names(ours, his, atom("z@h"), atom("c@h"));
  EXPECT_TRUE(larger.ops.empty());
  EXPECT_TRUE(larger.resolved.empty());
  EXPECT_TRUE(larger.kill.empty());
  // We are the smaller node; the peer's pid lives on the smaller node a@h and keeps the name.
  auto smaller = global::exchange_names(ours, his, atom("a@h"), atom("c@h"));
  ASSERT_EQ(smaller.ops.size(), 1u);
  EXPECT_EQ(smaller.ops[0], T({atom("insert"), T({atom("n"), pid_on("a@h", 7), m})}));
  ASSERT_EQ(smaller.kill.size(), 1u);
  EXPECT_EQ(smaller.kill[0], pid_on("b@h", 1));
  // The other way round: ours keeps it, the peer is told.
  global::name_table ours2;
  ours2.insert(atom("n"), pid_on("a@h", 1), m, ref(1));
  auto keep = global::exchange_names(ours2, L({T({atom("n"), pid_on("b@h", 7), m})}), atom("a@h"),
                                     atom("c@h"));
  EXPECT_TRUE(keep.ops.empty());
  ASSERT_EQ(keep.resolved.size(), 1u);
  EXPECT_EQ(keep.resolved[0], T({atom("insert"), T({atom("n"), pid_on("a@h", 1), m})}));
  EXPECT_EQ(keep.kill, std::vector<term>{pid_on("b@h", 7)});
}

TEST(GlobalConflict, GlobalsOwnMethods) {
  const term low = pid_on("a@h", 1);
  const term high = pid_on("b@h", 2);
  const term conflict = atom("global_name_conflict");
  // random_exit_name/3 (also for methods that cannot run here): the smaller node keeps it.
  for (const term& method : {term::export_fun(atom("global"), atom("random_exit_name"), 3),
                             T({atom("global"), atom("random_exit_name")}), atom("closure")}) {
    auto d = global::resolve_conflict(method, atom("n"), high, low);
    EXPECT_EQ(d.winner, low);
    EXPECT_EQ(d.kill, std::vector<term>{high});
    EXPECT_TRUE(d.notify.empty());
  }
  auto notify = global::resolve_conflict(
      term::export_fun(atom("global"), atom("random_notify_name"), 3), atom("n"), low, high);
  EXPECT_EQ(notify.winner, low);
  EXPECT_TRUE(notify.kill.empty());
  ASSERT_EQ(notify.notify.size(), 1u);
  EXPECT_EQ(notify.notify[0].first, high);
  EXPECT_EQ(notify.notify[0].second, T({conflict, atom("n")}));
  auto all =
      global::resolve_conflict(T({atom("global"), atom("notify_all_name")}), atom("n"), low, high);
  EXPECT_TRUE(all.winner.is_nil());
  ASSERT_EQ(all.notify.size(), 2u);
  EXPECT_EQ(all.notify[0].second, T({conflict, atom("n"), high}));
  EXPECT_EQ(all.notify[1].second, T({conflict, atom("n"), low}));
  // notify_all_name keeps the name nowhere: deleted on both sides of an exchange.
  global::name_table ours;
  ours.insert(atom("n"), low, T({atom("global"), atom("notify_all_name")}), ref(1));
  auto ex =
      global::exchange_names(ours, L({T({atom("n"), high, atom("m")})}), atom("a@h"), atom("c@h"));
  EXPECT_EQ(ex.ops, std::vector<term>{T({atom("delete"), atom("n")})});
  EXPECT_EQ(ex.resolved, std::vector<term>{T({atom("delete"), atom("n")})});
  EXPECT_EQ(ex.notify.size(), 2u);
}

TEST(GlobalExchange, ParseOps) {
  auto ins = global::parse_op(T({atom("insert"), T({atom("n"), pid_on("a@h", 1), atom("m")})}));
  ASSERT_TRUE(ins.has_value());
  EXPECT_TRUE(ins->insert);
  EXPECT_EQ(ins->name, atom("n"));
  auto del = global::parse_op(T({atom("delete"), atom("n")}));
  ASSERT_TRUE(del.has_value());
  EXPECT_FALSE(del->insert);
  EXPECT_FALSE(global::parse_op(T({atom("insert"), T({atom("n"), atom("x"), atom("m")})})));
  EXPECT_FALSE(global::parse_op(atom("delete")));
  EXPECT_FALSE(global::parse_op(T({atom("other"), atom("n")})));
}

}  // namespace
