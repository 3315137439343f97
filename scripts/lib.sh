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

# start_emulator DIR TCP_PORT HTTP_PORT: the platform emulator against the broker.
start_emulator() {
  local dir=$1 tcp=$2 http=$3 bin=${EMULATOR_BIN:-target/debug/platform-emulator}
  "$bin" --broker "127.0.0.1:$tcp" --http "127.0.0.1:$http" 2> "$dir/emulator.log" &
  BG_PIDS+=("$!")
  local deadline=$((SECONDS + 30))
  until grep -q 'http listening' "$dir/emulator.log" 2>/dev/null; do
    kill -0 "${BG_PIDS[-1]}" 2>/dev/null || { cat "$dir/emulator.log" >&2; die "the platform emulator exited"; }
    [ $SECONDS -lt $deadline ] || { cat "$dir/emulator.log" >&2; die "the platform emulator did not get ready"; }
    sleep 0.2
  done
  log "platform emulator: http://127.0.0.1:$http (log: $dir/emulator.log)"
}

# Python venvs made by scripts/setup outside the project tree (trunk serve
# watches it): ThingsBoard's SDK with pytest, and the IoT Gateway.
export VENV_SDK="${XDG_CACHE_HOME:-$HOME/.cache}/browser-gateway/venv-sdk"
export VENV_IOTGW="${XDG_CACHE_HOME:-$HOME/.cache}/browser-gateway/venv-iotgw"

# Tools installed by scripts/setup: binaryen 132's wasm-opt first on PATH.
export PATH="$PWD/tests/e2e/node_modules/.bin:$HOME/.cargo/bin:$PATH"
