# Shared helpers for the end-to-end scripts that run VMs and talk to them: each VM
# has a NAME, a console on a FIFO the script holds open, its output in files, and
# maybe an API socket driven with curl. Sourced after tests/lib.sh, not run; the
# script sets $tmp (its scratch directory) and $duvisor (the binary) before it
# calls any of these, and calls vm_cleanup from its EXIT trap.
#
# Per VM, keyed by NAME:
#   pid[NAME]   the duvisor process (unset once it has been waited for)
#   fd[NAME]    the write end of its console FIFO $tmp/NAME.in
#   hung[NAME]  set when its guest stopped answering (see give_up_on_hung)
#   $tmp/NAME.out, $tmp/NAME.err   its stdout and stderr
# Settings a script may make before calling start:
#   vm_runner=(CMD ARGS...)  run duvisor under this command (jail.sh: setpriv ...)
#   vm_env=VAR=PREFIX        each VM gets VAR=PREFIXNAME in its environment
#                            (containment.sh finds a VM's processes by it)
#   give_up_on_hung=1        once hung[NAME] is set, gsh on NAME fails at once and
#                            wait_exit NAME waits 3 s at most (a hung guest must not
#                            make every later wait run to its end)

declare -A pid fd hung
vm_runner=()
trap '' PIPE # a write to the console of a VM that has gone must not end the script

# vm_cleanup: SIGKILL every VM still running and close their consoles.
vm_cleanup() {
  local p f
  for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null; done
  for f in "${fd[@]}"; do exec {f}>&-; done
}

# --- the API --------------------------------------------------------------------------------

# api SOCK METHOD PATH [BODY]: one request over the Unix socket SOCK (60 s at most);
# sets $code (the HTTP status, 000 if none) and $body.
api() {
  local args=(-s -m 60 --unix-socket "$1" -o "$tmp/body" -w '%{http_code}' -X "$2"
    -H 'Accept: application/json')
  [ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' -d "$4")
  rm -f "$tmp/body"
  code=$(curl "${args[@]}" "http://localhost$3")
  body=$(cat "$tmp/body" 2>/dev/null)
}
# expect_api NAME STATUS SOCK METHOD PATH [BODY]: a check that the request gets STATUS
# (the check's name gets "(status $code)"; the body is shown when it fails).
expect_api() {
  local name=$1 want=$2; shift 2
  api "$@"
  expect "$name (status $code)" [ "$code" = "$want" ]
  [ "$code" = "$want" ] || echo "#   $2 $3: $body"
}
# json_ok JSON PYTHON-EXPR: the expression, over the JSON as d, is true.
json_ok() {
  python3 -c 'import json, sys
d = json.loads(sys.argv[1])
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null
}
# vm_state SOCK STATE: GET / answers 200 with that state ($code and $body are set).
vm_state() { api "$1" GET /; [ "$code" = 200 ] && json_ok "$body" "d['state'] == '$2'"; }

# --- VMs ------------------------------------------------------------------------------------

# start NAME ARGS...: "$duvisor" ARGS in the background, its stdin the FIFO
# $tmp/NAME.in held open on fd[NAME] (the guest shell's input), stdout and stderr
# in $tmp/NAME.out and .err (emptied); sets pid[NAME], clears hung[NAME]. A NAME
# may be started again once wait_exit or kill9 has ended it.
start() {
  local name=$1 f run=("${vm_runner[@]}"); shift
  [ -n "${vm_env:-}" ] && run+=(env "$vm_env$name")
  rm -f "$tmp/$name.in"
  mkfifo -m 666 "$tmp/$name.in" # 666: a VM under vm_runner may run as another user
  "${run[@]}" "$duvisor" "$@" <"$tmp/$name.in" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pid[$name]=$!
  exec {f}>"$tmp/$name.in"
  fd[$name]=$f
  unset "hung[$name]"
}
# shows NAME PATTERN: PATTERN (grep -E) is in NAME's output, carriage returns dropped.
shows() { tr -d '\r' <"$tmp/$1.out" | grep -aqE -- "$2"; }
# wait_for NAME PATTERN [SECONDS]: until PATTERN shows in NAME's output, SECONDS at
# most (60 by default); false if it has not (looked for once more if NAME ended).
wait_for() {
  local i
  for i in $(seq $((${3:-60} * 10))); do
    shows "$1" "$2" && return 0
    kill -0 "${pid[$1]}" 2>/dev/null || break
    sleep 0.1
  done
  shows "$1" "$2"
}
# wait_sock NAME SOCK [SECONDS]: until the socket file SOCK exists (20 s by default);
# false at once if NAME ends.
wait_sock() {
  local i
  for i in $(seq $((${3:-20} * 10))); do
    [ -S "$2" ] && return 0
    kill -0 "${pid[$1]}" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
# gave_up NAME: NAME's guest is hung and the script gives up on hung guests.
gave_up() { [ -n "${give_up_on_hung:-}" ] && [ -n "${hung[$1]:-}" ]; }
# wait_exit NAME SECONDS: until NAME ends (SIGKILL after SECONDS, or 3 s if gave_up);
# sets $status (124 if it had to be killed), closes its console, unsets pid/fd[NAME].
# bash's own note of a job that died of a signal is kept off stderr.
wait_exit() {
  local p=${pid[$1]} f=${fd[$1]} i e secs=$2
  gave_up "$1" && secs=3
  exec {e}>&2 2>/dev/null
  for i in $(seq $((secs * 10))); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$p" 2>/dev/null; then
    kill -9 "$p"; wait "$p" 2>/dev/null; status=124
  else
    wait "$p" 2>/dev/null; status=$?
  fi
  exec 2>&$e {e}>&- {f}>&-
  unset "pid[$1]" "fd[$1]"
}
# kill9 NAME: SIGKILL, as a crash or a host reboot would end the process; reaps it,
# closes its console, unsets pid/fd[NAME].
kill9() {
  kill -9 "${pid[$1]}" 2>/dev/null
  wait "${pid[$1]}" 2>/dev/null
  local f=${fd[$1]}
  exec {f}>&-
  unset "pid[$1]" "fd[$1]"
}

# --- the guest's shell ----------------------------------------------------------------------

# type_in NAME LINE: LINE and a newline to NAME's console (false if it is gone).
type_in() { printf '%s\n' "$2" 2>/dev/null >&"${fd[$1]}"; }
# gsh NAME COMMAND [SECONDS]: run COMMAND in the shell on NAME's console; the first
# line of its output in $reply. False if NAME ends, or if no answer comes in SECONDS
# (30 by default): then hung[NAME] is set. The reply line is tagged, and the tag as
# typed ("Rn"":...) differs from the tag as printed (Rn:...), so the terminal's echo
# of the command never matches. A second line (Rn-end) follows it: the reply is
# read once that shows, not while the guest is still writing the reply's line.
gsh_n=0
gsh() {
  local i tag secs=${3:-30}
  gsh_n=$((gsh_n + 1))
  tag="R${gsh_n}x$RANDOM"
  reply=
  gave_up "$1" && return 1
  type_in "$1" "echo \"$tag\"\":\$($2)\"; echo \"$tag\"\"-end\"" || return 1
  for i in $(seq $((secs * 10))); do
    if shows "$1" "^$tag-end"; then
      reply=$(tr -d '\r' <"$tmp/$1.out" | sed -n "s/^$tag://p" | head -n1)
      return 0
    fi
    kill -0 "${pid[$1]}" 2>/dev/null || return 1
    sleep 0.1
  done
  hung[$1]=1
  echo "#   $1: no answer from the guest shell in $secs s${give_up_on_hung:+; later waits on it give up at once}"
  return 1
}
