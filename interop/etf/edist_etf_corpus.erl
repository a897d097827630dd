%% The codec corpus: varied terms built inside a live node, for edist's codec interop test
%% (interop/etf/codec_interop_test.cpp) and benchmark (bench/etf/). Embedded in those programs
%% and compiled by the node under test, so the terms come from that OTP release: its pids,
%% ports, references and funs, its map order, its compression.
-module(edist_etf_corpus).

-export([prepare/0, check/1, roundtrip/1, sort_sample/0, check_sorted/1, bench_corpus/0,
         bench/2]).

-define(KEY, {?MODULE, corpus}).
-define(OPTS, [{minor_version, 2}]).

%% Builds the corpus, keeps it for check/1, and returns
%% [{Name, term_to_binary(T, [{minor_version, 2}]), Level, term_to_binary(T, [{compressed, Level},
%% {minor_version, 2}])}] with the level cycling through 1..9.
prepare() ->
    Corpus = corpus(),
    persistent_term:put(?KEY, Corpus),
    Indexed = lists:zip(lists:seq(0, length(Corpus) - 1), Corpus),
    [{Name, term_to_binary(T, ?OPTS), 1 + I rem 9,
      term_to_binary(T, [{compressed, 1 + I rem 9} | ?OPTS])}
     || {I, {Name, T}} <- Indexed].

%% Ours: one {PlainBytes, CompressedBytes} per corpus entry, encoded by edist. Returns the names
%% of the entries whose bytes do not decode to a term exactly equal (=:=) to the original.
check(Ours) ->
    Corpus = persistent_term:get(?KEY),
    [{Name, What}
     || {{Name, T}, {Plain, Compressed}} <- lists:zip(Corpus, Ours),
        {What, Bytes} <- [{plain, Plain}, {compressed, Compressed}],
        not same(T, Bytes)].

same(T, Bytes) ->
    try binary_to_term(Bytes) of
        Back -> Back =:= T
    catch
        error:badarg -> false
    end.

%% What the node makes of each of our encodings: its own encoding of the decoded term, or
%% {error, Reason} when it cannot decode it.
roundtrip(Bins) ->
    [try binary_to_term(B) of
         T -> term_to_binary(T, ?OPTS)
     catch
         Class:Reason -> {error, {Class, Reason}}
     end
     || B <- Bins].

%% A shuffled list with every kind of term, including identifiers of this node and of others,
%% and the same list as lists:sort/1 orders it.
sort_sample() ->
    rand:seed(exsss, {3, 5, 7}),
    L = [X || {_, X} <- lists:sort([{rand:uniform(), X} || X <- sort_items()])],
    persistent_term:put({?MODULE, sort_sample}, L),
    {L, lists:sort(L)}.

%% How Ours (our sort of the last sort_sample/0) compares with BEAM's order.
check_sorted(Ours) ->
    L = persistent_term:get({?MODULE, sort_sample}),
    Sorted = lists:sort(L),
    Pairs = lists:zip(lists:droplast(Ours), tl(Ours)),
    #{same_length => length(Ours) =:= length(L),
      same_as_lists_sort => Ours == Sorted,
      non_decreasing => lists:all(fun({A, B}) -> A =< B end, Pairs),
      first_difference => first_difference(Ours, Sorted, 0)}.

first_difference([A | As], [B | Bs], I) when A == B -> first_difference(As, Bs, I + 1);
first_difference([], [], _) -> none;
first_difference(As, Bs, I) -> {I, lists:sublist(As, 3), lists:sublist(Bs, 3)}.

%% The benchmark corpus: the same terms without the few huge ones, so that the mean time per
%% term reflects ordinary traffic rather than megabyte binaries.
bench_corpus() ->
    [{Name, B} || {Name, T} <- corpus(), B <- [term_to_binary(T, ?OPTS)], byte_size(B) =< 65536].

%% Times binary_to_term/1 and term_to_binary/2 over Bins (a list of encodings) Iterations times.
%% Returns {DecodeWallNs, DecodeCpuNs, EncodeWallNs, EncodeCpuNs, TermsPerIteration}: wall time
%% from timer:tc, CPU time of the whole emulator from statistics(runtime) (millisecond
%% resolution, so run for a second or more; on an idle node it is this process's work, garbage
%% collection included).
bench(Bins, Iterations) ->
    Terms = [binary_to_term(B) || B <- Bins],
    garbage_collect(),
    {_, _} = statistics(runtime),
    {DecodeUs, _} = timer:tc(fun() -> decode_loop(Bins, Iterations) end),
    {_, DecodeCpuMs} = statistics(runtime),
    garbage_collect(),
    {_, _} = statistics(runtime),
    {EncodeUs, _} = timer:tc(fun() -> encode_loop(Terms, Iterations) end),
    {_, EncodeCpuMs} = statistics(runtime),
    {DecodeUs * 1000, DecodeCpuMs * 1000000, EncodeUs * 1000, EncodeCpuMs * 1000000, length(Bins)}.

decode_loop(_, 0) -> ok;
decode_loop(Bins, N) ->
    lists:foreach(fun(B) -> binary_to_term(B) end, Bins),
    decode_loop(Bins, N - 1).

encode_loop(_, 0) -> ok;
encode_loop(Terms, N) ->
    lists:foreach(fun(T) -> term_to_binary(T, ?OPTS) end, Terms),
    encode_loop(Terms, N - 1).

%% ---- The corpus ---------------------------------------------------------------------------

corpus() ->
    rand:seed(exsss, {1, 2, 3}),
    lists:append([integers(), floats(), atoms(), binaries(), lists_and_strings(), tuples(),
                  maps(), identifiers(), funs(), nested(), realistic(), random_terms(60)]).

named(Prefix, Terms) ->
    [{iolist_to_binary(io_lib:format("~s ~b", [Prefix, I])), T}
     || {I, T} <- lists:zip(lists:seq(1, length(Terms)), Terms)].

integers() ->
    Edges = [0, 1, 255, 256, -1, -256, 1 bsl 27, -(1 bsl 27),
             (1 bsl 31) - 1, -(1 bsl 31), 1 bsl 31, -(1 bsl 31) - 1,
             (1 bsl 32) - 1, 1 bsl 32, (1 bsl 59) - 1, -(1 bsl 59), 1 bsl 59, -(1 bsl 59) - 1,
             (1 bsl 63) - 1, -(1 bsl 63), 1 bsl 63, -(1 bsl 63) - 1, (1 bsl 64) - 1, 1 bsl 64,
             -(1 bsl 64),
             %% The largest SMALL_BIG_EXT and the smallest LARGE_BIG_EXT.
             (1 bsl 2040) - 1, -((1 bsl 2040) - 1), 1 bsl 2040, -(1 bsl 2040)],
    Huge = [pow(7, 5000), -pow(3, 9000), pow(10, 3000) + 1, -(pow(2, 20000) - 1),
            list_to_integer(lists:duplicate(4000, $9))],
    Random = [rand:uniform(1 bsl (8 * N)) * sign() || N <- [1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 100]],
    named("integer", Edges ++ Huge ++ Random).

pow(B, E) -> pow(B, E, 1).
pow(_, 0, Acc) -> Acc;
pow(B, E, Acc) -> pow(B, E - 1, Acc * B).

sign() ->
    case rand:uniform(2) of 1 -> 1; 2 -> -1 end.

floats() ->
    Special = [0.0, -0.0, 1.0, -1.0, 0.1, 1/3, 3.141592653589793, 2.718281828459045,
               5.0e-324, -5.0e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
               -1.7976931348623157e308, 1.0e100, 123456789.125, float(1 bsl 53),
               float((1 bsl 53) + 2)],
    Random = [F || <<F/float>> <- [<<(rand:uniform(1 bsl 64) - 1):64>> || _ <- lists:seq(1, 30)]],
    named("float", Special ++ Random).

atoms() ->
    Latin1 = [list_to_atom([C]) || C <- lists:seq(16#A0, 16#FF, 5)],
    Unicode = [list_to_atom(S) || S <- [[16#65E5, 16#672C, 16#8A9E], [16#3A9, 16#3BC, 16#3AD, 16#3B3, 16#3B1],
                                       [16#1F600, 16#1F680], [16#10FFFF], [16#D7FF, 16#E000],
                                       "h" ++ [16#E9] ++ "llo"]],
    Long = [list_to_atom(lists:duplicate(255, $a)),
            list_to_atom(lists:duplicate(255, 16#1F600)),  % 255 characters, 1020 bytes
            list_to_atom(lists:duplicate(128, 16#E9)),     % 256 bytes: ATOM_UTF8_EXT
            list_to_atom(lists:duplicate(127, 16#E9)),     % 254 bytes
            list_to_atom(lists:duplicate(14, $b)), list_to_atom(lists:duplicate(15, $c))],
    Plain = ['', ok, error, undefined, true, false, nil, 'Elixir.Enum', 'with space', node()],
    named("atom", Plain ++ Latin1 ++ Unicode ++ Long).

binaries() ->
    Big = crypto_free_bytes(100000),
    <<_:3, Sub:9000/binary, _/bitstring>> = Big,
    Bits = [<<(rand:uniform(255)):N>> || N <- lists:seq(1, 7)]
           ++ [<<Big:40/binary, 5:3>>, <<1:1>>, <<0:7>>, <<Sub/binary, 1:5>>],
    named("binary", [<<>>, <<"abc">>, <<0, 255, 128>>, unicode:characters_to_binary([16#1F600]),
                     binary:copy(<<"x">>, 63), binary:copy(<<"y">>, 64), binary:copy(<<"z">>, 65),
                     Big, Sub, binary:part(Big, 100, 1000)] ++ Bits).

crypto_free_bytes(N) ->
    list_to_binary([rand:uniform(256) - 1 || _ <- lists:seq(1, N)]).

lists_and_strings() ->
    Strings = ["", "a", "hello world", lists:seq(0, 255), lists:duplicate(65535, 7),
               lists:duplicate(65536, 7), [16#20AC, 16#1F600], [256], [-1], [1, 2, 300],
               lists:seq(1, 100000)],
    Improper = [[1 | 2], [a, b | c], [1, 2, 3 | <<"tail">>], [[] | []], [{} | {}],
                [1 | #{}], [x | 1.5], ["abc" | "def"], [1, 2 | [3 | 4]], [[1 | 2] | [3 | 4]]],
    Mixed = [[[]], [[], [[]]], [a, 1, 2.0, <<"b">>, {c}, [d], #{e => f}], lists:duplicate(300, ok)],
    named("list", Strings ++ Improper ++ Mixed).

tuples() ->
    named("tuple", [{}, {a}, {1, 2}, list_to_tuple(lists:seq(1, 255)),
                    list_to_tuple(lists:seq(1, 256)), list_to_tuple(lists:duplicate(70000, x)),
                    {{{}}}, {ok, {error, {reason, []}}}]).

maps() ->
    Keys = [1, 1.0, -0.0, 0.0, a, <<"a">>, "a", {a}, [a], #{a => 1}, self(), make_ref(),
            1 bsl 70, 2.5, '', <<>>, [], {}],
    Mixed = maps:from_list([{K, I} || {I, K} <- lists:zip(lists:seq(1, length(Keys)), Keys)]),
    Small = [#{}, #{a => 1}, #{b => 2, a => 1}, #{1 => a, 1.0 => b}, #{<<"k">> => #{nested => #{}}},
             maps:from_list([{list_to_atom("k" ++ integer_to_list(I)), I} || I <- lists:seq(1, 32)]),
             maps:from_list([{I, I} || I <- lists:seq(1, 32)])],
    Large = [maps:from_list([{list_to_atom("k" ++ integer_to_list(I)), I} || I <- lists:seq(1, 33)]),
             maps:from_list([{I, [I]} || I <- lists:seq(1, 1000)]),
             maps:from_list([{integer_to_binary(I), {I}} || I <- lists:seq(1, 200)])],
    named("map", [Mixed] ++ Small ++ Large).

identifiers() ->
    Spawned = [spawn(fun() -> ok end) || _ <- lists:seq(1, 5)],
    Refs = [make_ref() || _ <- lists:seq(1, 5)],
    Monitor = erlang:monitor(process, self()),
    erlang:demonitor(Monitor),
    Alias = alias(),
    unalias(Alias),
    named("identifier", [self(), whereis(init), whereis(erl_prim_loader) | Spawned]
                        ++ Refs ++ [Monitor, Alias] ++ erlang:ports()
                        ++ external_identifiers()).

%% Identifiers of other nodes, built from their external format.
external_identifiers() ->
    Nodes = ['other@host', 'x@127.0.0.1', node(), 'a_very_long_node_name_for_tests@some.host.example'],
    lists:append(
      [[binary_to_term(<<131, 88, (atom_bytes(N))/binary, Id:32, Serial:32, Cr:32>>)
        || {Id, Serial, Cr} <- [{1, 0, 1}, {16#7FFF, 3, 16#FFFFFFFF}, {16#FFFFFFF, 0, 5}]]
       ++ [binary_to_term(<<131, 89, (atom_bytes(N))/binary, 7:32, 3:32>>),
           binary_to_term(<<131, 120, (atom_bytes(N))/binary, (1 bsl 40):64, 3:32>>)]
       ++ [binary_to_term(<<131, 90, Len:16, (atom_bytes(N))/binary, 9:32,
                            (list_to_binary([<<W:32>> || W <- lists:seq(1, Len)]))/binary>>)
           || Len <- [1, 2, 3, 4, 5]]
       || N <- Nodes]).

atom_bytes(A) ->
    B = atom_to_binary(A, utf8),
    <<119, (byte_size(B)), B/binary>>.

funs() ->
    X = rand:uniform(100),
    Env = {captured, [1, 2, 3], #{k => v}},
    Closures = [fun() -> ok end, fun(A) -> A + X end, fun(A, B) -> {A, B, Env} end,
                fun(_) -> self() end, fun lists:map/2, fun erlang:self/0,
                fun no_such_module:no_such_function/3, fun ?MODULE:corpus/0],
    named("fun", Closures ++ [{Closures}, [fun() -> X end | fun() -> Env end]]).

nested() ->
    DeepTuple = lists:foldl(fun(_, Acc) -> {Acc} end, leaf, lists:seq(1, 1000)),
    DeepList = lists:foldl(fun(_, Acc) -> [Acc] end, [], lists:seq(1, 3000)),
    DeepMap = lists:foldl(fun(I, Acc) -> #{I => Acc} end, #{}, lists:seq(1, 500)),
    DeepImproper = lists:foldl(fun(I, Acc) -> [I | Acc] end, tail, lists:seq(1, 2000)),
    Alternating = lists:foldl(fun(I, Acc) when I rem 3 =:= 0 -> {I, Acc};
                                 (I, Acc) when I rem 3 =:= 1 -> [Acc, I];
                                 (I, Acc) -> #{I => Acc} end, x, lists:seq(1, 900)),
    named("nested", [DeepTuple, DeepList, DeepMap, DeepImproper, Alternating]).

realistic() ->
    Pid = self(),
    Ref = make_ref(),
    named("realistic",
          [{'$gen_call', {Pid, Ref}, {is_auth, node()}},
           {'$gen_call', {Pid, [alias | Ref]}, {call, erlang, node, [], Pid}},
           {'$gen_cast', {init_connect, {6, 1}, node(), {locker, no_longer_a_pid, [], Pid}}},
           {Ref, {ok, [{name, <<"edist">>}, {version, "0.1.0"}, {opts, #{timeout => 5000}}]}},
           {state, Pid, [{k, v} || _ <- lists:seq(1, 20)], #{queue => {[], []}}, 12.5, <<"bin">>},
           [{K, integer_to_binary(K)} || K <- lists:seq(1, 100)],
           {error, {badarg, [{erlang, binary_to_term, [<<1, 2, 3>>], [{file, "x.erl"}, {line, 3}]}]}},
           #{<<"id">> => 42, <<"name">> => <<"Ada">>, <<"tags">> => [<<"a">>, <<"b">>],
             <<"score">> => 9.75, <<"active">> => true, <<"meta">> => #{<<"n">> => null}}]).

%% Random nested terms of every kind.
random_terms(N) ->
    named("random", [random_term(4) || _ <- lists:seq(1, N)]).

random_term(0) ->
    random_leaf();
random_term(D) ->
    case rand:uniform(10) of
        1 -> list_to_tuple([random_term(D - 1) || _ <- lists:seq(1, rand:uniform(6) - 1)]);
        2 -> [random_term(D - 1) || _ <- lists:seq(1, rand:uniform(6) - 1)];
        3 -> [random_term(D - 1) | random_leaf()];
        4 -> maps:from_list([{random_leaf(), random_term(D - 1)} || _ <- lists:seq(1, rand:uniform(5))]);
        _ -> random_leaf()
    end.

random_leaf() ->
    case rand:uniform(9) of
        1 -> rand:uniform(1000) - 500;
        2 -> rand:uniform(1 bsl 70) * sign();
        3 -> rand:uniform() * 1000;
        4 -> list_to_atom("r" ++ integer_to_list(rand:uniform(50)));
        5 -> list_to_binary([rand:uniform(256) - 1 || _ <- lists:seq(1, rand:uniform(80))]);
        6 -> [rand:uniform(255) || _ <- lists:seq(1, rand:uniform(20))];
        7 -> self();
        8 -> make_ref();
        9 -> <<(rand:uniform(127)):7>>
    end.

%% Every kind of term for the order check, with values that tie under == (1 and 1.0).
sort_items() ->
    Others = external_identifiers(),
    Spawned = [spawn(fun() -> ok end) || _ <- lists:seq(1, 4)],
    [0, 1, 1.0, -1, 2.5, -0.0, 1 bsl 70, -(1 bsl 70), 1.0e30, 1 bsl 100, 3, 2.9999,
     a, b, '', 'Z', 'é', ab, abc, node(),
     make_ref(), make_ref(), alias(),
     fun() -> ok end, fun(_) -> 1 end, fun lists:map/2, fun lists:filter/2, fun erlang:self/0,
     self() | Spawned]
    ++ erlang:ports()
    ++ Others
    ++ [{}, {a}, {a, b}, {b}, {1, 2, 3}, #{}, #{a => 1}, #{a => 2}, #{b => 1}, #{1 => a},
        #{1.0 => a}, #{a => 1, b => 2}, [], [a], [a, b], [a | b], [b], "abc", "abd", [1 | 2],
        <<>>, <<1>>, <<1, 2>>, <<1:1>>, <<2:2>>, <<255>>, <<"abc">>, <<0:7>>].
