#!/usr/bin/env bash
# One GPU session of a long training run that spans several device commands and sessions.
#
#   scripts/gpu_session.sh start  TASK PRESET RUN_DIR [key=value ...]   start (or resume) in the background
#   scripts/gpu_session.sh poll   RUN_DIR                                print the last metrics line
#   scripts/gpu_session.sh stop   RUN_DIR OUT_DIR                        Ctrl-C the run (it saves), then pack
#
# Checkpoints travel between machines as files under 16 MiB: `pack` splits resume.pt and the
# weights into OUT_DIR; copy them to checkpoints/<run name>.parts/ and commit that folder, and the
# next `start` joins them back before resuming.
set -euo pipefail
cmd=${1:?usage: start|poll|stop|pack|unpack}
shift

part_size=$((15 * 1024 * 1024))

pack() {  # RUN_DIR OUT_DIR: split every checkpoint file into < 16 MiB parts, with a checksum list
  local run=$1 out=$2
  mkdir -p "$out"
  (cd "$run" && for f in resume.pt last.safetensors best.safetensors config.json metrics.jsonl; do
     [ -f "$f" ] && split -b $part_size -d -a 3 "$f" "$out/$f.part-"; done
   sha256sum resume.pt last.safetensors best.safetensors config.json metrics.jsonl 2>/dev/null > "$out/SHA256SUMS" || true)
}

unpack() {  # PARTS_DIR RUN_DIR: join parts and check them
  local parts run=$2
  parts=$(cd "$1" && pwd)
  mkdir -p "$run"
  for first in "$parts"/*.part-000; do
    [ -e "$first" ] || continue
    local name; name=$(basename "$first" .part-000)
    cat "$parts/$name".part-* > "$run/$name"
  done
  (cd "$run" && sha256sum -c --quiet "$parts/SHA256SUMS")
}

case "$cmd" in
  start)
    task=$1; preset=$2; run=$3; shift 3
    resume=()
    parts="checkpoints/$(basename "$run").parts"   # committed between sessions (runs/ is git-ignored)
    if [ -d "$parts" ] && [ ! -f "$run/resume.pt" ]; then unpack "$parts" "$run"; fi
    [ -f "$run/resume.pt" ] && resume=(--resume)
    mkdir -p "$run"
    setsid nohup ${PYTHON:-python3} -m hrm_cli --no-progress train --task "$task" --preset "$preset" --out "$run" "${resume[@]}" "$@" \
      > "$run/train.log" 2>&1 < /dev/null &
    echo $! > "$run/train.pid"
    echo "started pid $(cat "$run/train.pid") (${resume[*]:-fresh})"
    ;;
  poll)
    run=$1
    tail -n 3 "$run/train.log" || true
    tail -n 1 "$run/metrics.jsonl" 2>/dev/null || true
    ;;
  stop)
    run=$1; out=$2
    pid=$(cat "$run/train.pid")
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    pack "$run" "$out"
    ls -la "$out"
    ;;
  pack) pack "$1" "$2" ;;
  unpack) unpack "$1" "$2" ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
