#!/bin/sh
# The explorer on a real terminal: tmux runs sidr in a pane, send-keys types,
# capture-pane reads the screen back.  Covers start-up, a streamed run, keys
# handled while the engine decodes, Esc cancel and a following run, the
# readline command line and its saved history, help, search, KEY_RESIZE
# (bigger, too small, back), mouse clicks, colours versus NO_COLOR, q, a
# history edit and the diff view, an A/B compare, and
# `sidr` alone opening the explorer on the demo.  Skips when tmux is absent
# (./quickstart installs it).  Emits TAP.
SIDR=${SIDR:-./sidr}
TESTDIR=${SIDR_TESTDIR:-tests}
if ! command -v tmux >/dev/null 2>&1; then
  echo "1..0 # SKIP tmux is not installed (./quickstart installs it for make check)"
  exit 0
fi
. "$TESTDIR/ui_lib.sh"
TMP=$(mktemp -d)
SOCK=sidr-test-$$
T="tmux -L $SOCK -f /dev/null"
trap '$T kill-server >/dev/null 2>&1; rm -rf "$TMP"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }

if ! ui_build_model "$TMP"; then
  echo "not ok 1 - build the tiny model"; echo "1..1"; exit 1
fi
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
SIDR_ABS=$(abs "$SIDR")
DATA=$(abs "$TESTDIR/fixtures/data/minionerec")
M=$TMP/model
ENVS="HOME=$TMP XDG_CONFIG_HOME=$TMP/config XDG_STATE_HOME=$TMP/state LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color"

# start NAME WxH EXTRA_ENV ARGS...: the command's exit status is printed after it ends
start() {
  name=$1 size=$2 extra=$3
  shift 3
  $T new-session -d -s "$name" -x "${size%x*}" -y "${size#*x}" \
    "env $ENVS $extra $SIDR_ABS $*; echo EXITED \$?; sleep 60"
}
screen() { $T capture-pane -p -t "$1"; }
# wait_for NAME TEXT [SECONDS]: polls the screen for TEXT
wait_for() {
  i=0 limit=$((${3:-30} * 10))
  while [ $i -lt $limit ]; do
    screen "$1" | grep -qF -- "$2" && return 0
    sleep 0.1
    i=$((i + 1))
  done
  echo "# waited for '$2'; the screen:"; screen "$1" | sed 's/^/# /'
  return 1
}
keys() { s=$1; shift; $T send-keys -t "$s" "$@"; }
check() { # NAME SESSION TEXT [SECONDS]
  if wait_for "$2" "$3" "$4"; then ok "$1"; else nok "$1"; fi
}

EXPLORE="explore --model $M --data $DATA --max-reasoning 40 --beams 4"
start s1 80x24 "" "$EXPLORE"
check "the explorer starts in a tmux pane at 80x24" s1 "1 Users"
screen s1 >"$TMP/screen"
[ "$(wc -l <"$TMP/screen")" -eq 24 ] && grep -qF "Café Thermometer – 日本製" "$TMP/screen" \
  && ok "24 rows drawn, UTF-8 titles intact" || nok "24 rows drawn, UTF-8 titles intact"
keys s1 Enter
check "Enter streams a run to its end: hit at rank 3" s1 "hit @3"
screen s1 | grep -q "3★<a_2><b_11><c_5>" && ok "the Beam pane marks the target in the top-K" || nok "the Beam pane marks the target in the top-K"
keys s1 '?'
check "? opens the help generated from the key table" s1 "sidr explorer: keys and commands"
keys s1 q
check "q closes the help first" s1 "1 Users"
keys s1 / u3 Enter
check "/ searches the Users pane" s1 "Users 3/4"
keys s1 : 'beams 3' Enter
check ":beams 3 through readline changes the settings" s1 "B3"
keys s1 C-l
check "Ctrl-L redraws" s1 "1 Users"

# keys between engine steps: a long run, help opened and closed while it decodes, then Esc
keys s1 : 'maxtok 3000' Enter  # within the demo's max_position_embeddings 4096
keys s1 r
# wait until tokens stream (the prompt is prefilled in chunks first; slow under sanitizers)
i=0
while [ $i -lt 600 ] && ! screen s1 | grep -q "reasoning [1-9][0-9]*/3000"; do sleep 0.1; i=$((i + 1)); done
if [ $i -lt 600 ]; then ok "a long run streams"; else nok "a long run streams"; screen s1 | sed 's/^/# /'; fi
keys s1 '?'
if wait_for s1 "sidr explorer: keys and commands" 15 && screen s1 | grep -q "reasoning [0-9]*/3000"; then
  ok "keys are handled while the engine decodes (help opens mid-run)"
else nok "keys are handled while the engine decodes (help opens mid-run)"; fi
keys s1 q
keys s1 p
check "p pauses the run" s1 "paused reasoning"
keys s1 s
check "s steps while paused" s1 "paused after one step"
keys s1 Escape
check "Esc cancels mid-reasoning" s1 "cancelled during the reasoning"
keys s1 : 'maxtok 40' Enter
keys s1 r
check "a run after the cancel completes" s1 "hit @3" 20

# resize
if $T resize-window -t s1 -x 100 -y 30 >/dev/null 2>&1; then
  check "KEY_RESIZE redraws at 100x30 (the brand column appears)" s1 "Taylor"
  $T resize-window -t s1 -x 50 -y 12
  check "a terminal below 60x16 says it is too small" s1 "Terminal too small: 50x12"
  $T resize-window -t s1 -x 80 -y 24
  check "growing it back restores the panes" s1 "1 Users"
else
  skip "tmux resize-window unavailable (tmux < 2.9)"
fi

# mouse: SGR (1006) clicks, as xterm-256color's terminfo declares, on U5's
# row (screen row 5, column 2): the first selects, the second opens
click() { printf '\033[<0;%d;%dM\033[<0;%d;%dm' $(($2 + 1)) $(($1 + 1)) $(($2 + 1)) $(($1 + 1)); }
keys s1 1
$T send-keys -t s1 -l "$(click 5 2)"
sleep 0.3
$T send-keys -t s1 -l "$(click 5 2)"
check "mouse clicks select and open a user" s1 "History U5" 3
# the wheel: a click on U1's row, then the wheel down over Users moves 3 lines
$T send-keys -t s1 -l "$(click 2 2)"
check "a click moves the Users cursor" s1 "Users 1/4" 3
$T send-keys -t s1 -l "$(printf '\033[<65;3;4M')"
check "the mouse wheel scrolls the pane under it" s1 "Users 4/4" 3

# colours: SGR colour codes with colours, none with NO_COLOR
$T capture-pane -e -p -t s1 >"$TMP/colour"
grep -q "$(printf '\033')\[[0-9;]*3[0-7]m\|38;5;" "$TMP/colour" && ok "colours are drawn by default" || nok "colours are drawn by default"
start s2 80x24 "NO_COLOR=1" "$EXPLORE"
if wait_for s2 "1 Users"; then
  $T capture-pane -e -p -t s2 >"$TMP/mono"
  if grep -q "$(printf '\033')\[[0-9;]*3[0-7]m\|38;5;\|4[0-7]m" "$TMP/mono"; then nok "NO_COLOR draws without colours"
  else ok "NO_COLOR draws without colours (attributes only)"; fi
else nok "NO_COLOR session starts"; fi
keys s2 q
check "q quits with status 0" s2 "EXITED 0"

keys s1 q
check "the first session quits too" s1 "EXITED 0"
grep -qx "beams 3" "$TMP/state/sidr/history" 2>/dev/null && ok "the command history is saved in \$XDG_STATE_HOME/sidr/history" \
  || nok "the command history is saved in \$XDG_STATE_HOME/sidr/history"

# SIGTERM: the loop ends, the terminal is restored, status 0
start s5 80x24 "" "$EXPLORE"
if wait_for s5 "1 Users"; then
  pid=$(pgrep -P "$($T display -p -t s5 '#{pane_pid}')" | head -1)
  [ -n "$pid" ] && kill -TERM "$pid"
  check "SIGTERM ends the explorer cleanly" s5 "EXITED 0"
else nok "SIGTERM ends the explorer cleanly"; fi

# a counterfactual edit and the diff view, with NO_COLOR (the [-..-] {+..+} markers and rank moves carry it)
start s9 80x24 "NO_COLOR=1" "$EXPLORE"
check "an explorer for an edit starts" s9 "1 Users"
keys s9 Enter
check "the original run ends: hit at rank 3" s9 "hit @3"
keys s9 2 d
check "d in History deletes the item under the cursor; the title counts the edit" s9 "4 items  1 EDIT: u undo, D diff"
keys s9 r
check "r runs the edited history" s9 "edited history (1 edit)"
keys s9 D
check "D opens the diff view" s9 "original vs edited history"
if screen s9 | grep -q "^ original rank 3 of 4, edited " && screen s9 | grep -q "^ original  *│ edited"; then
  ok "the diff view shows the target's rank in both runs and the top-K side by side"
else nok "the diff view shows the target's rank in both runs and the top-K side by side"; screen s9 | sed 's/^/# /'; fi
keys s9 Escape
check "Esc closes the diff view" s9 "2 History"
keys s9 u
check "u undoes the edit" s9 "U1 test:0 5 items"
keys s9 q
check "and quits" s9 "EXITED 0"

# A/B compare on a real terminal: model B is the tiny model with its last MLP
# output scaled (python3 makes it); :compare loads it, r runs both, C shows them
if command -v python3 >/dev/null 2>&1 && ui_perturb_model "$M" "$TMP/model-b" 0.3; then
  start s10 100x30 "" "$EXPLORE"
  check "an explorer for a compare starts" s10 "1 Users"
  keys s10 : "compare $TMP/model-b" Enter
  check ":compare loads model B" s10 "model B model-b: all"
  check "the status bar says A/B and names model B" s10 "vs B model-b"
  keys s10 Enter
  check "a run on A then B ends with both ranks on the message line" s10 "target: A "
  keys s10 C
  check "C opens the compare view" s10 "A model vs B model-b"
  if screen s10 | grep -q "^ A rank\|^ A miss" && screen s10 | grep -q "First divergent token\|none: both traces"; then
    ok "the compare view shows both ranks of the target and the first divergent token"
  else nok "the compare view shows both ranks of the target and the first divergent token"; screen s10 | sed 's/^/# /'; fi
  keys s10 Escape
  check "Esc closes the compare view" s10 "2 History"
  keys s10 : "compare off" Enter
  check ":compare off unloads model B" s10 "compare off: model B model-b unloaded"
  keys s10 q
  check "and quits" s10 "EXITED 0"
else skip "A/B compare: python3 is needed to make model B"; fi

# `sidr` alone opens the explorer when the demo is installed (here: a fake share/)
mkdir -p "$TMP/share/demo"
ln -s "$M" "$TMP/share/demo/model"
ln -s "$DATA" "$TMP/share/demo/data"
start s3 80x24 "SIDR_SHARE=$TMP/share" ""
check "sidr with no arguments opens the explorer on the demo" s3 "1 Users"
keys s3 q
check "and quits" s3 "EXITED 0"
start s4 80x24 "SIDR_SHARE=$TMP/nothing" ""
check "without the demo, sidr alone prints the usage" s4 "alone opens the explorer on the embedded demo"

# terminals the explorer cannot draw on: a clear message and status 1, not a garbled screen
start s6 80x24 "TERM=dumb" "$EXPLORE"
check "TERM=dumb says the terminal cannot move the cursor" s6 "TERM=dumb cannot move the cursor"
check "and exits with status 1" s6 "EXITED 1"
start s7 80x24 "TERM=no-such-terminal" "$EXPLORE"
check "an unknown TERM is named, with what to set instead" s7 "TERM=no-such-terminal: no such terminal type in terminfo"
check "and exits with status 1 (not ncurses' own exit)" s7 "EXITED 1"
start s8 100x30 "LANG=C LC_ALL=C" "$EXPLORE"
check "LANG=C opens the explorer (ASCII drawing)" s8 "1 Users"
if screen s8 | grep -q '│'; then nok "LANG=C draws no UTF-8 box characters"; else ok "LANG=C draws no UTF-8 box characters"; fi
keys s8 q
check "and quits" s8 "EXITED 0"

echo "1..$n"
