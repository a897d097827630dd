%% The BEAM peer of the messaging benchmark: registers `echo` and `sink` with the semantics of
%% `edist serve` (README.md, "edist serve contract"), so a driver can measure a BEAM node with
%% exactly the protocol it uses against edist and the erl_interface node.
-module(edist_bench_peer).
-export([start/0]).

%% Starts both processes, unlinked from the caller (the control channel's evaluator), and
%% returns once they are registered.
start() ->
    Echo = spawn(fun echo/0),
    true = register(echo, Echo),
    Sink = spawn(fun sink_idle/0),
    true = register(sink, Sink),
    ok.

%% {Pid, Msg} -> Pid ! {echo, Msg}; anything else is dropped.
echo() ->
    receive
        {Pid, Msg} -> Pid ! {echo, Msg};
        _ -> ok
    end,
    echo().

%% {count, Pid, N}: count the next N messages of any shape, then Pid ! {done, N}.
sink_idle() ->
    receive
        {count, Pid, 0} -> Pid ! {done, 0}, sink_idle();
        {count, Pid, N} when is_integer(N), N > 0 -> sink_counting(Pid, N, N);
        _ -> sink_idle()
    end.

sink_counting(Pid, Wanted, 0) ->
    Pid ! {done, Wanted},
    sink_idle();
sink_counting(Pid, Wanted, Left) ->
    receive _ -> sink_counting(Pid, Wanted, Left - 1) end.
