#!/usr/bin/env escript
%% Writes the seed corpus of etf_decode_fuzz: small terms of every kind as a live node encodes
%% them (current and old tags, compressed). Run from the repository root:
%%   fuzz/make_etf_decode_seeds.escript [fuzz/corpus/etf_decode]
main(Args) ->
    Dir = case Args of [D] -> D; [] -> "fuzz/corpus/etf_decode" end,
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    Terms = [0, 255, 256, -1, 1 bsl 31, -(1 bsl 63), 1 bsl 64, 1 bsl 2100, 1.5, -0.0,
             ok, '', 'h\x{e9}llo', '\x{65E5}\x{672C}', list_to_atom(lists:duplicate(20, $a)),
             <<>>, <<"bin">>, <<1:3>>, binary:copy(<<"z">>, 40), [], "abc", [1, 2 | 3], [a, [b]],
             [256, 1.0], {}, {a, {b, {c}}}, list_to_tuple(lists:seq(1, 300)), #{}, #{a => 1, 1 => a},
             #{[1] => {x}, <<"k">> => #{}}, self(), make_ref(), hd(erlang:ports()),
             fun lists:map/2, fun(X) -> X end, {'$gen_call', {self(), make_ref()}, {is_auth, node()}}],
    Encodings =
        lists:append([[term_to_binary(T, [{minor_version, 2}]), term_to_binary(T, [{minor_version, 0}])]
                      || T <- Terms])
        ++ [term_to_binary(lists:duplicate(50, hello), [compressed]),
            term_to_binary(binary:copy(<<"ab">>, 100), [{compressed, 9}])],
    Unique = lists:usort(Encodings),
    lists:foreach(fun({I, B}) ->
                          Name = filename:join(Dir, io_lib:format("seed_~3..0b", [I])),
                          ok = file:write_file(Name, B)
                  end, lists:zip(lists:seq(1, length(Unique)), Unique)),
    io:format("~b seeds in ~s~n", [length(Unique), Dir]).
