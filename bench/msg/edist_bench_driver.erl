%% The BEAM driver of the messaging benchmark. The harness (bench_beam.cpp) calls these
%% functions in a node of its own, once per peer and repetition, and reads the CPU time of the
%% peer's OS process around each call. Every function returns the elapsed wall time of the
%% timed part in nanoseconds; the harness turns that into rates.
-module(edist_bench_driver).
-export([connect/1, round_trips/2, one_way/3, one_way_binary/3, spawn_idle/1, stop_idle/0]).

%% Connects to Node (outside any timed part) and checks that echo and sink answer.
connect(Node) ->
    %% Not net_adm:ping: an erl_interface node does not answer net_kernel's is_auth.
    true = net_kernel:connect_node(Node),
    flush(),
    _ = round_trips(Node, 1),
    {sink, Node} ! {count, self(), 0},
    receive {done, 0} -> ok
    after 10000 -> exit(sink_timeout)
    end.

%% Rounds sequential round trips of a small tuple through {echo, Node}.
round_trips(Node, Rounds) ->
    Echo = {echo, Node},
    Msg = {hello, 42, <<"abc">>},
    Start = erlang:monotonic_time(nanosecond),
    round_trip_loop(Echo, Msg, Rounds),
    erlang:monotonic_time(nanosecond) - Start.

round_trip_loop(_Echo, _Msg, 0) ->
    ok;
round_trip_loop(Echo, Msg, Left) ->
    Echo ! {self(), Msg},
    receive {echo, _} -> round_trip_loop(Echo, Msg, Left - 1)
    after 10000 -> exit(echo_timeout)
    end.

%% N one-way messages of a small tuple to {sink, Node}, timed until the sink's {done, N}.
one_way(Node, N, small) ->
    one_way_term(Node, N, {msg, 1}).

%% N one-way messages, each a binary of Size bytes (one binary, shared by every send, so the
%% driver measures the transfer and not the building of its messages).
one_way_binary(Node, N, Size) ->
    one_way_term(Node, N, binary:copy(<<"x">>, Size)).

one_way_term(Node, N, Msg) ->
    Sink = {sink, Node},
    Start = erlang:monotonic_time(nanosecond),
    Sink ! {count, self(), N},
    send_loop(Sink, Msg, N),
    receive {done, N} -> ok
    after 120000 -> exit(sink_timeout)
    end,
    erlang:monotonic_time(nanosecond) - Start.

send_loop(_Sink, _Msg, 0) ->
    ok;
send_loop(Sink, Msg, Left) ->
    Sink ! Msg,
    send_loop(Sink, Msg, Left - 1).

%% Starts N idle processes (each waiting in receive) held by a process registered as
%% edist_bench_idle, and returns once they all exist: the harness reads the node's memory
%% between this call and stop_idle/0. Returns the growth of erlang:memory(total) in bytes.
spawn_idle(N) ->
    erlang:garbage_collect(),
    Before = erlang:memory(total),
    Caller = self(),
    Holder = spawn(fun() ->
        Pids = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, N)],
        Caller ! {idle_ready, self()},
        receive stop -> [P ! stop || P <- Pids] end
    end),
    register(edist_bench_idle, Holder),
    receive {idle_ready, Holder} -> ok end,
    erlang:memory(total) - Before.

stop_idle() ->
    edist_bench_idle ! stop,
    ok.

flush() ->
    receive _ -> flush() after 0 -> ok end.
