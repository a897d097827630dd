%% The control side of edist::testing::beam_node, running inside a test BEAM node.
%%
%% The C++ test process talks to this module over a stream socket that the node inherits as
%% file descriptors 3 (read) and 4 (write), framed with {packet,4}. It is not Erlang
%% distribution, so tests can drive a node before (and independently of) edist's own
%% distribution code. The node's stdout/stderr are a log file: nothing printed can corrupt the
%% channel.
%%
%% Request:  <<Type:8, Id:32, Payload/binary>>
%%   1 eval         Payload = expression text (UTF-8)   -> ok: term_to_binary(Result)
%%   2 eval_format  Payload = expression text (UTF-8)   -> ok: io_lib:format("~0p", [Result])
%%   3 apply        Payload = <<ML:16, M:ML/binary, FL:16, F:FL/binary, N:32,
%%                              N x <<Len:32, TermToBinary:Len/binary>>>>
%%                                                      -> ok: term_to_binary(Result)
%%   4 stop         the node halts; no reply
%% Reply:    <<Status:8, Id:32, Payload/binary>>
%%   0 ok, 1 exception (Payload = three <<Len:32, Text/binary>>: class, reason, stack, each
%%   formatted with ~0tp), 2 bad request (Payload = text), 3 ready (Id 0, Payload = node name;
%%   sent once, unasked, when the node is up and distributed).
%%
%% Evaluation runs in one long-lived process registered as edist_test_evaluator, so self() is
%% stable between calls and tests can leave messages in its mailbox (also from other nodes) for
%% a later `receive`. If the evaluated code kills it, it is restarted under the same name.
%% When the channel closes (the test process ended, even by a crash) the node halts.
-module(edist_test_control).

-export([start/0, controller/0, evaluator/0]).

-define(EVAL, 1).
-define(EVAL_FORMAT, 2).
-define(APPLY, 3).
-define(STOP, 4).

-define(OK, 0).
-define(EXCEPTION, 1).
-define(BAD_REQUEST, 2).
-define(READY, 3).

-define(REQUEST_TAG, '$edist_test_request').
-define(REPLY_TAG, '$edist_test_reply').

%% Called with `-s edist_test_control start` (or from elixir -e); returns at once.
start() ->
    Pid = spawn(?MODULE, controller, []),
    register(edist_test_control, Pid),
    ok.

controller() ->
    process_flag(trap_exit, true),
    Port = open_port({fd, 3, 4}, [binary, {packet, 4}, eof]),
    Evaluator = start_evaluator(),
    wait_until_distributed(200),
    port_command(Port, <<?READY, 0:32, (atom_to_binary(node(), utf8))/binary>>),
    controller_loop(Port, Evaluator, none).

%% With -sname/-name, net_kernel runs before -s functions are called; elixir's -e may come
%% earlier in some versions, hence the short wait.
wait_until_distributed(0) ->
    ok;
wait_until_distributed(N) ->
    case is_alive() andalso whereis(net_kernel) =/= undefined of
        true ->
            ok;
        false ->
            timer:sleep(10),
            wait_until_distributed(N - 1)
    end.

start_evaluator() ->
    Pid = spawn(?MODULE, evaluator, []),
    register(edist_test_evaluator, Pid),
    {Pid, erlang:monitor(process, Pid)}.

%% Current = none | Id of the request the evaluator is working on.
controller_loop(Port, {EvalPid, EvalRef} = Evaluator, Current) ->
    receive
        {Port, {data, <<?STOP, _Id:32, _/binary>>}} ->
            halt_node();
        {Port, {data, <<Type, Id:32, Payload/binary>>}} when
            Type =:= ?EVAL; Type =:= ?EVAL_FORMAT; Type =:= ?APPLY
        ->
            EvalPid ! {?REQUEST_TAG, self(), Id, Type, Payload},
            controller_loop(Port, Evaluator, Id);
        {Port, {data, <<_Type, Id:32, _/binary>>}} ->
            port_command(Port, <<?BAD_REQUEST, Id:32, "unknown request type">>),
            controller_loop(Port, Evaluator, Current);
        {Port, {data, _Short}} ->
            port_command(Port, <<?BAD_REQUEST, 0:32, "short request">>),
            controller_loop(Port, Evaluator, Current);
        {?REPLY_TAG, Id, Frame} ->
            port_command(Port, Frame),
            controller_loop(Port, Evaluator, case Current of Id -> none; _ -> Current end);
        {'DOWN', EvalRef, process, EvalPid, Reason} ->
            case Current of
                none -> ok;
                Id -> port_command(Port, exception_frame(Id, exit, Reason, []))
            end,
            controller_loop(Port, start_evaluator(), none);
        {Port, eof} ->
            halt_node();
        {'EXIT', Port, _} ->
            halt_node();
        _Other ->
            controller_loop(Port, Evaluator, Current)
    end.

halt_node() ->
    erlang:halt(0).

evaluator() ->
    receive
        {?REQUEST_TAG, Controller, Id, Type, Payload} ->
            Frame =
                try handle(Type, Payload) of
                    Bin -> <<?OK, Id:32, Bin/binary>>
                catch
                    throw:{edist_bad_request, Text} ->
                        <<?BAD_REQUEST, Id:32, (unicode:characters_to_binary(Text))/binary>>;
                    Class:Reason:Stack ->
                        exception_frame(Id, Class, Reason, Stack)
                end,
            Controller ! {?REPLY_TAG, Id, Frame},
            evaluator()
    end.

handle(?EVAL, Text) ->
    term_to_binary(eval(Text), [{minor_version, 2}]);
handle(?EVAL_FORMAT, Text) ->
    unicode:characters_to_binary(io_lib:format("~0p", [eval(Text)]));
handle(?APPLY, Payload) ->
    {M, F, Args} = decode_apply(Payload),
    term_to_binary(apply(M, F, Args), [{minor_version, 2}]).

eval(Text) ->
    String =
        case unicode:characters_to_list(Text) of
            S when is_list(S) -> S;
            _ -> throw({edist_bad_request, "expression is not valid UTF-8"})
        end,
    Tokens =
        case erl_scan:string(String) of
            {ok, Ts, EndLocation} -> add_dot(Ts, EndLocation);
            {error, ScanError, _} -> erlang:error({scan_error, ScanError})
        end,
    Exprs =
        case erl_parse:parse_exprs(Tokens) of
            {ok, Es} -> Es;
            {error, ParseError} -> erlang:error({parse_error, ParseError})
        end,
    {value, Value, _Bindings} = erl_eval:exprs(Exprs, erl_eval:new_bindings()),
    Value.

add_dot(Tokens, EndLocation) ->
    case lists:reverse(Tokens) of
        [{dot, _} | _] -> Tokens;
        _ -> Tokens ++ [{dot, EndLocation}]
    end.

decode_apply(<<ML:16, M:ML/binary, FL:16, F:FL/binary, N:32, Rest/binary>>) ->
    Args = decode_args(N, Rest, []),
    {binary_to_atom(M, utf8), binary_to_atom(F, utf8), Args};
decode_apply(_) ->
    throw({edist_bad_request, "malformed apply request"}).

decode_args(0, <<>>, Acc) ->
    lists:reverse(Acc);
decode_args(N, <<Len:32, Arg:Len/binary, Rest/binary>>, Acc) when N > 0 ->
    Term =
        try
            binary_to_term(Arg)
        catch
            error:badarg -> throw({edist_bad_request, "argument is not external term format"})
        end,
    decode_args(N - 1, Rest, [Term | Acc]);
decode_args(_, _, _) ->
    throw({edist_bad_request, "malformed apply arguments"}).

exception_frame(Id, Class, Reason, Stack) ->
    Parts = [atom_to_binary(Class, utf8), format(Reason), format(Stack)],
    iolist_to_binary([<<?EXCEPTION, Id:32>> | [[<<(byte_size(P)):32>>, P] || P <- Parts]]).

format(Term) ->
    unicode:characters_to_binary(io_lib:format("~0tp", [Term])).
