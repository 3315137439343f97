# Shared by scripts/run and scripts/test: process bookkeeping and the broker.
# Source it; it defines functions only.

log() { printf '\033[1;34m[%s]\033[0m %s\n' "${BG_SCRIPT:-bg}" "$*" >&2; }
die() { printf '\033[1;31m[%s] %s\033[0m\n' "${BG_SCRIPT:-bg}" "$*" >&2; exit 1; }

# Processes started by this script, stopped on exit (success, failure or Ctrl-C).
BG_PIDS=()
bg_cleanup() {
  local pid
  for pid in "${BG_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for pid in "${BG_PIDS[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
}
trap bg_cleanup EXIT
trap 'exit 130' INT TERM

# A TCP port on loopback that nothing listens on now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Wait until something accepts TCP connections on 127.0.0.1:$1, or fail after $2 seconds.
wait_port() {
  local port=$1 deadline=$((SECONDS + ${2:-20}))
  until python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(s.connect_ex(('127.0.0.1',$port)))" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

# start_broker DIR TCP_PORT WS_PORT: mosquitto with a TCP and a websockets
# listener, from the template in mosquitto/, logging to DIR/mosquitto.log.
# Sets BROKER_PID.
start_broker() {
  local dir=$1 tcp=$2 ws=$3
  mkdir -p "$dir"
  sed -e "s/@TCP_PORT@/$tcp/" -e "s/@WS_PORT@/$ws/" mosquitto/mosquitto.conf.in > "$dir/mosquitto.conf"
  "$MOSQUITTO" -c "$dir/mosquitto.conf" 2> "$dir/mosquitto.log" &
  BROKER_PID=$!
  BG_PIDS+=("$BROKER_PID")
  wait_port "$tcp" 20 && wait_port "$ws" 20 || { cat "$dir/mosquitto.log" >&2; die "mosquitto did not start on ports $tcp/$ws"; }
  log "mosquitto: mqtt://127.0.0.1:$tcp and ws://127.0.0.1:$ws (log: $dir/mosquitto.log)"
}

# start_emulator DIR ARGS...: the platform emulator (EMULATOR_BIN, default the
# debug build) with ARGS, its log (stderr) in DIR/emulator.log. Reads its ready
# lines from stdout (mqtt, ws, then http once every listener is bound) with a
# 30 s deadline, and sets EMULATOR_PID, EMULATOR_MQTT (HOST:PORT),
# EMULATOR_WS (ws://…) and EMULATOR_HTTP (http://…). The rest of its stdout
# goes to DIR/emulator.out.
start_emulator() {
  local dir=$1 bin=${EMULATOR_BIN:-target/debug/platform-emulator}
  shift
  mkdir -p "$dir"
  local fifo="$dir/emulator.stdout" fd line deadline=$((SECONDS + 30))
  rm -f "$fifo"; mkfifo "$fifo"
  : > "$dir/emulator.out"
  "$bin" "$@" > "$fifo" 2> "$dir/emulator.log" &
  EMULATOR_PID=$!
  BG_PIDS+=("$EMULATOR_PID")
  exec {fd}< "$fifo"
  rm -f "$fifo"
  EMULATOR_MQTT="" EMULATOR_WS="" EMULATOR_HTTP=""
  while [ -z "$EMULATOR_HTTP" ] && [ $SECONDS -lt $deadline ] \
    && IFS= read -r -t $((deadline - SECONDS)) -u "$fd" line; do
    printf '%s\n' "$line" >> "$dir/emulator.out"
    case $line in
      "emulator: mqtt listening on "*) EMULATOR_MQTT=${line#emulator: mqtt listening on } ;;
      "emulator: ws listening on "*) EMULATOR_WS=${line#emulator: ws listening on } ;;
      "emulator: http listening on "*) EMULATOR_HTTP=${line#emulator: http listening on } ;;
    esac
  done
  if [ -z "$EMULATOR_HTTP" ]; then
    exec {fd}<&-
    tail -20 "$dir/emulator.log" >&2
    kill -0 "$EMULATOR_PID" 2>/dev/null && die "the platform emulator did not get ready in 30 s" || die "the platform emulator exited"
  fi
  # Keep reading its stdout so that it never blocks on a full pipe.
  cat <&"$fd" >> "$dir/emulator.out" &
  BG_PIDS+=("$!")
  exec {fd}<&-
}

# Python venvs made by scripts/setup outside the project tree (trunk serve
# watches it): ThingsBoard's SDK with pytest, and the IoT Gateway.
export VENV_SDK="${XDG_CACHE_HOME:-$HOME/.cache}/browser-gateway/venv-sdk"
export VENV_IOTGW="${XDG_CACHE_HOME:-$HOME/.cache}/browser-gateway/venv-iotgw"

# Tools installed by scripts/setup: binaryen 132's wasm-opt first on PATH.
export PATH="$PWD/tests/e2e/node_modules/.bin:$HOME/.cargo/bin:$PATH"
